"""The pump: one thread per live view that moves a run's events into its widgets.

Why a pump (NOTEBOOK_FACTS.md, CONVENTIONS rule 6): training runs in the engine's worker
thread and the kernel stays idle; something must carry new events to the widgets. The
pump drains ``handle.history`` (append-only, so reading it needs no lock) every
``interval`` seconds, folds the new events into a :class:`~widgets.live.state.RunState`, and asks
each attached view to update inside ``hold_sync()`` so a tick's changes travel as one
message per widget. It is the only thread that writes the views' live widgets while the
run lasts; it ticks a last time when the run ends and then stops itself.

A view is any object with ``live_widgets() -> list[Widget]`` and
``update(state, final: bool, draw: bool)``; a view that also has ``consume_events(events)``
is handed the events that are new since the last tick first (the live chart sends just
those points to the browser, which draws them). Views are updated only when something
changed (new events, a status change, a click). Nothing here renders a picture any more
(the browser draws the curves), so every tick may draw: the first loss point reaches the
page within one ``interval`` of the engine emitting it. A click wakes the pump at once
(``wake()``) so labels such as Pause → Resume follow within milliseconds.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from widgets.live.state import RunState
from workbench.diagnostics import detect_overfitting
from workbench.runs import RunHandle

INTERVAL = 0.2  # seconds between ticks: 5 Hz, HF's NotebookProgressCallback rate


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
        self._new: list[dict[str, Any]] = []  # drained, not yet handed to the views
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

    def attach(self, view: Any, replay: Any = None) -> None:
        """Start updating ``view``; ``replay(events)`` first gets every event drained so far,
        under the tick lock, so the view misses none and sees none twice."""
        with self._lock:
            if replay is not None:
                replay(self.handle.history[: self._seen - len(self._new)])
            if view not in self.views:
                self.views.append(view)

    def detach(self, view: Any) -> None:
        """Stop updating ``view``; returns after any tick in progress."""
        with self._lock:
            if view in self.views:
                self.views.remove(view)

    # -- the thread ----------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            # Read `done` before draining: the engine appends the end event before it marks
            # the run done, so a drain after seeing done=True holds every event.
            done = self.handle.done
            changed = self._drain()
            forced, self._forced = self._forced, False
            if done or changed or forced:
                self._tick(final=done, draw=True)
            if done:
                return
            self._wake.wait(self.interval)
            self._wake.clear()

    def _drain(self) -> bool:
        """Fold new events into the state; True when anything a view shows changed."""
        history = self.handle.history
        with self._lock:  # attach() reads _seen and _new together
            n = len(history)
            new = history[self._seen : n]
            self._seen = n
            self._new.extend(new)
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
            new, self._new = self._new, []
            for view in self.views:
                try:
                    with contextlib.ExitStack() as stack:
                        for widget in view.live_widgets():
                            stack.enter_context(widget.hold_sync())
                        if new and hasattr(view, "consume_events"):
                            view.consume_events(new)
                        view.update(self.state, final=final, draw=draw)
                except Exception as err:  # a broken view must not kill the others
                    self.errors.append(f"{type(view).__name__}: {type(err).__name__}: {err}")
