"""Regularizers that are one setting of the optimizer, the loss or the loop.

Weight decay (AdamW, decoupled; not on biases/LayerNorm), gradient-norm clipping, label
smoothing, early stopping and LoRA dropout each need no state of their own.
"""

from __future__ import annotations

from typing import Any

from workbench.config import TrainConfig
from workbench.regularization.base import Regularizer


class WeightDecay(Regularizer):
    name = "weight decay"
    summary = "Shrinks weights towards zero each step (AdamW, decoupled)."
    setting = "weight_decay"


class GradientClipping(Regularizer):
    name = "max gradient norm"
    summary = "Rescales the gradient when its norm exceeds the limit; tames spikes."
    setting = "max_grad_norm"


class LabelSmoothing(Regularizer):
    name = "label smoothing"
    summary = "Targets put 1-ε on the true class, ε spread over the rest; curbs overconfidence."
    setting = "label_smoothing"

    def loss_options(self, cfg: TrainConfig) -> dict[str, Any]:
        return {"label_smoothing": cfg.regularization.label_smoothing}


class EarlyStopping(Regularizer):
    name = "early stopping"
    summary = "Stops when the validation metric has not improved for `patience` evaluations."
    setting = "early_stopping"

    def describe(self, cfg: TrainConfig) -> str:
        reg = cfg.regularization
        return f"{self.name}: patience {reg.early_stopping} on {reg.early_stopping_metric}"


class LoraDropout(Regularizer):
    name = "LoRA dropout"
    summary = "Dropout on the LoRA adapter's input (applied by the lora method)."
    setting = "lora_dropout"

    def active(self, cfg: TrainConfig) -> bool:
        return cfg.model.method == "lora" and cfg.model.lora_dropout > 0
