"""Experiment trackers: a run's metrics in TensorBoard, MLflow or trackio (``report_to``).

``report_to: [tensorboard, mlflow, trackio]`` (``--report-to NAME``, repeatable; default
none, as in transformers 5) sends the run to those trackers through Accelerate's tracker
classes (``accelerate.tracking``), from the run's own thread as its events are logged:

* the configuration once, flattened to ``section.name`` parameters with plain values
  (tuples, label lists and ``None`` as text), when the first step is logged;
* every step: ``train/loss``, ``train/learning_rate``, ``train/grad_norm``,
  ``train/epoch``; every evaluation: ``eval/loss``, ``eval/accuracy``, … at its step;
* at the end: the test metrics (``test/accuracy``, ``test/macro_f1``, …), the status, and
  the coach's findings as text (TensorBoard text, an MLflow ``findings.txt`` artifact,
  a trackio config entry).

Offline by default, where each tracker keeps its data unless the user configured another
place: TensorBoard event files in ``<run>/tensorboard/``; MLflow in a SQLite database
``<runs_dir>/mlflow.db`` with artifacts in ``<runs_dir>/mlflow-artifacts/`` unless
``MLFLOW_TRACKING_URI`` names a store (``MLFLOW_EXPERIMENT_NAME`` is honoured, default
``finetune-workbench``; ``mlflow ui --backend-store-uri sqlite:///runs/mlflow.db`` shows
it); trackio in its local database (``TRACKIO_DIR``), project ``finetune-workbench``.
A tracker that fails while the run trains is switched off with one message in the run's
status line; training goes on.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError

#: Tracker name → the package it needs (the ``trackers`` extra installs them).
PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow", "trackio": "trackio"}
PROJECT = "finetune-workbench"


def check_trackers(names: tuple[str, ...]) -> None:
    """A fix-it error for a tracker whose package is not installed (before the run starts)."""
    for name in names:
        if importlib.util.find_spec(PACKAGES[name]) is None:
            raise ConfigError(
                f"report_to {name} needs the {PACKAGES[name]} package, which is not installed: "
                f"pip install 'finetune-workbench[trackers]' (or pip install {PACKAGES[name]}), "
                "or leave report_to empty"
            )


def flat_config(config: Any) -> dict[str, Any]:
    """``section.name`` → bool/int/float/str for every setting (others as text)."""
    import dataclasses

    out: dict[str, Any] = {}
    for section in dataclasses.fields(config):
        values = getattr(config, section.name)
        for f in dataclasses.fields(values):
            value = getattr(values, f.name)
            plain = isinstance(value, (bool, int, float, str))
            out[f"{section.name}.{f.name}"] = value if plain else str(value)
    return out


class TrackerBridge:
    """Sends a run's events to the trackers ``report_to`` names."""

    def __init__(self, names: tuple[str, ...], handle: Any) -> None:
        check_trackers(names)
        self.names = names
        self.handle = handle
        self.trackers: list[Any] = []
        self.started = False
        self._replaying = False

    def attach(self, log: Any) -> None:
        """Follow ``log`` (a resumed run's earlier events are already in its trackers)."""
        self._replaying = True
        try:
            log.listen(self.on_event)
        finally:
            self._replaying = False

    def on_event(self, e: dict[str, Any]) -> None:
        if self._replaying:
            return
        kind = e.get("type")
        if kind == "step" and not self.started:
            self._start()
        if not self.trackers:
            return
        if kind == "step":
            values = {
                "train/loss": e.get("loss"),
                "train/learning_rate": e.get("lr"),
                "train/grad_norm": e.get("grad_norm"),
                "train/epoch": e.get("epoch"),
            }
            self._log(values, int(e["step"]))
        elif kind == "eval":
            values = {
                "eval/" + k.removeprefix("val_"): v
                for k, v in e.items()
                if k.startswith("val_") and isinstance(v, (int, float))
            }
            self._log(values, int(e["step"]))
        elif kind == "end":
            self._end(e.get("summary") or {}, e.get("status"))

    # -- the trackers -----------------------------------------------------------------
    def _start(self) -> None:
        self.started = True
        session = getattr(self.handle, "session", None)
        run_dir = self.handle.run_dir
        if session is None or run_dir is None or not session.accelerator.is_main_process:
            return
        run_dir = Path(run_dir)
        for name in self.names:
            try:
                tracker = _build(name, run_dir, self.handle.config)
                tracker.start()
                tracker.store_init_configuration(flat_config(self.handle.config))
            except Exception as err:  # a tracker must not cost the run
                self._warn(name, err)
                continue
            self.trackers.append(tracker)

    def _log(self, values: dict[str, Any], step: int) -> None:
        clean = {k: float(v) for k, v in values.items() if isinstance(v, (int, float))}
        for tracker in list(self.trackers):
            try:
                tracker.log(clean, step=step)
            except Exception as err:
                self._drop(tracker, err)

    def _end(self, summary: dict[str, Any], status: Any) -> None:
        step = int(summary.get("steps") or 0)
        tests = {
            "test/" + k.removeprefix("test_"): v
            for k, v in summary.items()
            if k.startswith("test_") and isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        self._log(tests, step)
        text = findings_text(summary.get("findings") or [], status)
        for tracker in list(self.trackers):
            try:
                _log_text(tracker, "findings", text, step)
                tracker.finish()
            except Exception as err:
                self._drop(tracker, err)
        self.trackers = []

    def _drop(self, tracker: Any, err: Exception) -> None:
        self.trackers.remove(tracker)
        self._warn(tracker.name, err)

    def _warn(self, name: str, err: Exception) -> None:
        self.handle.log.emit(
            "status",
            status="running",
            message=f"report_to {name} switched off: {type(err).__name__}: {err}",
        )


def _build(name: str, run_dir: Path, config: Any) -> Any:
    from accelerate.tracking import MLflowTracker, TensorBoardTracker, TrackioTracker

    if name == "tensorboard":
        return TensorBoardTracker("tensorboard", logging_dir=run_dir)
    if name == "mlflow":
        import mlflow

        # Set every time (mlflow keeps the last one process-wide): the user's store, or a
        # SQLite database beside the runs (MLflow 3 refuses new file stores by default)
        runs = Path(config.run.runs_dir).expanduser().resolve()
        user = os.environ.get("MLFLOW_TRACKING_URI")
        runs.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(user or f"sqlite:///{runs / 'mlflow.db'}")
        artifacts = None if user else (runs / "mlflow-artifacts").as_uri()
        return MLflowTracker(
            experiment_name=os.environ.get("MLFLOW_EXPERIMENT_NAME") or PROJECT,
            logging_dir=artifacts,
            run_name=run_dir.name,
        )
    if name == "trackio":
        return TrackioTracker(PROJECT, name=run_dir.name)
    raise ConfigError(f"unknown tracker {name!r}; choose from {', '.join(PACKAGES)}")


def findings_text(findings: list[dict[str, Any]], status: Any) -> str:
    """The run's status and the coach's findings, one per line."""
    lines = [f"status: {status}"]
    lines += [
        f"{f.get('severity')}: {f.get('message')}" + (f" (fix: {f['fix']})" if f.get("fix") else "")
        for f in findings
    ]
    return "\n".join(lines)


def _log_text(tracker: Any, key: str, text: str, step: int) -> None:
    """Text where each tracker keeps it: TensorBoard text, an MLflow artifact, trackio config."""
    if tracker.name == "tensorboard":
        tracker.writer.add_text(key, text, global_step=step)
        tracker.writer.flush()
    elif tracker.name == "mlflow":
        import mlflow

        mlflow.log_text(text, f"{key}.txt")
    elif tracker.name == "trackio":
        import trackio

        trackio.config.update({key: text}, allow_val_change=True)
