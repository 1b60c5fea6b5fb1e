"""Runs started in this kernel, and turning "a run" (handle, directory, Run) into events.

Re-running a notebook cell creates new widgets, but the run they started keeps training
in its worker thread. The registry remembers the handles so a fresh view of the same run
directory (``LossCurvesPanel(run_dir)``, ``Workbench(attach=run_dir)``) follows it live
instead of re-reading a file that is still growing. Finished handles other than the
newest are dropped, so finished models do not pile up in memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.config import TrainConfig
from workbench.runs import Run, RunHandle, load_run

_lock = threading.Lock()
_handles: list[RunHandle] = []  # oldest first


def register(handle: RunHandle) -> None:
    """Remember a run started in this kernel."""
    with _lock:
        keep = [h for h in _handles if not h.done]
        _handles[:] = [*keep, handle]


def latest() -> RunHandle | None:
    """The newest run started in this kernel (live or finished), if any."""
    with _lock:
        return _handles[-1] if _handles else None


def find(run_dir: str | Path) -> RunHandle | None:
    """The handle of this kernel's run writing to ``run_dir``, if there is one."""
    target = Path(run_dir).resolve()
    with _lock:
        handles = list(reversed(_handles))
    for h in handles:
        if h.run_dir is not None and Path(h.run_dir).resolve() == target:
            return h
    return None


@dataclass
class RunView:
    """A run as the panels see it: live handle or directory, its events and outcome."""

    events: list[dict[str, Any]]
    status: str
    handle: RunHandle | None = None
    run_dir: Path | None = None
    config: TrainConfig | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    @property
    def live(self) -> bool:
        return self.handle is not None and not self.handle.done


def resolve(source: Any) -> RunView:
    """Read ``source``: a RunHandle, a run directory (str/Path), a Run, or a list of events.

    A directory whose run is still training in this kernel resolves to its live handle.
    Raises :class:`workbench.errors.RunError` for a path that is not a run directory.
    """
    if isinstance(source, RunView):
        return source
    if isinstance(source, RunHandle):
        return RunView(
            source.history,
            source.status,
            source,
            Path(source.run_dir) if source.run_dir else None,
            source.config,
            source.summary or {},
        )
    if isinstance(source, (str, Path)):
        handle = find(source)
        if handle is not None:
            return resolve(handle)
        source = load_run(source)
    if isinstance(source, Run):
        status, message = source.status, str(source.summary.get("error") or "")
        if status == "interrupted":
            status = "stopped"
            message = (
                f"interrupted: {source.path} has no summary.json (the process ended mid-run); "
                f"continue it with `workbench train --resume {source.path}`"
            )
        return RunView(
            source.events, status, None, source.path, source.config, source.summary, message
        )
    if isinstance(source, list):
        end = [e for e in source if e.get("type") == "end"]
        status = str(end[-1].get("status")) if end else "idle"
        return RunView(source, status, summary=end[-1].get("summary") or {} if end else {})
    raise TypeError(
        f"cannot show a {type(source).__name__}: pass a RunHandle, a run directory, "
        "a workbench.runs.Run or a list of events"
    )
