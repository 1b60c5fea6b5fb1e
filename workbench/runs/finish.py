"""End of a run: restore the best weights, test, export, and write the summary.

A stopped run ends here too, exactly like a completed one (PRODUCT.md, "Stop finishes"):
its best checkpoint is tested and exported, so eval, predict and explain work on it. Only
its status differs, and ``checkpoints/last`` (written at the stop, before the best weights
are put back) still lets ``--resume`` continue it from the step where it stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.coach import diagnose
from workbench.models.weights import load_trainable
from workbench.runs.card import write_cards
from workbench.runs.directory import write_json
from workbench.tasks.base import metric_key
from workbench.training.events import EventLog
from workbench.training.memory import peak_gpu_memory_mb
from workbench.training.session import Session


def base_summary(s: Session | None, status: str, wall: float) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "status": status,
        "test_accuracy": None,
        "test_macro_f1": None,
        "val_loss": None,
        "train_samples_per_second": None,
        "trainable_parameters": None,
        "total_parameters": None,
        "wall_seconds": round(wall, 2),
        "labels": None,
    }
    if s is not None:
        p = s.progress
        summary.update(
            trainable_parameters=s.trainable_parameters,
            total_parameters=s.total_parameters,
            labels=s.data.labels,
            steps=p.step,
            total_steps=s.total_steps,
            best_step=p.best_step,
            best_value=p.best_value,
            metric=metric_key(s.config.regularization.early_stopping_metric, s.task),
            task=s.config.model.task,
            train_samples_per_second=round(p.samples / p.train_seconds, 2)
            if p.train_seconds
            else None,
            train_tokens_per_second=round(p.tokens / p.train_seconds, 1)
            if p.train_seconds and p.tokens  # None where inputs are not tokens (images)
            else None,
            model=s.config.model.model,
            method=s.config.model.method,
            lr=p.peak_lr or s.config.optim.lr,  # the live value if it was changed mid-run
            peak_gpu_memory_mb=peak_gpu_memory_mb(s.accelerator.device),  # None off CUDA
        )
        balance = getattr(s.data, "balance", None)
        if balance:  # class counts per split: plots draw the majority-class baseline from it
            summary["balance"] = balance
    return summary


def finish_run(
    s: Session, tracking: Any, outcome: str, run_dir: Path, log: EventLog, wall: float
) -> dict[str, Any]:
    """Write everything a completed or stopped run leaves behind; return the summary.

    The best weights go back into the model, the task tests them and exports ``model/``
    (``adapter/`` for peft methods); the summary's status is ``stopped`` or ``completed``.
    """
    acc = s.accelerator
    status = "stopped" if outcome == "stopped" else "completed"
    summary = base_summary(s, status, wall)
    summary["early_stopped"] = outcome == "early_stopped"
    evals = [e for e in log.events if e["type"] == "eval"]
    if evals:
        best = [e for e in evals if e["step"] == s.progress.best_step] or evals[-1:]
        for name in s.task.eval_metrics:  # val_loss, val_accuracy, … as the task measures
            summary[name] = best[-1].get(name)
    if status == "stopped" and s.progress.step == 0:
        # Stopped while loading: testing and exporting the untouched pretrained model would
        # take a while and present an untrained head as this run's result.
        summary["note"] = "stopped before the first step: nothing was trained, tested or exported"
    else:
        model = acc.unwrap_model(s.model)
        if tracking.best_weights is not None:  # else the last weights: no evaluation ran
            load_trainable(model, tracking.best_weights)
        # test metrics, prediction files and the exported model, as the task defines them
        s.task.finish(s, run_dir, summary, log)
    summary["findings"] = coach_findings(s, log, summary)
    if acc.is_main_process:
        write_json(run_dir / "summary.json", summary)
        save_curves(log.events, run_dir / "loss_curves.png")
        # after the coach: the card's limitations quote its findings
        write_cards(run_dir, s.config, {**summary, "run_name": run_dir.name}, s.task, s.data)
    log.emit("end", status=status, summary=summary)
    return summary


def coach_findings(s: Session, log: EventLog, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's pre-flight findings and the coach's diagnosis of how it went; the
    diagnosis is also emitted as a ``findings`` event (the CLI and widgets show it)."""
    # The latest pre-flight only: after an out-of-memory retry the log holds each attempt's.
    preflights = [
        e for e in log.events if e["type"] == "findings" and e.get("stage") == "preflight"
    ]
    before = preflights[-1].get("findings", []) if preflights else []
    balance = getattr(s.data, "balance", None) or {}
    after = diagnose(s.config, log.events, summary, balance.get("test") or None)
    log.emit("findings", stage="diagnosis", findings=[f.to_dict() for f in after])
    return before + [f.to_dict() for f in after]


def write_failure(
    run_dir: Path | None, s: Session | None, message: str, wall: float
) -> dict[str, Any]:
    summary = base_summary(s, "failed", wall)
    summary["error"] = message
    main = s is None or s.accelerator.is_main_process
    if main and run_dir is not None and run_dir.is_dir():
        write_json(run_dir / "summary.json", summary)
    return summary


def save_curves(events: list[dict[str, Any]], path: Path) -> None:
    from workbench.plots import plot_training_curves

    fig, _ = plot_training_curves(events)
    fig.savefig(path, dpi=110)
