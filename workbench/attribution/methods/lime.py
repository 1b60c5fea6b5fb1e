"""LIME over words (Ribeiro et al., 2016): a weighted linear model of random word removals.

``n_samples`` times, drop a random subset of words (each kept with probability ½), run the
model, and record the target logit. A ridge regression on the keep/drop indicators, weighted
by LIME's text kernel (closer to the full text = more weight), gives one coefficient per word:
its score. Seeded, so the same call gives the same scores.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from workbench.attribution.base import Request
from workbench.attribution.methods.perturbation import WordPerturbation, per_word, scores_of

KERNEL_WIDTH = 0.25  # LIME's text default (25 on cosine distance x 100)


def text_kernel(_original: Any, _perturbed: Any, kept: torch.Tensor, **_: Any) -> torch.Tensor:
    """``exp(-d²/w²)`` with ``d`` the cosine distance between all-kept and ``kept``."""
    n = kept.numel()
    k = float(kept.float().sum())
    distance = 1.0 - math.sqrt(k / n) if n else 0.0
    return torch.tensor(math.exp(-(distance**2) / KERNEL_WIDTH**2))


class Lime(WordPerturbation):
    name = "lime"
    summary = "Ridge regression on random word removals, kernel-weighted (sampled, seeded)."

    def explainer(self, forward: Any, request: Request) -> Any:
        from captum._utils.models.linear_model import SkLearnRidge
        from captum.attr import Lime as CaptumLime

        return CaptumLime(
            forward, interpretable_model=SkLearnRidge(alpha=1.0), similarity_func=text_kernel
        )

    def attribute_one(self, explainer: Any, request: Request, row: int) -> torch.Tensor:
        args = self.captum_args(request, row)
        attr = explainer.attribute(**args, n_samples=request.options.n_samples)
        return per_word(scores_of(attr), request.enc.word_index[row])
