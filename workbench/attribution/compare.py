"""Comparing explanations: one colour scale for all of them, and how far they agree.

Side-by-side views (several methods on one text, two checkpoints or two runs on one text, one
pinned text across training steps) are only comparable when every panel uses the *same* colour
scale: with a scale per panel, a word that barely matters in one and a word that decides the
other would look equally dark. :func:`shared_scale` gives that one scale.

Agreement is the Spearman rank correlation of the word scores of two explanations of the same
words (1: same ranking, 0: unrelated, −1: reversed). When one method gives magnitudes only
(saliency), both are compared by magnitude.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from workbench.attribution.explanation import Explanation
from workbench.attribution.trust import spearman


def shared_scale(explanations: Sequence[Explanation]) -> float:
    """The largest ``|word score|`` over all ``explanations`` (0.0 when there are none)."""
    return max(
        (abs(s) for e in explanations for s in e.word_scores if math.isfinite(s)), default=0.0
    )


def agreement(a: Explanation, b: Explanation) -> float | None:
    """Spearman ρ between the word scores of ``a`` and ``b``; None when not comparable
    (different words, fewer than 3 words, or constant scores)."""
    if a.words != b.words:
        return None
    x, y = torch.tensor(a.word_scores), torch.tensor(b.word_scores)
    if not (a.signed and b.signed):
        x, y = x.abs(), y.abs()
    return spearman(x, y)


def agreement_table(
    explanations: Sequence[Explanation], titles: Sequence[str]
) -> list[tuple[str, str, float | None]]:
    """``(title_i, title_j, ρ)`` for every pair ``i < j``."""
    return [
        (titles[i], titles[j], agreement(explanations[i], explanations[j]))
        for i in range(len(explanations))
        for j in range(i + 1, len(explanations))
    ]
