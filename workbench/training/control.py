"""The one object through which commands reach a running loop (CONVENTIONS rule 5).

The UI or CLI calls ``pause``/``resume``/``stop``/``set_lr``/``evaluate_now`` from any
thread; the loop checks at step boundaries. Nothing else flows from UI to engine.
"""

from __future__ import annotations

import threading


class Control:
    """Thread-safe flags checked by the training loop between optimizer steps."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._lr: float | None = None
        self._eval = False

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused loop must wake up to see the stop

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self, poll: float = 0.1) -> None:
        while not self._running.wait(poll):
            pass

    def set_lr(self, lr: float) -> None:
        """Change the peak learning rate; applied at the next optimizer step."""
        if not lr > 0:
            raise ValueError(f"lr must be > 0; got {lr}")
        with self._lock:
            self._lr = float(lr)

    def take_lr(self) -> float | None:
        with self._lock:
            lr, self._lr = self._lr, None
        return lr

    def evaluate_now(self) -> None:
        with self._lock:
            self._eval = True

    def take_evaluate(self) -> bool:
        with self._lock:
            ask, self._eval = self._eval, False
        return ask
