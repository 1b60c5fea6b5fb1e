"""Learning-rate schedules: the multiplier of the peak rate at each optimizer step.

One definition for the training loop (``workbench.training.session`` builds its scheduler
from it) and for what the lessons draw (``workbench.plots.plot_lr_schedules``).
"""

from __future__ import annotations

import math
from collections.abc import Callable


def lr_lambda(scheduler: str, warmup: int, total: int) -> Callable[[int], float]:
    """Multiplier of the peak rate at each step: linear warmup, then the chosen decay."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = (step - warmup) / max(1, total - warmup)
        if scheduler == "linear":
            return max(0.0, 1.0 - progress)
        if scheduler == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        return 1.0

    return factor
