"""Can a pixel explanation be trusted? Deletion/insertion curves and the randomization check.

The text task's measures (:mod:`workbench.attribution.trust`, :mod:`~workbench.attribution.
sanity`), adapted to pixels:

* **deletion** (Petsiuk et al., 2018, "RISE"): paint the pixels black in the order the
  explanation ranks them, most important first (in squares of 1/16 of the side, ranked by
  their mean score), and follow p(target) from the image (0%
  deleted) to an all-black one (100%). A faithful ranking makes it fall early: a *low*
  area under the curve (AUC, the mean of the curve) is good.
* **insertion**: start from the blurred image and put the real pixels back in the same
  order; p(target) should rise early: a *high* AUC is good.

Both are set against the same curves for random pixel orders (averaged over a few seeds),
as comprehensiveness is set against random words: an explanation says something only where
it beats random pixels. Ranks come from the scores (signed methods: most positive first;
saliency: largest magnitude first).

* **randomization check** (Adebayo et al., 2018): re-draw the weights of a copy of the
  model block by block from the output down (head, the backbone's head convolution, each
  block from the top, the stem) and attribute again after each stage; the Spearman rank
  correlation of the pixel scores with the real ones (signed and absolute) should fall. A
  correlation near 1 on a random model means the heatmap shows the image (edges), not what
  the model learned. The positive control — the same attribution on the copy before
  anything is re-drawn — must give ρ ≈ 1. ``options.cascade="coarse"``: head, top half of
  the blocks, everything (3 attributions).
"""

from __future__ import annotations

import copy
import random
import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench.attribution.base import AttributionError, Options
from workbench.attribution.sanity import redraw
from workbench.attribution.trust import spearman

#: Points of each curve: 0%, 5%, … 100% of the pixels deleted / inserted.
CURVE_STEPS = 20
#: Pixels are deleted / inserted in squares, 16 to a side (4 px at 64 px): single random
#: pixels would scatter salt-and-pepper noise, which a CNN reacts to far more than to a
#: removed region, and random orders would look worse than they are.
PATCHES = 16
RANDOM_SEEDS = 3


def image_trust(
    model: nn.Module,
    method: Any,
    x: torch.Tensor,
    baseline: torch.Tensor,
    target: int,
    scores: np.ndarray,
    opts: Options,
    sanity: bool = True,
) -> dict[str, Any]:
    """Deletion and insertion curves (and, with ``sanity``, the randomization check)."""
    from workbench.tasks.image_classification.explain import blurred, logits_fn

    tick = time.perf_counter()
    forward = logits_fn(model)
    patch = max(1, x.shape[-1] // PATCHES)
    rank = patch_scores(np.abs(scores) if not method.signed else scores, patch)
    order = np.argsort(-rank.ravel(), kind="stable")
    randoms = [
        np.array(random.Random(seed).sample(range(order.size), order.size))
        for seed in range(RANDOM_SEEDS)
    ]
    black = torch.full_like(x, -1.0)
    out: dict[str, Any] = {"patch": patch}
    for name, start, end in (("deletion", x, black), ("insertion", blurred(x), x)):
        curve = pixel_curve(forward, start, end, order, target, patch)
        rand = np.mean(
            [pixel_curve(forward, start, end, r, target, patch) for r in randoms], axis=0
        )
        out[name] = {
            "auc": float(np.mean(curve)),
            "random_auc": float(np.mean(rand)),
            "curve": [round(float(v), 5) for v in curve],
            "random_curve": [round(float(v), 5) for v in rand],
        }
    out["random_seeds"] = RANDOM_SEEDS
    out["better_than_random"] = bool(
        out["deletion"]["auc"] < out["deletion"]["random_auc"]
        and out["insertion"]["auc"] > out["insertion"]["random_auc"]
    )
    out["seconds"] = time.perf_counter() - tick
    if sanity:
        out["randomization"] = randomization_check(model, method, x, baseline, target, scores, opts)
    return out


def patch_scores(scores: np.ndarray, patch: int) -> np.ndarray:
    """Mean score of each ``patch``×``patch`` square: ``(h / patch, w / patch)``."""
    pooled = torch.nn.functional.avg_pool2d(
        torch.as_tensor(scores, dtype=torch.float32)[None, None], patch, ceil_mode=True
    )
    return pooled[0, 0].numpy()


@torch.no_grad()
def pixel_curve(
    forward: Any,
    start: torch.Tensor,
    end: torch.Tensor,
    order: np.ndarray,
    target: int,
    patch: int = 1,
) -> np.ndarray:
    """p(target) as the squares of ``patch`` pixels in ``order`` go from ``start`` to
    ``end``, in :data:`CURVE_STEPS` equal shares (one batched forward pass)."""
    h, w = start.shape[-2:]
    rows, cols = -(-h // patch), -(-w // patch)
    shares = np.linspace(0.0, 1.0, CURVE_STEPS + 1)
    masks = torch.zeros(len(shares), rows * cols, dtype=torch.bool)
    for i, share in enumerate(shares):
        masks[i, torch.as_tensor(order[: int(round(share * rows * cols))])] = True
    grid = masks.view(len(shares), 1, rows, cols)
    full = grid.repeat_interleave(patch, 2).repeat_interleave(patch, 3)[..., :h, :w]
    batch = torch.where(full.to(start.device), end, start)  # (steps, 3, h, w)
    return torch.softmax(forward(batch), -1)[:, target].cpu().numpy()


def randomization_check(
    model: nn.Module,
    method: Any,
    x: torch.Tensor,
    baseline: torch.Tensor,
    target: int,
    scores: np.ndarray,
    opts: Options,
) -> dict[str, Any]:
    """The cascading randomization curve of one explanation, with its positive control."""
    from workbench.tasks.image_classification.explain import logits_fn

    tick = time.perf_counter()
    twin = copy.deepcopy(model)  # the user's model is never touched
    forward = logits_fn(twin)
    fast = replace(opts, adaptive=False)  # rankings settle long before sums converge
    real = torch.as_tensor(scores).flatten()

    def correlate() -> dict[str, float | None]:
        fake = method.attribute(forward, x, baseline, target, fast)[0].detach().float().cpu()
        return {
            "spearman": spearman(real, fake.flatten()),
            "spearman_abs": spearman(real.abs(), fake.abs().flatten()),
        }

    generator = torch.Generator().manual_seed(opts.seed + 1)
    control = correlate()
    stages = []
    total = sum(p.numel() for p in twin.parameters())
    done = 0
    before = forward(x).detach()
    for name, params in cascade(twin, opts.cascade):
        if not params:
            raise AttributionError(f"the randomization check found no weights at stage {name!r}")
        redraw(params, generator)
        done += sum(p.numel() for p in params)
        if name == "head" and torch.equal(forward(x).detach(), before):
            raise AttributionError("re-drawing the head did not change the logits")
        stages.append({"stage": name, "randomized": done / total, **correlate()})
    return {
        "control": control,
        "stages": stages,
        "top": stages[min(1, len(stages) - 1)]["spearman"],
        "all": stages[-1]["spearman"],
        "all_abs": stages[-1]["spearman_abs"],
        "attributions": len(stages) + 1,
        "seconds": time.perf_counter() - tick,
    }


def cascade(model: nn.Module, kind: str = "layers") -> list[tuple[str, list[nn.Parameter]]]:
    """Parameter groups of an image classifier, re-drawn one after another, top first.

    ``layers``: head (classifier), the backbone's head convolution, each block from the top,
    the stem; ``coarse``: head, the top half of the blocks (with the head convolution),
    everything else. Every parameter is in exactly one group.
    """
    get_base = getattr(model, "get_base_model", None)
    base: Any = get_base() if callable(get_base) else model
    backbone: Any = base.backbone
    blocks = list(backbone._blocks)[::-1]  # top first
    taken: set[int] = set()

    def claim(params: Any) -> list[nn.Parameter]:
        fresh = {id(p): p for p in params if id(p) not in taken}
        taken.update(fresh)
        return list(fresh.values())

    head = claim(base.classifier.parameters())
    conv_head = claim([*backbone._conv_head.parameters(), *backbone._bn1.parameters()])
    groups = [claim(b.parameters()) for b in blocks]
    rest = claim(base.parameters())  # the stem, and anything not named above
    if kind == "coarse":
        half = (len(groups) + 1) // 2
        top = conv_head + [p for g in groups[:half] for p in g]
        everything = [p for g in groups[half:] for p in g] + rest
        return [("head", head), ("top blocks", top), ("all", everything)]
    n = len(groups)
    named = [(f"block {n - i}", g) for i, g in enumerate(groups)]
    return [("head", head), ("head conv", conv_head), *named, ("stem", rest)]
