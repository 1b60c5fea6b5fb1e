"""Shared by methods that remove whole words and watch the target logit.

A word is removed by replacing *all* its sub-word tokens with the baseline token (pad or mask)
at once, keeping the attention mask and positions: captum's ``feature_mask`` groups the tokens
of one word. Special and padding tokens form group 0, whose "removal" changes nothing.
The forward rounds ids back to integers because LIME and KernelSHAP mix input and baseline
arithmetically (``z·x + (1−z)·x'``) and hand over floats.
"""

from __future__ import annotations

from typing import Any

import torch

from workbench.attribution.base import Attribution, AttributionMethod, Request
from workbench.attribution.model import ExplainedModel


class WordPerturbation(AttributionMethod):
    """Base for occlusion, LIME and KernelSHAP: one example at a time, seeded."""

    def explainer(self, forward: Any, request: Request) -> Any:
        raise NotImplementedError

    def attribute_one(self, explainer: Any, request: Request, row: int) -> torch.Tensor:
        raise NotImplementedError

    def attribute(self, request: Request) -> Attribution:
        explainer = self.explainer(_ids_forward(request.model), request)
        n = len(request.targets)
        with torch.random.fork_rng(devices=[]):  # reproducible samples; caller's RNG untouched
            torch.manual_seed(request.options.seed)
            rows = [self.attribute_one(explainer, request, i) for i in range(n)]
        return Attribution(torch.stack(rows), [None] * n, [None] * n)

    def captum_args(self, request: Request, row: int) -> dict[str, Any]:
        """Inputs, baselines, target, feature mask and forward args of example ``row``."""
        model, one = request.model, request.enc.select([row])
        dev = model.device
        return {
            "inputs": one.input_ids.to(dev),
            "baselines": one.baseline_ids.to(dev),
            "target": request.targets[row],
            "additional_forward_args": model.forward_args(one),
            "feature_mask": one.feature_mask().to(dev),
            "perturbations_per_eval": request.options.perturbations_per_eval,
        }


def _ids_forward(model: ExplainedModel) -> Any:
    def forward(ids: torch.Tensor, *args: Any) -> torch.Tensor:
        with torch.no_grad():  # perturbation methods need no gradients
            return model.forward_ids(ids.round().long(), *args)

    return forward


def scores_of(attr: torch.Tensor) -> torch.Tensor:
    """``(1, tokens)`` captum output -> ``(tokens,)`` float scores on the CPU."""
    return attr.detach().float().cpu()[0]


def per_word(attr: torch.Tensor, word_index: torch.Tensor) -> torch.Tensor:
    """Captum gives every token of a word the word's whole score; split it evenly instead,
    so that summing a word's tokens (as for gradient methods) gives back the word's score."""
    keep = word_index >= 0
    counts = torch.bincount(word_index[keep], minlength=int(word_index.max()) + 1)
    out = torch.zeros_like(attr)
    out[keep] = attr[keep] / counts[word_index[keep]].to(attr.dtype)
    return out
