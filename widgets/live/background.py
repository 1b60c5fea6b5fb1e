"""Run slow look-ups off the kernel's main thread, newest request first.

Moving a control can ask for the same slow answer many times in a row (the trainable
parameter count loads a model). :class:`LatestJob` keeps one worker thread and runs only
the newest request; older ones still waiting are dropped. The worker is the only thread
that writes the widgets its jobs update, and it exits after a while with nothing to do.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable


class LatestJob:
    """One worker thread running the most recently submitted zero-argument job."""

    def __init__(self, name: str, idle_exit: float = 30.0) -> None:
        self.name = name
        self.idle_exit = idle_exit
        self._job: Callable[[], None] | None = None
        self._busy = False
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` soon, replacing any job that has not started yet."""
        with self._cv:
            self._job = job
            self._cv.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name=self.name)
                self._thread.start()

    @property
    def pending(self) -> bool:
        """A newer job waits: the running one's answer is already stale."""
        with self._cv:
            return self._job is not None

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no job is queued or running (for tests and scripts)."""
        with self._cv:
            return self._cv.wait_for(lambda: self._job is None and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._cv:
                if not self._cv.wait_for(lambda: self._job is not None, self.idle_exit):
                    self._thread = None
                    return
                job, self._job, self._busy = self._job, None, True
            assert job is not None  # wait_for returned True: a job is queued
            try:
                with contextlib.suppress(Exception):  # jobs show their own errors
                    job()
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()
