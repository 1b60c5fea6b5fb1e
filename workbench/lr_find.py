"""Learning-rate range test (Smith, 2015; fastai's ``lr_find``).

Train a *fresh copy* of the model for ~100 steps while the learning rate grows
exponentially from ``start_lr`` to ``end_lr``; stop once the smoothed loss exceeds
``diverge`` × its best. The loss-vs-LR curve falls, flattens, then explodes; a good
peak rate sits where it falls fastest (steepest negative slope of the smoothed loss),
which is what we suggest. The user's run and model are never touched.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from workbench.config import TrainConfig
from workbench.training.control import Control
from workbench.training.session import build_session


@dataclass
class LRFinderResult:
    """The range test's curve and its suggestion."""

    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    suggestion: float | None = None
    stopped_early: bool = False  # the loss exploded before end_lr (the usual case)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lrs": self.lrs,
            "losses": self.losses,
            "smoothed": self.smoothed,
            "suggestion": self.suggestion,
            "stopped_early": self.stopped_early,
        }


def suggest_lr(lrs: list[float], smoothed: list[float], skip_start: int = 5) -> float | None:
    """The learning rate where the smoothed loss falls fastest per log-LR step."""
    if len(lrs) < skip_start + 3:
        return None
    best_i, best_slope = None, 0.0
    logs = [math.log10(x) for x in lrs]
    for i in range(skip_start, len(lrs) - 1):
        slope = (smoothed[i + 1] - smoothed[i]) / (logs[i + 1] - logs[i])
        if slope < best_slope:
            best_i, best_slope = i, slope
    return lrs[best_i] if best_i is not None else None


def find_lr(
    config: TrainConfig,
    data: Any = None,
    start_lr: float = 1e-7,
    end_lr: float = 1.0,
    num_steps: int = 100,
    diverge: float = 4.0,
    beta: float = 0.9,
    on_step: Callable[[int, float, float], None] | None = None,
    control: Control | None = None,
) -> LRFinderResult:
    """Run the range test on a fresh model built from ``config``; return curve + suggestion.

    ``on_step(i, lr, loss)`` is called after each step (progress for a UI); ``control.stop()``
    ends the test early with what was measured so far.
    """
    cfg = config.resolved().replace(save_checkpoints=False)
    s = build_session(cfg, data)
    acc, model, opt, task = s.accelerator, s.model, s.optimizer, s.task
    loss_options: dict[str, Any] = {}
    for reg in s.regularizers:
        loss_options.update(reg.loss_options(cfg))
    factor = (end_lr / start_lr) ** (1 / max(1, num_steps - 1))
    result = LRFinderResult()
    best, avg = math.inf, 0.0
    model.train()
    step = 0
    while step < num_steps:
        s.train_loader.set_epoch(step)  # a fresh order if the data runs out
        for batch in s.train_loader:
            lr = start_lr * factor**step
            for group in opt.param_groups:
                group["lr"] = lr
            with acc.autocast():
                out = task.forward(model, batch)
            loss = task.loss(out, batch, **loss_options)
            acc.backward(loss)
            opt.step()
            opt.zero_grad(set_to_none=True)
            value = loss.item()
            step += 1
            avg = beta * avg + (1 - beta) * value
            smooth = avg / (1 - beta**step)
            result.lrs.append(lr)
            result.losses.append(value)
            result.smoothed.append(smooth)
            if on_step is not None:
                on_step(step, lr, value)
            best = min(best, smooth)
            if not math.isfinite(value) or smooth > diverge * best:
                result.stopped_early = True
                break
            if step >= num_steps or (control is not None and control.stop_requested):
                break
        if result.stopped_early or (control is not None and control.stop_requested):
            break
    result.suggestion = suggest_lr(result.lrs, result.smoothed)
    del s, model, opt
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return result
