"""The small base every regularizer builds on.

A regularizer touches training through at most four hooks, each optional:

- ``model_overrides(cfg, model_config)``: model-config attributes to set before loading
  (dropout rates);
- ``on_model_ready(model, cfg)``: remember anything it needs once the model exists;
- ``penalty(model)``: a scalar added to the loss, or ``None``;
- ``loss_options(cfg)``: keyword arguments for the cross-entropy (label smoothing).

Optimizer-level ones (weight decay, gradient clipping, L2-SP's pull towards the pretrained
weights, which :func:`~workbench.training.session.build_optimizer` attaches) and early
stopping are read from the config directly; they register here so that every regularizer is
listed, described and conformance-tested in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

if TYPE_CHECKING:
    from workbench.config import TrainConfig


class Regularizer:
    """Base class; subclasses set ``name``/``summary`` and override the hooks they need."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    #: The config field whose value switches this regularizer on.
    setting: ClassVar[str] = ""

    def active(self, cfg: TrainConfig) -> bool:
        value = cfg.flat()[self.setting]
        return value is not None and value != 0 and value is not False

    def model_overrides(self, cfg: TrainConfig, model_config: Any) -> dict[str, Any]:
        return {}

    def on_model_ready(self, model: nn.Module, cfg: TrainConfig, **kwargs: Any) -> None:
        """Called once the adapted model exists, before the first step."""

    def penalty(self, model: nn.Module, **kwargs: Any) -> torch.Tensor | None:
        return None

    def loss_options(self, cfg: TrainConfig) -> dict[str, Any]:
        return {}

    def describe(self, cfg: TrainConfig) -> str:
        return f"{self.name}: {cfg.flat()[self.setting]}"


def present_attributes(model_config: Any, names: tuple[str, ...], value: Any) -> dict[str, Any]:
    """``{attr: value}`` for those of ``names`` the model config actually has."""
    return {n: value for n in names if hasattr(model_config, n)}
