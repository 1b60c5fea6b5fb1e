"""Freeze the embeddings and the bottom k encoder layers; the layers above and the head train.

Lower layers hold general features; freezing them saves memory and guards a small
dataset against forgetting.
"""

from __future__ import annotations

from torch import nn

from workbench.config import ConfigError, ModelConfig
from workbench.methods.base import AdaptationMethod, encoder_layers


class FreezeBottom(AdaptationMethod):
    name = "freeze"
    summary = "Freeze embeddings and the bottom k layers; train the rest."
    default_lr = 1e-4
    settings = ("freeze_layers",)

    def apply(self, model: nn.Module, cfg: ModelConfig) -> nn.Module:
        layers = encoder_layers(model)
        if cfg.freeze_layers > len(layers):
            raise ConfigError(
                f"freeze_layers must be at most the model's {len(layers)} layers; "
                f"got {cfg.freeze_layers}"
            )
        for p in model.parameters():
            p.requires_grad_(True)
        base: nn.Module = getattr(model, "base_model", model)
        get_embeddings = getattr(base, "get_input_embeddings")  # noqa: B009 - typed as Module
        for p in get_embeddings().parameters():
            p.requires_grad_(False)
        embeddings = getattr(base, "embeddings", None)
        if isinstance(embeddings, nn.Module):
            for p in embeddings.parameters():
                p.requires_grad_(False)
        for layer in layers[: cfg.freeze_layers]:
            for p in layer.parameters():
                p.requires_grad_(False)
        return model

    def trainable_fraction_estimate(self) -> float:
        return 0.5
