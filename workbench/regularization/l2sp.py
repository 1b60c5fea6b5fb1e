"""L2-SP: penalize distance from the *pretrained* weights instead of from zero.

Li, Grandvalet & Davoine, 2018. ``penalty = α/2 · Σ‖w − w₀‖²`` over trainable weights that
came pretrained (the new head is excluded: it has no meaningful starting point). Keeps a
small-data fine-tune close to what pretraining learned.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from workbench.config import TrainConfig
from workbench.methods.base import head_parameter_names
from workbench.regularization.base import Regularizer


class L2SP(Regularizer):
    name = "L2-SP"
    summary = "Pulls weights back towards their pretrained values (strength α)."
    setting = "l2sp"

    def __init__(self) -> None:
        self.strength = 0.0
        self.anchors: list[tuple[nn.Parameter, torch.Tensor]] = []

    def on_model_ready(self, model: nn.Module, cfg: TrainConfig, **kwargs: Any) -> None:
        self.strength = cfg.regularization.l2sp
        head = head_parameter_names(model)  # "classifier.weight", ... (peft adds prefixes)
        self.anchors = [
            (p, p.detach().clone())
            for name, p in model.named_parameters()
            if p.requires_grad
            and not any(name == h or name.endswith(f".{h}") for h in head)
            and "modules_to_save" not in name  # peft's trainable copy of the new head
            and "lora_" not in name
            and "ia3_" not in name  # adapters start at 0/1 by design
        ]

    def penalty(self, model: nn.Module, **kwargs: Any) -> torch.Tensor | None:
        if not self.anchors:
            return None
        total = sum(((p - p0.to(p.device)) ** 2).sum() for p, p0 in self.anchors)
        return 0.5 * self.strength * total  # type: ignore[return-value]
