"""``train(config)``: start a run in a worker thread and hand back a :class:`RunHandle`.

The handle is what the CLI, the widgets and the notebooks hold: the growing event
history, the status, and the controls (pause, resume, stop, set_lr, evaluate_now).
The kernel or terminal stays free while the worker trains (NOTEBOOK_FACTS.md).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.config import TrainConfig
from workbench.errors import USER_ERRORS, OutOfMemory
from workbench.runs.directory import (
    create_run_dir,
    restore_progress,
    resumable_events,
    write_start_files,
)
from workbench.runs.finish import finish_run, write_failure
from workbench.training.control import Control
from workbench.training.events import EventLog
from workbench.training.faults import (
    free_memory,
    is_out_of_memory,
    oom_message,
    reset_for_retry,
    retry_config,
)
from workbench.training.loop import NonFiniteLoss, fit
from workbench.training.session import EngineParts, Session, build_session
from workbench.training.tracking import RunTracking

STATUSES = ("idle", "running", "paused", "stopped", "completed", "failed")


class RunHandle:
    """A run in progress or finished: events, status, controls, and the result."""

    def __init__(
        self, config: TrainConfig, resume_dir: Path | None = None, parts: EngineParts | None = None
    ) -> None:
        self.config = config
        self.parts = parts
        self.control = Control()
        self.resume_dir = resume_dir
        self.run_dir: Path | None = resume_dir
        previous = resumable_events(resume_dir) if resume_dir else []
        self.log = EventLog(previous=previous)
        self.summary: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self.session: Session | None = None
        self._final_status: str | None = None
        self._thread: threading.Thread | None = None

    # -- what readers see ----------------------------------------------------
    @property
    def history(self) -> list[dict[str, Any]]:
        """The append-only event list (read it while training runs)."""
        return self.log.events

    @property
    def status(self) -> str:
        if self._final_status is not None:
            return self._final_status
        if self._thread is None:
            return "idle"
        return "paused" if self.control.paused else "running"

    @property
    def alive(self) -> bool:
        """True while the worker thread runs (or has not started yet)."""
        return self._thread is None or self._thread.is_alive()

    @property
    def done(self) -> bool:
        return self._final_status is not None

    # -- controls ------------------------------------------------------------
    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()

    def set_lr(self, lr: float) -> None:
        self.control.set_lr(lr)

    def evaluate_now(self) -> None:
        self.control.evaluate_now()

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Block until the run ends (or ``timeout`` seconds); return the summary."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.summary

    # -- the worker ------------------------------------------------------------
    def start(self, source: Any = None, block: bool = False) -> RunHandle:
        self._thread = threading.Thread(
            target=self._work, args=(source,), daemon=True, name="workbench-train"
        )
        self._thread.start()
        if block:
            self.wait()
        return self

    def _work(self, source: Any) -> None:
        self._retries = 0
        while self._attempt(source):
            pass  # out of memory with oom_retries left: the next attempt starts from scratch

    def _attempt(self, source: Any) -> bool:
        """One attempt at the run; True when it ran out of memory and is to be retried."""
        started = time.time()
        retry = False
        tracking: RunTracking | None = None
        try:
            self.log.emit(
                "status", status="running", message="resuming" if self.resume_dir else "starting"
            )
            s = self.session = build_session(self.config, source, self.log, self.parts)
            if self.run_dir is None:
                self.run_dir = create_run_dir(self.config, s.accelerator)
            if s.accelerator.is_main_process:
                self.log.attach(self.run_dir / "events.jsonl")
                write_start_files(self.run_dir, self.config, s)
            tracking = RunTracking(self.log, self.run_dir, self.config.run.pinned_texts)
            if self.resume_dir:
                restore_progress(self.resume_dir, s, tracking)
            else:
                tracking.pinned.record(s, kind="start")  # the pretrained model, before step 1
            outcome = fit(s, self.control, self.log, tracking)
            self.summary = finish_run(
                s, tracking, outcome, self.run_dir, self.log, time.time() - started
            )
            self._final_status = self.summary["status"]
        except NonFiniteLoss as err:
            self._fail(
                err,
                started,
                advice=(
                    f"lower the learning rate (now {self.config.optim.lr or 0:g}), keep "
                    "max_grad_norm above 0, or use precision fp32; the last good checkpoint is kept"
                ),
            )
        except USER_ERRORS as err:
            self._fail(err, started)
        except Exception as err:  # an internal error: keep the traceback for the report
            if is_out_of_memory(err):
                retry = self._out_of_memory(err, started)
            else:
                self._fail(err, started, trace=traceback.format_exc())
        finally:
            self._release_training_state()
            if not retry:
                if self._final_status is None:  # _fail itself failed (e.g. disk full)
                    self._final_status = "failed"
                self.log.close()
        return retry

    def _out_of_memory(self, err: BaseException, started: float) -> bool:
        """Fail with advice, or (``oom_retries``) prepare a clean restart at half the batch."""
        new = None if self.resume_dir else retry_config(self.config, self._retries)
        if new is None:
            self._fail(OutOfMemory(oom_message(self.config, err)), started)
            return False
        self._retries += 1
        old = self.config.optim
        self._release_training_state()
        self.session = None
        free_memory()
        self.log.detach()  # attach() of the next attempt appends after what is on disk
        reset_for_retry(self.run_dir)
        self.config = new
        message = (
            f"out of memory at batch_size {old.batch_size}: starting again with batch_size "
            f"{new.optim.batch_size} and grad_accum {new.optim.grad_accum} (same effective "
            f"batch; retry {self._retries} of {old.oom_retries})"
        )
        self.log.emit(
            "retry",
            reason="out of memory",
            attempt=self._retries,
            batch_size=new.optim.batch_size,
            grad_accum=new.optim.grad_accum,
            error=str(err).strip().splitlines()[0][:200] if str(err).strip() else "",
            message=message,
        )
        self.log.emit("status", status="running", message=message)
        return True

    def _release_training_state(self) -> None:
        """Drop optimizer moments (2x the trainable weights) once the run has ended; the
        model, tokenizer and data stay for evaluation and explanation."""
        s = self.session
        if s is None:
            return
        inner = getattr(s.optimizer, "optimizer", s.optimizer)
        inner.state.clear()
        s.optimizer.zero_grad(set_to_none=True)

    def _fail(
        self, err: BaseException, started: float, advice: str = "", trace: str | None = None
    ) -> None:
        self.error = err
        message = f"{err}; {advice}" if advice else str(err)
        self.log.emit("error", message=message, kind=type(err).__name__, traceback=trace)
        self.summary = write_failure(self.run_dir, self.session, message, time.time() - started)
        self.log.emit("end", status="failed", summary=self.summary)
        self._final_status = "failed"


def train(
    config: TrainConfig | None = None,
    *,
    data: Any = None,
    block: bool = False,
    resume: str | Path | None = None,
    callbacks: Sequence[Any] | None = None,
    parts: EngineParts | None = None,
) -> RunHandle:
    """Fine-tune as ``config`` says; return a :class:`RunHandle` at once.

    Parameters
    ----------
    config:
        The run's settings (default: ``TrainConfig()``, the offline demo).
    data:
        Optional pandas DataFrame or ``datasets.Dataset`` to use instead of
        ``config.data.dataset``.
    block:
        Wait for the run to end before returning.
    resume:
        A run directory to continue from its last checkpoint (its own config is used).
    callbacks:
        ``transformers.TrainerCallback`` objects, called as the Trainer calls them; setting
        ``control.should_training_stop`` stops the run at that step
        (:mod:`workbench.runs.callbacks` lists the hooks and fields filled).
    parts:
        Stand-ins for the collator or optimizer the engine builds
        (:class:`~workbench.training.session.EngineParts`; the benchmark's hook).
    """
    resume_dir = None
    if resume is not None:
        from workbench.runs.directory import check_resumable

        resume_dir = check_resumable(Path(resume))
        config = TrainConfig.load(resume_dir / "config.yaml")
    config = (config or TrainConfig()).resolved()
    handle = RunHandle(config, resume_dir, parts)
    if config.run.report_to:  # experiment trackers (checked here: a missing package fails now)
        from workbench.runs.trackers import TrackerBridge

        TrackerBridge(config.run.report_to, handle).attach(handle.log)
    if callbacks:
        from workbench.runs.callbacks import CallbackBridge

        CallbackBridge(callbacks, handle).attach(handle.log)
    return handle.start(data, block=block)
