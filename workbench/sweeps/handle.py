"""``sweep(config, space)``: start a sweep in a worker thread and hand back a
:class:`SweepHandle` at once, like :func:`workbench.train` does for one run.

The handle is what the CLI, the Sweep tab and notebooks hold: the sweep's own events
(``trial_start``, ``trial_end``, ``memory``, ``status``), every trial of the study — this
process's and other workers' — as :class:`TrialRecord` rows read from the shared storage,
the best trial, and the controls: ``pause()``/``resume()`` (study-wide: every worker
follows), ``stop()`` (this process and the workers it started) and ``wait()``.

``workers=N`` starts N-1 more worker processes (``workbench sweep --join FOLDER``) next to
this one; more machines join the same way through the storage (README, "Sweeps").
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.config import TrainConfig
from workbench.errors import UserError
from workbench.runs.directory import write_json
from workbench.sweeps.spec import SweepSpec
from workbench.sweeps.storage import (
    CONTROL_ATTR,
    make_pruner,
    make_sampler,
    open_storage,
)
from workbench.sweeps.worker import SweepWorker, trial_dir
from workbench.training.events import EventLog

STATUSES = ("idle", "running", "paused", "stopped", "completed", "failed")


@dataclass
class TrialRecord:
    """One trial as every reader sees it (read from the study's storage)."""

    number: int
    state: str  # waiting | running | interrupted | complete | pruned | failed
    value: float | None
    params: dict[str, Any]
    run_dir: Path | None
    curve: list[list[float]] = field(default_factory=list)  # [[epoch, objective], …]
    seconds: float | None = None
    worker: str = ""
    error: str = ""
    rss_mb: float | None = None
    pruned_at: int | None = None

    def row(self, objective: str) -> dict[str, Any]:
        """A table row: number, score, state, duration, then the settings."""
        return {
            "trial": self.number,
            objective: self.value,
            "state": self.state,
            "seconds": self.seconds,
            **self.params,
        }


def trial_records(study: Any, folder: Path) -> list[TrialRecord]:
    """Every trial of ``study``, in trial-number order."""
    import optuna

    names = {
        optuna.trial.TrialState.RUNNING: "running",
        optuna.trial.TrialState.COMPLETE: "complete",
        optuna.trial.TrialState.PRUNED: "pruned",
        optuna.trial.TrialState.FAIL: "failed",
        optuna.trial.TrialState.WAITING: "waiting",
    }
    out = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        state = names.get(t.state, str(t.state).lower())
        if state == "running" and attrs.get("interrupted"):
            state = "interrupted"
        where = attrs.get("run_dir")
        run_dir = (folder / where) if where and not Path(where).is_absolute() else where
        pruned = t.state == optuna.trial.TrialState.PRUNED
        out.append(
            TrialRecord(
                number=t.number,
                state=state,
                value=t.value if t.state == optuna.trial.TrialState.COMPLETE else None,
                params=dict(t.params),
                run_dir=Path(run_dir) if run_dir else None,
                curve=list(attrs.get("curve") or []),
                seconds=attrs.get("seconds"),
                worker=str(attrs.get("worker", "")),
                error=str(attrs.get("error", "")),
                rss_mb=attrs.get("rss_mb"),
                pruned_at=attrs.get("pruned_at") if pruned else None,
            )
        )
    return sorted(out, key=lambda r: r.number)


class SweepHandle:
    """A sweep in progress or finished (see the module docstring)."""

    def __init__(
        self,
        spec: SweepSpec,
        folder: Path,
        storage: str | None,
        *,
        data: Any = None,
        workers: int = 1,
        adopt: bool = False,
        seed: int | None = None,
    ) -> None:
        import optuna

        self.spec, self.folder, self.storage_url = spec, folder, storage
        self.storage = open_storage(storage, folder)
        seed = spec.config.optim.seed if seed is None else seed
        self.study = optuna.load_study(
            study_name=spec.study,
            storage=self.storage,
            sampler=make_sampler(spec, seed),
            pruner=make_pruner(spec),
        )
        self.log = EventLog()
        self.worker = SweepWorker(spec, self.study, folder, self.log.emit, data, adopt)
        self.workers = workers
        self.processes: list[subprocess.Popen[bytes]] = []
        self.error: BaseException | None = None
        self.summary: dict[str, Any] | None = None
        self._final: str | None = None
        self._thread: threading.Thread | None = None
        self._stops = 0

    # -- what readers see ------------------------------------------------------------
    @property
    def history(self) -> list[dict[str, Any]]:
        """This process's sweep events (append-only)."""
        return self.log.events

    @property
    def status(self) -> str:
        if self._final is not None:
            return self._final
        if self._thread is None:
            return "idle"
        return "paused" if self.worker.paused else "running"

    @property
    def done(self) -> bool:
        return self._final is not None

    @property
    def trials(self) -> list[TrialRecord]:
        """Every trial of the study (all workers), by number."""
        return trial_records(self.study, self.folder)

    @property
    def best(self) -> TrialRecord | None:
        """The finished trial with the best objective value, or None."""
        done = [t for t in self.trials if t.state == "complete" and t.value is not None]
        best: TrialRecord | None = None
        for t in done:
            if best is None or self.spec.better(float(t.value or 0.0), best.value):
                best = t
        return best

    @property
    def current(self) -> Any:
        """This process's run in progress (a RunHandle), or None."""
        return self.worker.current

    def trial_config(self, number: int) -> TrainConfig:
        """The complete settings trial ``number`` trained with (its run's config.yaml)."""
        record = next((t for t in self.trials if t.number == number), None)
        if record is None:
            raise UserError(f"no trial {number} in this sweep")
        path = (record.run_dir or trial_dir(self.folder, number)) / "config.yaml"
        if path.is_file():
            return TrainConfig.load(path)
        return self.spec.trial_config(record.params, path.parent)

    def importances(self) -> dict[str, float]:
        """How much each varying setting explains of the objective (Optuna's fANOVA),
        ``{}`` until two trials have finished with different settings."""
        return param_importances(self.study)

    # -- controls ----------------------------------------------------------------------
    def pause(self) -> None:
        """Pause every worker: runs pause at their next step; no new trial starts."""
        self._set_paused(True)

    def resume(self) -> None:
        self._set_paused(False)

    def stop(self) -> None:
        """Stop this process's worker and the workers it started; the trials in progress
        are stopped (tested, exported) and stay resumable (``--resume``). A second call
        aborts the started worker processes."""
        self._stops += 1
        self.worker.stop()
        for p in self.processes:
            if p.poll() is None:
                with contextlib.suppress(OSError):
                    p.send_signal(signal.SIGINT)  # their Ctrl-C: the same graceful stop
        if self._stops > 1 or self.paused_in_storage():
            self._set_paused(False)  # a paused run must wake up to see the stop

    def paused_in_storage(self) -> bool:
        return bool((self.study.user_attrs.get(CONTROL_ATTR) or {}).get("paused"))

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Block until the sweep ends (or ``timeout`` seconds); return its summary."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.summary

    # -- the worker ---------------------------------------------------------------------
    def start(self, block: bool = False) -> SweepHandle:
        self.log.emit("status", status="running", message=f"sweep {self.folder}")
        for i in range(1, self.workers):
            self.processes.append(self._spawn(i))
        self._thread = threading.Thread(target=self._work, daemon=True, name="workbench-sweep")
        self._thread.start()
        if block:
            self.wait()
        return self

    def _spawn(self, index: int) -> subprocess.Popen[bytes]:
        """Another worker process on this machine, joining through the storage."""
        logs = self.folder / "workers"
        logs.mkdir(exist_ok=True)
        with open(logs / f"worker-{index}.log", "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "workbench", "sweep", "--join", str(self.folder), "--quiet"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C reaches them through stop()
            )

    def _work(self) -> None:
        status = "failed"
        try:
            status = self.worker.run()
            self.error = self.worker.error
        except BaseException as err:  # the handle must end, whatever broke
            self.error = err
        finally:
            for p in self.processes:
                p.wait()
            self.summary = self._summarize(status)
            with contextlib.suppress(OSError):
                write_json(self.folder / "summary.json", self.summary)
            if self.error is not None:
                self.log.emit("error", message=str(self.error), kind=type(self.error).__name__)
            self.log.emit("end", status=status, summary=self.summary)
            self._final = status

    def _summarize(self, status: str) -> dict[str, Any]:
        trials = self.trials
        counts: dict[str, int] = {}
        for t in trials:
            counts[t.state] = counts.get(t.state, 0) + 1
        best = self.best
        return {
            "status": status,
            "study": self.spec.study,
            "objective": self.spec.objective,
            "direction": self.spec.direction,
            "trials": len(trials),
            "states": counts,
            "best_trial": best.number if best else None,
            "best_value": best.value if best else None,
            "best_params": best.params if best else None,
            "best_run_dir": str(best.run_dir) if best and best.run_dir else None,
            "error": str(self.error) if self.error else None,
            "worker_exit_codes": [p.returncode for p in self.processes],
        }

    def _set_paused(self, paused: bool) -> None:
        self.study.set_user_attr(CONTROL_ATTR, {"paused": paused})
        self.worker.paused = paused


def param_importances(study: Any) -> dict[str, float]:
    """Optuna's fANOVA importances (seeded), ``{}`` when they cannot be computed yet."""
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return {}
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))
    except (RuntimeError, ValueError):  # one value per setting so far, or no shared settings
        return {}
