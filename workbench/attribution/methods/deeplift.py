"""DeepLIFT (rescale rule; Shrikumar et al., 2017), only where its rules hold.

DeepLIFT propagates ``output - output(baseline)`` back through the network with a rule per
non-linearity. Captum has rules for ReLU, ELU, sigmoid, tanh, softmax and max-pooling modules;
anything else it silently treats as linear. Transformers are mostly "anything else": attention
multiplies two functions of the input (``softmax(QKᵀ)V``), and GELU and LayerNorm have no rule.
On such a model captum's numbers look plausible and mean nothing, so this method refuses with
a clear error and names the methods that do apply. Small models built from embeddings, linear
layers, pooling and the supported activations (e.g. a bag-of-embeddings classifier) work, with
the scores summing to the logit gap up to the reported delta.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

from workbench.attribution.base import (
    Attribution,
    AttributionError,
    AttributionMethod,
    Request,
    token_scores,
)
from workbench.attribution.model import ExplainedModel

#: Leaf modules DeepLIFT handles: linear maps (nothing to do) and the rules captum implements.
SUPPORTED = (
    nn.Linear,
    nn.Embedding,
    nn.EmbeddingBag,
    nn.Dropout,
    nn.Identity,
    nn.Conv1d,
    nn.ReLU,
    nn.ELU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softmax,
    nn.MaxPool1d,
    nn.AvgPool1d,
)


def unsupported_parts(model: nn.Module) -> list[str]:
    """Class names of the parts DeepLIFT has no rule for (empty: supported)."""
    found: dict[str, None] = {}
    for module in model.modules():
        cls = type(module).__name__
        if "attention" in cls.lower():
            found[cls] = None  # built from Linear layers, but multiplies inputs in forward()
        elif not list(module.children()) and not isinstance(module, SUPPORTED):
            found[cls] = None
    return list(found)


class _EmbedsToLogits(nn.Module):
    """``embeds, mask, *extras -> logits``: captum's DeepLift needs an ``nn.Module`` to hook."""

    def __init__(self, model: ExplainedModel) -> None:
        super().__init__()
        self.inner = model.model  # registered as a child so DeepLift hooks its layers
        self._view = model

    def forward(self, embeds: torch.Tensor, mask: torch.Tensor, *extras: Any) -> torch.Tensor:
        return self._view.forward_embeds(embeds, mask, *extras)


class DeepLift(AttributionMethod):
    name = "deeplift"
    summary = "DeepLIFT rescale rule; only for models without attention/GELU/LayerNorm."
    complete = True
    delta_kind = "summation-to-delta"

    def check(self, model: ExplainedModel) -> None:
        parts = unsupported_parts(model.model)
        if parts:
            shown = ", ".join(parts[:5]) + (" …" if len(parts) > 5 else "")
            raise AttributionError(
                f"deeplift cannot explain {type(model.base).__name__}: it has no rule for "
                f"{shown} (attention multiplies inputs; captum would silently treat these as "
                "linear). Use layer-ig, integrated-gradients or gradient-shap instead"
            )
        model.require_inputs_embeds(self.name)

    def attribute(self, request: Request) -> Attribution:
        from captum.attr import DeepLift as CaptumDeepLift

        model, enc = request.model, request.enc
        with warnings.catch_warnings():  # captum announces its temporary hooks on every call
            warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
            attr, delta = CaptumDeepLift(_EmbedsToLogits(model)).attribute(
                model.embed(enc.input_ids).requires_grad_(),  # (batch, tokens, hidden)
                baselines=model.embed(enc.baseline_ids),
                target=request.targets,
                additional_forward_args=model.forward_args(enc),
                return_convergence_delta=True,
            )
        n = len(request.targets)
        scores = token_scores(attr).detach().float().cpu()
        return Attribution(scores, [float(d) for d in delta], [None] * n)
