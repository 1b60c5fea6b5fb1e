"""The append-only event history of a run, mirrored line by line to ``events.jsonl``.

Events are plain JSON-serializable dicts with a ``type`` (``status``, ``setup``, ``step``,
``eval``, ``checkpoint``, ``attribution``, ``lr_change``, ``findings``, ``end``, ``error``)
and a ``time`` (seconds since the epoch). Readers (widgets, the CLI progress bar) index into
``events`` while the loop appends; a list append is atomic in CPython, so no lock is needed to read.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO


class EventLog:
    """Append-only list of events, flushed to a JSONL file as they happen."""

    def __init__(self, path: Path | None = None, previous: list[dict[str, Any]] | None = None):
        self.events: list[dict[str, Any]] = list(previous or [])
        self._n_previous = len(self.events)  # already on disk (a resumed run)
        self._file: TextIO | None = None
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._lock = threading.RLock()  # a listener may emit in turn
        if path is not None:
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run

    def emit(self, type: str, **fields: Any) -> dict[str, Any]:
        event = {"type": type, "time": time.time(), **{k: _plain(v) for k, v in fields.items()}}
        with self._lock:
            self.events.append(event)
            if self._file is not None:
                self._file.write(json.dumps(event) + "\n")
                self._file.flush()
            for listener in self._listeners:
                listener(event)
        return event

    def listen(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener(event)`` for every event so far, then for each new one as it is
        emitted, in order, in the emitting thread, before ``emit`` returns — so a listener
        that stops the run (a sweep's pruner) acts before the next step. Keep it short."""
        with self._lock:
            for event in list(self.events):
                listener(event)
            self._listeners.append(listener)

    def attach(self, path: Path) -> None:
        """Start mirroring to ``path``, first writing the events not yet on disk."""
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
        for event in self.events[self._n_previous :]:
            self._file.write(json.dumps(event) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def detach(self) -> None:
        """Stop mirroring for now; a later :meth:`attach` writes only the events after this."""
        if self._file is not None:
            self._n_previous = len(self.events)  # all of them are on disk already
        self.close()


def _plain(value: Any) -> Any:
    """JSON-safe: NaN/inf become strings, tensors and numpy scalars become numbers."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def read_events(path: Path) -> list[dict[str, Any]]:
    """Events of a run directory; a line cut short by a kill is skipped."""
    events = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return events
