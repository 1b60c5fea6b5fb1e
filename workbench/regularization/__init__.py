"""Regularizers: one registry (CONVENTIONS rule 3), one conformance test.

``build_regularizers(cfg)`` returns fresh instances of those switched on by the config.
"""

from __future__ import annotations

from collections.abc import Callable

from workbench.config import TrainConfig
from workbench.regularization.augmentation import DataAugmentation
from workbench.regularization.base import Regularizer
from workbench.regularization.dropout import AttentionDropout, ClassifierDropout, HiddenDropout
from workbench.regularization.l2sp import L2SP
from workbench.regularization.simple import (
    EarlyStopping,
    GradientClipping,
    LabelSmoothing,
    LoraDropout,
    WeightDecay,
)

REGULARIZERS: dict[str, Callable[[], Regularizer]] = {
    "weight_decay": WeightDecay,
    "dropout": HiddenDropout,
    "attention_dropout": AttentionDropout,
    "classifier_dropout": ClassifierDropout,
    "label_smoothing": LabelSmoothing,
    "max_grad_norm": GradientClipping,
    "early_stopping": EarlyStopping,
    "l2sp": L2SP,
    "lora_dropout": LoraDropout,
    "augmentation": DataAugmentation,
}


def build_regularizers(cfg: TrainConfig) -> list[Regularizer]:
    """Fresh instances of every regularizer the config switches on."""
    regs = [factory() for factory in REGULARIZERS.values()]
    return [r for r in regs if r.active(cfg)]


__all__ = ["REGULARIZERS", "Regularizer", "build_regularizers"]
