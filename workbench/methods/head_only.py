"""Head-only (linear probe): the pretrained encoder is frozen; only the classifier trains."""

from __future__ import annotations

from torch import nn

from workbench.config import ModelConfig
from workbench.methods.base import AdaptationMethod, head_parameter_names, set_trainable


class HeadOnly(AdaptationMethod):
    name = "head-only"
    summary = "Freeze the encoder, train the classifier head (a linear probe)."
    min_steps = 60
    trains_pretrained = False
    default_lr = 2e-3  # a freshly initialized linear head needs a high rate to move

    def apply(self, model: nn.Module, cfg: ModelConfig) -> nn.Module:
        head = head_parameter_names(model)
        set_trainable(model, lambda name: name in head)
        return model

    def trainable_fraction_estimate(self) -> float:
        return 0.001
