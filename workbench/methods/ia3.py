"""IA3: learned per-channel rescaling of keys, values and feed-forward activations.

Liu et al., 2022. Through ``peft``; even fewer parameters than LoRA, needs a high rate.
"""

from __future__ import annotations

from torch import nn

from workbench.config import ModelConfig
from workbench.methods.base import AdaptationMethod
from workbench.methods.peft_common import peft_task_type, target_modules, wrap


class IA3(AdaptationMethod):
    name = "ia3"
    summary = "Learned rescaling vectors on keys, values and MLP; base frozen."
    min_steps = 60
    trains_pretrained = False
    default_lr = 5e-3
    uses_peft = True
    settings = ("target_modules",)

    def apply(self, model: nn.Module, cfg: ModelConfig) -> nn.Module:
        from peft import IA3Config

        targets = target_modules(cfg)
        config = IA3Config(
            task_type=peft_task_type(model),
            target_modules=targets,
            # With user-named targets, none is treated as a feed-forward layer.
            feedforward_modules=[] if targets else None,
        )
        return wrap(model, config)

    def trainable_fraction_estimate(self) -> float:
        return 0.005
