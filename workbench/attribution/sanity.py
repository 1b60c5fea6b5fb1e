"""Model-randomization sanity check (Adebayo et al., 2018), cascading from the top.

An explanation should depend on what the model *learned*. The check re-draws the weights of a
deep copy of the model at random, block by block from the output down, re-runs the same
attribution after each block, and compares the word ranking with the real one:

* **cascade** ``"layers"`` (the paper's cascading randomization): the head (classifier,
  pooler, final norms — everything that is neither an encoder layer nor an embedding), then
  the top encoder layer, the next one … down to the embeddings. Each stage keeps the earlier
  ones randomized, so the last stage is a fully random model. Cost: one attribution per stage,
  ``layers + 2`` of them (8 on minilm-l6, 6 layers), plus one for the control below.
* **cascade** ``"coarse"``: head, the top half of the layers, everything: 3 attributions plus
  the control, for deep models or slow methods. The curve is coarser, the verdict the same.

Per stage two Spearman rank correlations with the real word scores are reported, as in the
paper: of the signed scores, and of their absolute values. Signed ρ alone is biased towards
passing: a random model that merely flips signs lowers signed ρ while ranking the same words
as important, which ρ of ``|scores|`` still shows. Low ρ (both) is good; ρ near 1 means the
explanation describes the input or the architecture rather than the weights.

**Positive control**: the same attribution, with the same reduced settings, on the copy
*before* anything is re-drawn. It must give ρ = 1 (up to the step-count difference of
integrated gradients); anything less means the stage numbers are measuring noise.

The check never passes silently: a stage that finds no weights to re-draw raises
:class:`~workbench.attribution.base.AttributionError`, and so does a head stage after which the
copy still gives the real model's logits (nothing that matters was randomized).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from workbench.attribution.base import AttributionError, AttributionMethod, Request
from workbench.attribution.inputs import merge_to_words
from workbench.attribution.model import ExplainedModel
from workbench.attribution.trust import spearman

CASCADES = ("layers", "coarse")
#: Parameters outside the embeddings block and the layer stack that still belong to the
#: input side (GPT-2's position table ``wpe`` sits beside ``wte``, not in a block).
EMBEDDING_NAMES = ("embed", "wte", "wpe", "position")

Stage = tuple[str, list[nn.Parameter]]


def randomization_check(
    method: AttributionMethod,
    request: Request,
    real_words: list[torch.Tensor],
    steps: list[int | None],
) -> list[dict[str, Any]]:
    """The cascading randomization curve of each example, with its positive control.

    Returns one dict per example: ``control`` and each entry of ``stages`` hold
    ``spearman`` (signed scores) and ``spearman_abs`` (absolute scores); a stage also names
    what it re-drew (``stage``) and the share of all weights random by then
    (``randomized``). ``top`` / ``all`` (and ``top_abs`` / ``all_abs``) repeat the stage with
    the top encoder layer(s) and the last stage; ``attributions`` and ``seconds`` give the cost.
    Integrated-gradients methods run ``options.n_steps`` steps (or fewer, if the real run
    needed fewer) without adapting, to keep the cost bounded.
    """
    tick = time.perf_counter()
    twin = copy.deepcopy(request.model.model)  # the user's model is never touched
    view = ExplainedModel(twin, request.model.tokenizer)
    stages = cascade(view, request.options.cascade)
    generator = torch.Generator().manual_seed(request.options.seed + 1)
    # rankings settle long before sums converge: never more steps than the first try
    n_steps = min([s for s in steps if s] + [request.options.n_steps])
    opts = replace(request.options, adaptive=False, n_steps=n_steps)
    twin_request = Request(view, request.enc, request.targets, request.gaps, opts)
    real_logits = view.logits(request.enc.input_ids, request.enc)  # the copy, not yet random
    out: list[dict[str, Any]] = [
        {"control": pair, "stages": []} for pair in _correlate(method, twin_request, real_words)
    ]
    total = sum(p.numel() for p in twin.parameters())
    done = 0
    for name, params in stages:
        if not params:
            raise AttributionError(
                f"the sanity check found no weights to randomize at stage {name!r} of "
                f"{type(view.base).__name__}; its correlations would be 1 by construction. "
                "Explain with trust='faithfulness' instead"
            )
        redraw(params, generator)
        done += sum(p.numel() for p in params)
        if name == "head" and _unchanged(view, request, real_logits):
            raise AttributionError(
                f"the sanity check re-drew the head of {type(view.base).__name__} but its "
                "logits did not change: the randomized weights are not the ones it uses"
            )
        for row, pair in zip(out, _correlate(method, twin_request, real_words), strict=True):
            row["stages"].append({"stage": name, "randomized": done / total, **pair})
    for row in out:
        _summarize(row, len(stages) + 1, time.perf_counter() - tick)
    return out


def _unchanged(view: ExplainedModel, request: Request, before: torch.Tensor) -> bool:
    """True when the copy still gives the logits it gave before anything was re-drawn."""
    return torch.equal(view.logits(request.enc.input_ids, request.enc), before)


def cascade(view: ExplainedModel, kind: str = "layers") -> list[Stage]:
    """The parameter groups re-drawn one after another, top first.

    Every parameter of the model is in exactly one group, so the last stage leaves nothing
    of the trained model. ``"layers"``: head, each encoder layer from the top, embeddings;
    ``"coarse"``: head, the top half of the layers, everything else.
    """
    if kind not in CASCADES:
        raise AttributionError(f"unknown cascade {kind!r}; choose one of {', '.join(CASCADES)}")
    model = view.model
    taken: set[int] = set()

    def claim(params: Any) -> list[nn.Parameter]:
        fresh = {id(p): p for p in params if id(p) not in taken}  # shared ones once
        taken.update(fresh)
        return list(fresh.values())

    embeds = claim([*view.embeddings_block.parameters(), *view.word_embeddings.parameters()])
    layers = [claim(layer.parameters()) for layer in _layers(model)][::-1]  # top first
    named = [(n, p) for n, p in model.named_parameters() if id(p) not in taken]
    embeds += claim(p for n, p in named if any(k in n.lower() for k in EMBEDDING_NAMES))
    head = claim(p for _, p in named)
    n = len(layers)
    if kind == "coarse":
        half = (n + 1) // 2
        top = [p for group in layers[:half] for p in group]
        rest = [p for group in layers[half:] for p in group] + embeds
        named_top = f"layers {n - half + 1}–{n}" if half > 1 else f"layer {n}"
        return [("head", head)] + ([(named_top, top)] if n else []) + [("all", rest)]
    stages = [("head", head)] + [(f"layer {n - i}", g) for i, g in enumerate(layers)]
    return stages + [("embeddings", embeds)]


def _layers(model: nn.Module) -> list[nn.Module]:
    """The encoder layers, bottom first; none for a model without a layer stack."""
    from workbench.methods.base import encoder_layers

    try:
        return list(encoder_layers(model))
    except (ValueError, AttributeError):
        return []  # a small custom model: head and embeddings are the whole cascade


def _correlate(
    method: AttributionMethod, request: Request, real_words: list[torch.Tensor]
) -> list[dict[str, float | None]]:
    """Attribute with ``request``'s model and rank-correlate with the real word scores."""
    scores = method.attribute(request).scores
    out = []
    for i, real in enumerate(real_words):
        fake = merge_to_words(scores[i], request.enc.word_index[i], real.numel())
        out.append(
            {"spearman": spearman(real, fake), "spearman_abs": spearman(real.abs(), fake.abs())}
        )
    return out


def _summarize(row: dict[str, Any], attributions: int, seconds: float) -> None:
    """Add the ``top`` / ``all`` shortcuts and the cost to one example's result."""
    stages = row["stages"]
    # head + top layer(s); the head alone in a model without a layer stack
    top = next((s for s in stages if s["stage"].startswith("layer")), stages[0])
    row.update(
        top=top["spearman"],
        top_abs=top["spearman_abs"],
        all=stages[-1]["spearman"],
        all_abs=stages[-1]["spearman_abs"],
        attributions=attributions,
        seconds=seconds,
    )


@torch.no_grad()
def redraw(params: list[nn.Parameter], generator: torch.Generator) -> None:
    """Replace each tensor by Gaussian noise with the tensor's own mean and spread."""
    for p in params:
        data = p.detach().float()
        std = float(data.std()) if data.numel() > 1 else 0.0
        std = std if math.isfinite(std) and std > 0 else 0.02
        noise = torch.randn(p.shape, generator=generator) * std + float(data.mean())
        p.copy_(noise.to(p.dtype))
