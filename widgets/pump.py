"""The pump: one thread per live view that moves a run's events into its widgets.

Why a pump (NOTEBOOK_FACTS.md, CONVENTIONS rule 6): training runs in the engine's worker
thread and the kernel stays idle; something must carry new events to the widgets. The
pump drains ``handle.history`` (append-only, so reading it needs no lock) at most every
``interval`` seconds, folds the new events into a :class:`~widgets.live.RunState`, and asks
each attached view to update inside ``hold_sync()`` so a tick's changes travel as one
message per widget. It is the only thread that writes the views' live widgets while the
run lasts; it draws a final frame when the run ends and then stops itself.

A view is any object with ``live_widgets() -> list[Widget]`` and
``update(state, final: bool, draw: bool)``. Views are updated only when something changed
(new events, a status change, a click), and ``draw`` — redraw the figure — is True at most
every ``interval`` seconds and never more often than ``1 / DRAW_BUDGET`` times the last draw
took, so drawing never takes more than ~5 % of a core from training (measured: with 4x,
i.e. up to 20 %, throughput with the panel attached fell to ~0.90x of headless on 2 cores).
Labels and the progress bar still follow at every tick. A click wakes the pump at
once (``wake()``) so labels such as Pause → Resume follow within milliseconds.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from widgets.live import RunState
from workbench.diagnostics import detect_overfitting
from workbench.training import RunHandle

INTERVAL = 0.25  # seconds between ticks: ≤ 4 Hz, as NOTEBOOK_FACTS.md measured affordable
DRAW_BUDGET = 0.05  # share of one core the curve redraws may use


class RunPump:
    """Follow ``handle`` and update ``views`` until the run ends (or :meth:`stop`)."""

    def __init__(
        self,
        handle: RunHandle,
        views: list[Any],
        max_points: int = 2000,
        interval: float = INTERVAL,
    ) -> None:
        self.handle = handle
        self.views = list(views)
        self.state = RunState(max_points)
        self.interval = interval
        self.errors: list[str] = []  # a view that raised: kept here, never printed
        self._seen = 0
        self._status = ""
        self._forced = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()  # held for a whole tick: detach() waits for it
        self.thread = threading.Thread(target=self._run, daemon=True, name="workbench-pump")

    def start(self) -> RunPump:
        self.thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def wake(self) -> None:
        """Tick now (after a click or a display option changed), not at the next interval."""
        self._forced = True
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following the run (the run itself goes on)."""
        self._stop.set()
        self._wake.set()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout)

    def detach(self, view: Any) -> None:
        """Stop updating ``view``; returns after any tick in progress."""
        with self._lock:
            if view in self.views:
                self.views.remove(view)

    # -- the thread ----------------------------------------------------------
    def _run(self) -> None:
        last_draw, cost, pending = 0.0, 0.0, True
        while not self._stop.is_set():
            # Read `done` before draining: the engine appends the end event before it marks
            # the run done, so a drain after seeing done=True holds every event.
            done = self.handle.done
            changed = self._drain()
            forced, self._forced = self._forced, False
            pending = pending or changed or forced
            now = time.monotonic()
            # Redraw only when something changed, at most every `interval` seconds, and
            # rarely enough that drawing stays within DRAW_BUDGET of a core even on a slow or
            # busy machine, so it never starves the training thread.
            gap = max(self.interval, cost / DRAW_BUDGET)
            draw = done or (pending and now - last_draw >= gap)
            if draw or changed or forced:
                started = time.perf_counter()
                self._tick(final=done, draw=draw)
                if draw:
                    cost, last_draw, pending = time.perf_counter() - started, now, False
            if done:
                return
            self._wake.wait(self.interval)
            self._wake.clear()

    def _drain(self) -> bool:
        """Fold new events into the state; True when anything a view shows changed."""
        history = self.handle.history
        n = len(history)
        new = history[self._seen : n]
        self._seen = n
        s = self.state
        s.consume(new)
        s.status = self.handle.status
        changed = bool(new) or s.status != self._status
        self._status = s.status
        if s.new_eval:  # only when a new evaluation arrived: the scan is O(events)
            s.new_eval = False
            s.overfitting = detect_overfitting(history, self.handle.config)
        if self.handle.done:
            s.summary = self.handle.summary or s.summary
            if s.summary and s.summary.get("error"):
                s.error = str(s.summary["error"])
        return changed

    def _tick(self, final: bool, draw: bool) -> None:
        with self._lock:
            for view in self.views:
                try:
                    with contextlib.ExitStack() as stack:
                        for widget in view.live_widgets():
                            stack.enter_context(widget.hold_sync())
                        view.update(self.state, final=final, draw=draw)
                except Exception as err:  # a broken view must not kill the others
                    self.errors.append(f"{type(view).__name__}: {type(err).__name__}: {err}")
