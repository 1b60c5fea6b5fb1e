"""One sweep worker: ask the study for settings, train them as an ordinary run, report.

Each trial is a plain ``workbench.train`` run whose directory is
``<sweep>/trials/trial-NNNN`` (so Evaluate, Explain, the Runs tab and ``--resume`` work on
it). While it trains the worker reads the run's ``eval`` events: each evaluation's
objective value goes to Optuna as an intermediate value (step = the evaluation's number,
1, 2, …, so a pruner compares every trial's k-th evaluation), and the curve is kept in the
trial's user attributes (``curve``: ``[[epoch, value], …]``, what every worker's chart
reads). When the pruner says the trial is clearly worse than the others at the same point,
the worker presses the run's **Stop** (:class:`~workbench.training.control.Control`): the
run ends at the next step boundary and is tested and exported like any stopped run; the
trial is told PRUNED. A finished trial's value is the best objective value of its
evaluations — the checkpoint the run kept.

Memory: after every trial the worker drops the run's model and session and collects
garbage before the next trial starts, and records the process's resident memory (and the
CUDA allocator's, on a GPU) in the trial (``rss_mb``, ``gpu_mb``).

Stop (the sweep's, not a trial's) stops the trial in progress the same way, but leaves it
RUNNING in the study, marked ``interrupted``: ``--resume`` continues its run directory
from the step where it stopped. A worker started with ``adopt=True`` first takes over such
trials, and those of a worker on this machine whose process has died (a killed sweep).
"""

from __future__ import annotations

import gc
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.errors import DataError, ModelError, RunError, StorageError
from workbench.runs import RunHandle, train
from workbench.sweeps.spec import SweepSpec
from workbench.sweeps.storage import CONTROL_ATTR
from workbench.training.events import read_events
from workbench.training.memory import memory_in_use

POLL_S = 0.25  # how often a running trial is checked for its end and the pause flag
CONTROL_POLL_S = 1.0  # how often the study-wide pause flag is read
#: Errors that would fail every trial the same way (the data or model cannot be read):
#: the sweep ends with them instead of burning its budget. A trial-specific problem (out
#: of memory at a large batch size, an invalid combination) only fails that trial.
SWEEP_ERRORS = (DataError, ModelError, RunError, StorageError)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def trial_dir(folder: Path, number: int) -> Path:
    return folder / "trials" / f"trial-{number:04d}"


class SweepWorker:
    """Runs trials until the budget is spent, the time is up, or :meth:`stop`."""

    def __init__(
        self,
        spec: SweepSpec,
        study: Any,
        folder: Path,
        emit: Callable[..., Any],
        data: Any = None,
        adopt: bool = False,
    ) -> None:
        self.spec, self.study, self.folder = spec, study, folder
        self.emit = emit  # the handle's event log: emit(type, **fields)
        self.data = data
        self.adopt = adopt
        self.id = worker_id()
        self.current: RunHandle | None = None  # the run of the trial in progress
        self.current_number: int | None = None
        self.stopping = False
        self.paused = False  # the study-wide pause flag, as last read
        self.error: BaseException | None = None
        self._control_read = 0.0
        self.deadline = (
            time.time() + spec.timeout_minutes * 60 if spec.timeout_minutes else float("inf")
        )

    # -- controls (any thread) -------------------------------------------------------
    def stop(self) -> None:
        self.stopping = True
        if self.current is not None:
            self.current.stop()

    # -- the loop ---------------------------------------------------------------------
    def run(self) -> str:
        """Work through the budget; the final status (completed, stopped or failed)."""
        if self.adopt:
            for frozen in self._orphans():
                if self.stopping or self.error:
                    break
                self._run_trial(self._reopen(frozen), dict(frozen.params), resume=True)
        while not (self.stopping or self.error) and self._budget_left():
            self._wait_while_paused()
            if self.stopping:
                break
            trial = self.study.ask()
            try:
                params = self.spec.space.suggest(trial, self.spec.config)
            except Exception as err:  # a sampler problem: fail this trial, not the sweep
                self._tell_failed(trial, err)
                continue
            self._run_trial(trial, params)
        if self.error is not None:
            return "failed"
        return "stopped" if self.stopping else "completed"

    def _budget_left(self) -> bool:
        if time.time() >= self.deadline:
            return False
        budget = self.spec.trials
        if self.spec.sampler == "grid":
            budget = min(budget, self.spec.space.grid_size())
        # every trial started counts, whatever its state: one that failed spent its share
        # too; an enqueued one (waiting) is not started yet
        import optuna

        waiting = optuna.trial.TrialState.WAITING
        started = [t for t in self.study.get_trials(deepcopy=False) if t.state != waiting]
        return len(started) < budget

    # -- one trial --------------------------------------------------------------------
    def _run_trial(self, trial: Any, params: dict[str, Any], resume: bool = False) -> None:
        number = trial.number
        run_dir = trial_dir(self.folder, number)
        trial.set_user_attr("run_dir", self._relative(run_dir))
        trial.set_user_attr("worker", self.id)
        self.current_number = number
        self.emit("trial_start", number=number, params=params, resumed=resume)
        started = time.time()
        try:
            handle = self._start_run(trial, params, run_dir, resume)
        except Exception as err:
            self._tell_failed(trial, err)
            return
        self.current = handle
        if self.stopping:  # Stop pressed while the trial was being set up
            handle.stop()
        pruned = self._follow(trial, handle)
        handle.wait()
        self.current = None
        handle.session = None  # the model, optimizer, data loaders: gone before the next
        self._release_memory(trial)  # while the trial is open: Optuna locks finished ones
        self._finish_trial(trial, handle, pruned, time.time() - started)
        self.current_number = None

    def _start_run(
        self, trial: Any, params: dict[str, Any], run_dir: Path, resume: bool
    ) -> RunHandle:
        if resume and (run_dir / "checkpoints" / "last" / "state.json").is_file():
            return train(resume=run_dir, data=self.data)
        if run_dir.exists():  # an adopted trial that never reached its first checkpoint
            aside = run_dir.with_name(f"{run_dir.name}.unfinished-{int(time.time())}")
            shutil.move(str(run_dir), str(aside))
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        return train(self.spec.trial_config(params, run_dir), data=self.data)

    def _follow(self, trial: Any, handle: RunHandle) -> bool:
        """Report evaluations while the run trains; True when the pruner stopped it.

        Each evaluation is reported from the run's own thread as it is logged
        (:meth:`EventLog.listen`), so a pruned run stops before its next step, however fast
        it trains; this thread follows the study-wide pause flag until the run ends.
        """
        reported = set(trial.storage.get_trial(trial._trial_id).intermediate_values)
        curve: list[list[float]] = []
        pruned = False

        failed: list[BaseException] = []

        def on_event(e: dict[str, Any]) -> None:
            try:
                report(e)
            except Exception as err:  # the study's storage: not the run's failure
                failed.append(err)
                handle.stop()

        def report(e: dict[str, Any]) -> None:
            nonlocal pruned
            value = e.get(self.spec.objective)
            if e.get("type") != "eval" or not isinstance(value, (int, float)):
                return
            curve.append([round(float(e.get("epoch", 0.0)), 4), float(value)])
            step = len(curve)
            trial.set_user_attr("curve", curve)
            if step in reported:
                return  # an adopted trial's evaluations before the resume
            trial.report(float(value), step)
            if not pruned and not self.stopping and trial.should_prune():
                pruned = True
                trial.set_user_attr("pruned_at", step)
                handle.stop()
                self.emit("trial_pruning", number=trial.number, step=step, value=value)

        handle.log.listen(on_event)
        while not handle.done:
            self._follow_control(handle)
            time.sleep(POLL_S)
        if failed:
            raise failed[0]
        return pruned

    def _follow_control(self, handle: RunHandle) -> None:
        """Pause/resume the run with the study-wide flag; stop it when the sweep stops."""
        if self.stopping:
            handle.stop()
            return
        self._read_control()
        if self.paused and not handle.control.paused:
            handle.pause()
        elif not self.paused and handle.control.paused:
            handle.resume()

    def _finish_trial(self, trial: Any, handle: RunHandle, pruned: bool, wall: float) -> None:
        import optuna

        summary = handle.summary or {}
        trial.set_user_attr("status", summary.get("status") or handle.status)
        trial.set_user_attr("seconds", round(wall, 2))
        value = objective_value(handle.history, self.spec)
        if handle.error is not None or summary.get("status") == "failed":
            err = handle.error or RuntimeError(str(summary.get("error")))
            self._tell_failed(trial, err)
            return
        if self.stopping and not pruned:
            # the sweep's Stop, not the pruner's: keep the trial open for --resume
            trial.set_user_attr("interrupted", True)
            self.emit("trial_end", number=trial.number, state="interrupted", value=value)
            return
        if pruned:
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            self.emit("trial_end", number=trial.number, state="pruned", value=value)
            return
        if value is None:
            self._tell_failed(trial, RuntimeError(f"the run measured no {self.spec.objective}"))
            return
        self.study.tell(trial, value)
        self.emit("trial_end", number=trial.number, state="complete", value=value)

    def _tell_failed(self, trial: Any, err: BaseException) -> None:
        import optuna

        message = " ".join(str(err).split()) or type(err).__name__
        trial.set_user_attr("error", message[:500])
        self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        self.emit("trial_end", number=trial.number, state="failed", error=message)
        if isinstance(err, SWEEP_ERRORS):
            self.error = err  # every other trial would fail the same way

    def _release_memory(self, trial: Any) -> None:
        """Collect the finished run's objects; record what the process still holds."""
        gc.collect()
        fields: dict[str, float] = {"rss_mb": float(memory_in_use("cpu")["mb"])}
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
                fields["gpu_mb"] = round(torch.cuda.memory_allocated() / 2**20, 1)
        except Exception:  # memory accounting must never fail a sweep
            pass
        for key, value in fields.items():
            trial.set_user_attr(key, value)
        self.emit("memory", number=trial.number, **fields)

    # -- pause -------------------------------------------------------------------------
    def _read_control(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._control_read < CONTROL_POLL_S:
            return
        self._control_read = now
        control = self.study.user_attrs.get(CONTROL_ATTR) or {}
        self.paused = bool(control.get("paused"))

    def _wait_while_paused(self) -> None:
        self._read_control(force=True)
        while self.paused and not self.stopping:
            time.sleep(POLL_S)
            self._read_control()

    # -- adopting interrupted trials ---------------------------------------------------
    def _orphans(self) -> list[Any]:
        """RUNNING trials nobody works on: stopped by the sweep's Stop, or started by a
        worker on this machine whose process is gone (a killed sweep)."""
        import optuna

        host = socket.gethostname()
        out = []
        for t in self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            worker = str(t.user_attrs.get("worker", ""))
            w_host, _, pid = worker.rpartition(":")
            dead = w_host == host and pid.isdigit() and not _alive(int(pid))
            if t.user_attrs.get("interrupted") or dead or not worker:
                out.append(t)
        return out

    def _reopen(self, frozen: Any) -> Any:
        import optuna

        trial = optuna.trial.Trial(self.study, frozen._trial_id)
        trial.set_user_attr("interrupted", False)
        return trial

    def _relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.folder))
        except ValueError:
            return str(path)


def objective_value(events: list[dict[str, Any]], spec: SweepSpec) -> float | None:
    """The best objective value among a run's evaluations (the checkpoint it kept)."""
    best: float | None = None
    for e in events:
        value = e.get(spec.objective) if e.get("type") == "eval" else None
        if isinstance(value, (int, float)) and spec.better(float(value), best):
            best = float(value)
    return best


def run_events(run_dir: Path) -> list[dict[str, Any]]:
    """A trial's events from its run directory (any worker's, any machine's)."""
    return read_events(run_dir / "events.jsonl")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
