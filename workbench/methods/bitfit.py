"""BitFit: only bias terms (and the classifier head) train — about 0.1% of the weights.

Ben Zaken et al., 2022, "BitFit: Simple Parameter-efficient Fine-tuning".
"""

from __future__ import annotations

from torch import nn

from workbench.config import ModelConfig
from workbench.methods.base import AdaptationMethod, head_parameter_names, set_trainable


class BitFit(AdaptationMethod):
    name = "bitfit"
    summary = "Train only bias terms and the head (~0.1% of weights)."
    min_steps = 60
    default_lr = 2e-3

    def apply(self, model: nn.Module, cfg: ModelConfig) -> nn.Module:
        head = head_parameter_names(model)
        set_trainable(model, lambda name: name.endswith(".bias") or name in head)
        return model

    def trainable_fraction_estimate(self) -> float:
        return 0.002
