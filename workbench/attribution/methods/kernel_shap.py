"""KernelSHAP over words (Lundberg & Lee, 2017): Shapley values from random word coalitions.

Like LIME, but coalitions are sampled and weighted with the Shapley kernel and fitted with
plain least squares, so the word scores approximate Shapley values: together with the (zero)
score of the special tokens they add up to ``logit(x) − logit(baseline)`` in expectation.
Sampled with ``n_samples`` coalitions, seeded.
"""

from __future__ import annotations

from typing import Any

import torch

from workbench.attribution.base import Request
from workbench.attribution.methods.perturbation import WordPerturbation, per_word, scores_of


class KernelShap(WordPerturbation):
    name = "kernel-shap"
    summary = "Shapley values of words from sampled coalitions (sampled, seeded)."

    def explainer(self, forward: Any, request: Request) -> Any:
        from captum.attr import KernelShap as CaptumKernelShap

        return CaptumKernelShap(forward)

    def attribute_one(self, explainer: Any, request: Request, row: int) -> torch.Tensor:
        args = self.captum_args(request, row)
        attr = explainer.attribute(**args, n_samples=request.options.n_samples)
        return per_word(scores_of(attr), request.enc.word_index[row])
