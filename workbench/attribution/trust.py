"""Can this explanation be trusted? Faithfulness, and the rank correlation both checks use.

Faithfulness (ERASER; DeYoung et al., 2020), with ``p`` the probability of the target class:

* **comprehensiveness** = p(text) − p(text without its top-k% words). High: the words the
  explanation ranks first really carry the prediction.
* **sufficiency** = p(text) − p(only the top-k% words). Low (or negative): those words alone
  are enough.

Both are set against removing / keeping the same number of *random* words (averaged over a few
seeds): an explanation is only informative where it beats random words. Words are deleted
(tokens dropped, the sequence shortened), as in ERASER; special tokens always stay.

The model-randomization sanity check lives in :mod:`workbench.attribution.sanity`; it uses
:func:`spearman` from here, as does the comparison of explanations.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench.attribution.inputs import Encoded
from workbench.attribution.model import ExplainedModel

TOP_K = 0.2  # share of words removed / kept (ERASER uses the rationale length; 20% is common)
RANDOM_SEEDS = 5


# ----------------------------------------------------------------------------- faithfulness
def faithfulness(
    model: ExplainedModel,
    enc: Encoded,
    row: int,
    word_scores: list[float],
    target: int,
    k: float = TOP_K,
    seeds: int = RANDOM_SEEDS,
) -> dict[str, Any]:
    """Comprehensiveness and sufficiency of the top ``k`` share of words, and of random words."""
    n = len(word_scores)
    if n == 0:
        return {}
    k_words = max(1, math.ceil(k * n))
    top = sorted(range(n), key=lambda i: -word_scores[i])[:k_words]
    picks = [random.Random(seed).sample(range(n), k_words) for seed in range(seeds)]
    variants = [[], top, top] + [p for p in picks for _ in (0, 1)]
    keep_only = [False, False, True] + [False, True] * seeds
    probs = _target_probs(model, enc, row, variants, keep_only, target)
    full = probs[0]
    rand_comp = [full - probs[3 + 2 * s] for s in range(seeds)]
    rand_suff = [full - probs[4 + 2 * s] for s in range(seeds)]
    return {
        "k": k,
        "k_words": k_words,
        "probability": full,
        "comprehensiveness": full - probs[1],
        "sufficiency": full - probs[2],
        "random_comprehensiveness": float(np.mean(rand_comp)),
        "random_sufficiency": float(np.mean(rand_suff)),
        "random_seeds": seeds,
    }


@torch.no_grad()
def _target_probs(
    model: ExplainedModel,
    enc: Encoded,
    row: int,
    variants: list[list[int]],
    keep_only: list[bool],
    target: int,
) -> list[float]:
    """p(target) for each variant of example ``row``: its words listed removed (or kept only)."""
    real = enc.attention_mask[row].bool()
    words = enc.word_index[row]
    types = enc.extra.get("token_type_ids")
    seqs: list[torch.Tensor] = []
    type_seqs: list[torch.Tensor] = []
    for chosen, only in zip(variants, keep_only, strict=True):
        listed = torch.isin(words, torch.tensor(chosen, dtype=torch.long))
        keep = real & ((words < 0) | (listed if only else ~listed))
        seqs.append(enc.input_ids[row][keep])
        if types is not None:
            type_seqs.append(types[row][keep])
    pad = getattr(model.tokenizer, "pad_token_id", None)
    ids = nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=int(pad or 0))
    mask = nn.utils.rnn.pad_sequence([torch.ones_like(s) for s in seqs], batch_first=True)
    tt = nn.utils.rnn.pad_sequence(type_seqs, batch_first=True) if type_seqs else None
    dev = model.device
    logits = model.forward_ids(
        ids.to(dev), mask.to(dev), None if tt is None else tt.to(dev), None
    )  # position ids left to the model: the variants are new, shorter texts
    return torch.softmax(logits, -1)[:, target].cpu().tolist()


# ----------------------------------------------------------------------------- ranks
def spearman(a: torch.Tensor, b: torch.Tensor) -> float | None:
    """Spearman rank correlation (ties get average ranks); None when undefined."""
    x, y = a.detach().double().numpy(), b.detach().double().numpy()
    if x.size < 3:
        return None
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(values: np.ndarray) -> np.ndarray:
    order = values.argsort(kind="stable")
    ranks = np.empty(values.size)
    ranks[order] = np.arange(values.size, dtype=float)
    for v in np.unique(values):  # average the ranks of tied values
        tied = values == v
        ranks[tied] = ranks[tied].mean()
    return ranks
