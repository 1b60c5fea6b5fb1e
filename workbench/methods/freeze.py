"""Freeze the embeddings and the bottom k encoder layers; the layers above and the head train.

A CNN (a model with an :class:`~workbench.methods.base.Anatomy`) freezes its stem and its
bottom k blocks the same way.

Lower layers hold general features; freezing them saves memory and guards a small
dataset against forgetting.
"""

from __future__ import annotations

from torch import nn

from workbench.config import ConfigError, ModelConfig
from workbench.methods.base import AdaptationMethod, anatomy_of, encoder_layers


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
        for module in [*input_side(model), *layers[: cfg.freeze_layers]]:
            for p in module.parameters():
                p.requires_grad_(False)
        return model

    def trainable_fraction_estimate(self) -> float:
        return 0.5


def input_side(model: nn.Module) -> list[nn.Module]:
    """What reads the raw input: a transformer's embeddings, a CNN's declared stem."""
    anatomy = anatomy_of(model)
    if anatomy is not None:
        return [model.get_submodule(name) for name in anatomy.stem]
    base: nn.Module = getattr(model, "base_model", model)
    get_embeddings = getattr(base, "get_input_embeddings")  # noqa: B009 - typed as Module
    found = [get_embeddings()]
    embeddings = getattr(base, "embeddings", None)
    if isinstance(embeddings, nn.Module):
        found.append(embeddings)
    return found
