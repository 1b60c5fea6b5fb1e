"""The hooks a run attaches to the loop: evaluate, keep the best, stop early, checkpoint,
and re-explain the pinned examples (see :mod:`workbench.training.pinned`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from workbench.models.weights import trainable_state
from workbench.tasks.base import metric_key
from workbench.training.checkpoint import save_checkpoint
from workbench.training.events import EventLog
from workbench.training.loop import Hooks
from workbench.training.pinned import PinnedExamples
from workbench.training.rng import gather_rng_states
from workbench.training.session import Session


class RunTracking(Hooks):
    """Validation metrics, best weights (in memory and on disk), patience, last checkpoint."""

    def __init__(self, log: EventLog, run_dir: Path | None, pinned: tuple[str, ...] = ()) -> None:
        self.log = log
        self.run_dir = run_dir
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.pinned = PinnedExamples(pinned, run_dir, log)

    def on_evaluate(self, session: Session, **kwargs: Any) -> bool:
        s, p = session, session.progress
        improved = self._validate(s)
        if improved:
            self._save("best", s, with_optimizer=False)
        self._save("last", s, with_optimizer=True)
        self.pinned.record(s, kind="eval", best=improved)
        patience = s.config.regularization.early_stopping
        if patience and p.bad_evals >= patience:
            self.log.emit(
                "status",
                status="running",
                message=f"early stopping: {self._metric(s)} did not improve for {patience} "
                f"evaluations (best at step {p.best_step})",
            )
            return False
        return True

    def on_stop(self, session: Session, **kwargs: Any) -> None:
        """Save the resume point, then make sure there is a best checkpoint to test.

        ``last`` is written first, before anything below can touch the RNG or the progress
        counters: ``--resume`` then continues exactly as if Stop had never been pressed.
        A run stopped before its first evaluation is validated now, so the stopped run is
        tested and exported like a completed one; ``last`` keeps no trace of that extra
        evaluation (its best step stays unset), so the resumed run keeps its best checkpoint
        and patience exactly as an uninterrupted run would.
        """
        self._save("last", session, with_optimizer=True)
        if session.progress.step == 0:
            return  # stopped before step 1: nothing trained, nothing to validate
        if session.progress.best_step is None:
            improved = self._validate(session)
            if improved:
                self._save("best", session, with_optimizer=False)
            self.pinned.record(session, kind="eval", best=improved)

    def _metric(self, s: Session) -> str:
        """The eval-event field that picks the best checkpoint (val_loss where not measured)."""
        return metric_key(s.config.regularization.early_stopping_metric, s.task)

    def _validate(self, s: Session) -> bool:
        """Evaluate on validation, emit the ``eval`` event, keep the best weights in memory;
        True when this evaluation is the best so far."""
        p = s.progress
        metrics = s.task.evaluate(s, s.val_loader)
        # e.g. {"val_loss": …, "val_accuracy": …, "val_macro_f1": …} for classification
        fields = {m: metrics[m.removeprefix("val_")] for m in s.task.eval_metrics}
        name = self._metric(s)
        value = fields[name]
        lower_is_better = name == "val_loss"
        improved = p.best_value is None or (
            value < p.best_value if lower_is_better else value > p.best_value
        )
        if improved:
            p.best_value, p.best_step, p.bad_evals = value, p.step, 0
            self.best_weights = trainable_state(s.accelerator.unwrap_model(s.model))
        else:
            p.bad_evals += 1
        self.log.emit(
            "eval",
            step=p.step,
            epoch=p.epoch + p.batch_in_epoch / len(s.train_loader),
            **fields,
            best=improved,
            metric=name,
        )
        return improved

    def _save(self, kind: str, s: Session, with_optimizer: bool) -> None:
        if self.run_dir is None or not s.config.run.save_checkpoints:
            return
        acc = s.accelerator
        # Every process's dropout generator has drawn for its own batches: all hand their
        # state to the main process, which writes one file per rank (a collective call).
        rng = gather_rng_states(acc) if with_optimizer else None
        acc.wait_for_everyone()
        if not acc.is_main_process:
            return
        weights = (
            self.best_weights
            if kind == "best" and self.best_weights is not None
            else trainable_state(acc.unwrap_model(s.model))
        )
        folder = self.run_dir / "checkpoints" / kind
        save_checkpoint(
            folder,
            weights,
            dataclasses.asdict(s.progress),
            s.optimizer if with_optimizer else None,
            s.scheduler if with_optimizer else None,
            rng,
        )
        self.log.emit("checkpoint", step=s.progress.step, kind=kind, path=str(folder))
