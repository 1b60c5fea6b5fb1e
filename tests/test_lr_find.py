"""The learning-rate range test behind Find LR: the sweep and the suggested rate."""

from __future__ import annotations

import math

from workbench.config import TrainConfig
from workbench.lr_find import find_lr, suggest_lr


def test_lr_range_test_grows_lr_exponentially_and_suggests_a_value(
    tiny_config: TrainConfig, toy_data
) -> None:  # type: ignore[no-untyped-def]
    seen: list[float] = []
    result = find_lr(
        tiny_config,
        data=toy_data,
        num_steps=30,
        end_lr=10.0,
        on_step=lambda i, lr, loss: seen.append(lr),
    )
    assert seen == result.lrs
    ratios = {round(b / a, 6) for a, b in zip(result.lrs, result.lrs[1:], strict=False)}
    assert len(ratios) == 1  # a constant factor per step: exponential growth
    assert result.suggestion is not None
    assert result.lrs[0] < result.suggestion < result.lrs[-1]


def test_suggestion_is_the_steepest_fall() -> None:
    lrs = [10 ** (-7 + i * 0.1) for i in range(60)]
    # flat, then a steep fall centred on index 30, then flat
    losses = [2.0 - 1.5 / (1 + math.exp(-(i - 30))) for i in range(60)]
    s = suggest_lr(lrs, losses)
    assert s is not None and abs(math.log10(s) - math.log10(lrs[30])) < 0.25
