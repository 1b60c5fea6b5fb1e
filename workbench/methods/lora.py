"""LoRA: low-rank updates ``W + (alpha/r)·B·A`` on chosen linear layers; base weights frozen.

On a CNN the targets are its 1×1 convolutions (declared in the model's ``Anatomy``): a 1×1
convolution is a linear layer applied at every pixel, so the same low-rank update fits.

Hu et al., 2021. Through ``peft``: rank ``lora_r``, scale ``lora_alpha / lora_r``,
``lora_dropout`` on the adapter input.
"""

from __future__ import annotations

from torch import nn

from workbench.config import ModelConfig
from workbench.methods.base import AdaptationMethod
from workbench.methods.peft_common import peft_options, wrap


class Lora(AdaptationMethod):
    name = "lora"
    summary = "Low-rank adapters on attention layers; base weights frozen."
    min_steps = 60
    trains_pretrained = False
    default_lr = 1e-3  # adapters start at zero and need ~10x a full fine-tune's rate
    uses_peft = True
    settings = ("lora_r", "lora_alpha", "lora_dropout", "target_modules")

    def apply(self, model: nn.Module, cfg: ModelConfig) -> nn.Module:
        from peft import LoraConfig

        config = LoraConfig(
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            **peft_options(model, cfg),
        )
        return wrap(model, config)

    def trainable_fraction_estimate(self) -> float:
        return 0.01
