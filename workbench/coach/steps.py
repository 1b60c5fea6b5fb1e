"""Pre-flight: enough optimizer steps for the chosen method at its learning rate.

The classic silent failure: 92 training rows at batch 32 for 3 epochs is 9 optimizer
steps. A full fine-tune may get somewhere in 9 steps; LoRA, IA3 and a head-only probe start
from zero-initialized adapters or a random head and need several times more (each method
declares ``min_steps``). A rate below the method's default needs proportionally more.
The fix lowers the batch size first (more steps from the same data, down to 8), then adds
epochs.
"""

from __future__ import annotations

import math
from typing import Any

from workbench.coach.base import Check, Finding, PreflightFacts, planned_steps

#: Smallest batch the fix suggests: below it the gradient noise usually costs more than the
#: extra steps gain.
SMALLEST_BATCH = 8
MOST_EPOCHS = 30


def default_rate(config: Any) -> float:
    """The method's default peak rate for the config's task (a CNN's can differ)."""
    from workbench.tasks import get_task

    return get_task(config.model.task).default_lr(config.model.method)


def rate(config: Any) -> float:
    """The peak learning rate the run uses: the set one, else the method's default."""
    return float(config.optim.lr or default_rate(config))


def needed_steps(config: Any) -> int:
    """Steps the method needs at the configured rate (``min_steps``, more at a lower rate)."""
    from workbench.methods import get_method

    method = get_method(config.model.method)
    slower = min(4.0, max(1.0, default_rate(config) / rate(config)))
    return math.ceil(method.min_steps * slower)


def step_remedy(config: Any, train_rows: int, needed: int) -> dict[str, Any]:
    """The smallest change of batch size, then epochs, that reaches ``needed`` steps."""
    batch, epochs = config.optim.batch_size, config.optim.epochs
    while planned_steps(config, train_rows, batch)[1] < needed and batch > SMALLEST_BATCH:
        batch = max(SMALLEST_BATCH, batch // 2)
    per_epoch = planned_steps(config, train_rows, batch)[0]
    if math.ceil(epochs * per_epoch) < needed:
        epochs = float(min(MOST_EPOCHS, math.ceil(needed / per_epoch)))
    changes: dict[str, Any] = {}
    if batch != config.optim.batch_size:
        changes["batch_size"] = batch
    if epochs != config.optim.epochs:
        changes["epochs"] = epochs
    return changes


class StepBudget(Check):
    name = "steps"
    summary = "Optimizer steps planned against what the method needs."

    def run(self, facts: PreflightFacts) -> list[Finding]:
        cfg, rows = facts.config, len(facts.data.train)
        per_epoch, total = facts.planned_steps()
        needed = needed_steps(cfg)
        if total >= needed:
            return []
        changes = step_remedy(cfg, rows, needed)
        cfg_after = cfg.replace(**changes) if changes else cfg
        after = planned_steps(cfg_after, rows)[1]
        o = cfg.optim
        accum = f" × grad_accum {o.grad_accum}" if o.grad_accum > 1 else ""
        return [
            self.finding(
                "warning",
                f"only {total} optimizer steps: {rows:,} training rows at batch size "
                f"{o.batch_size}{accum} is {per_epoch} steps per epoch × {o.epochs:g} "
                f"epoch{'' if o.epochs == 1 else 's'}; "
                f"method {cfg.model.method} at lr {rate(cfg):g} needs about {needed}",
                "too few updates leave the model where it started, and the run still ends "
                "'completed' at the majority-class score",
                fix=f"train for {after} steps"
                + ("" if changes else "; collect more data or lower the batch size"),
                changes=changes,
            )
        ]
