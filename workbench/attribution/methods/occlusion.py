"""Occlusion over words: remove one word, see how much the target logit drops.

Zeiler & Fergus (2014) slid a grey patch over images; here the "patch" is one whole word,
replaced (all its sub-words) by the baseline token — captum's ``FeatureAblation`` with a word
``feature_mask``. Score = logit(x) − logit(x without the word): positive when the word
supported the class. One forward per word; interactions between words are not seen.
"""

from __future__ import annotations

from typing import Any

import torch

from workbench.attribution.base import Request
from workbench.attribution.methods.perturbation import WordPerturbation, per_word, scores_of


class Occlusion(WordPerturbation):
    name = "occlusion"
    summary = "Remove one word at a time; score = how much the logit drops."

    def explainer(self, forward: Any, request: Request) -> Any:
        from captum.attr import FeatureAblation

        return FeatureAblation(forward)

    def attribute_one(self, explainer: Any, request: Request, row: int) -> torch.Tensor:
        attr = scores_of(explainer.attribute(**self.captum_args(request, row)))
        return per_word(attr, request.enc.word_index[row])
