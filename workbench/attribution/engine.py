"""``explain`` and ``explain_many``: from texts to :class:`Explanation` objects.

The steps, once for every method: encode the texts and build their baselines, pin positions,
run input and baseline, pick each target (default: the predicted class), ask the method for
token scores, merge them into words, and measure trust. The model runs in eval mode and gets
its previous modes back; its weights, ``requires_grad`` flags, config and the tokenizer are
only read (gradients are taken with respect to the inputs, never accumulated into ``.grad``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from workbench.attribution.base import AttributionError, AttributionMethod, Options, Request
from workbench.attribution.explanation import Explanation
from workbench.attribution.inputs import encode, merge_to_words
from workbench.attribution.methods import get_attribution_method
from workbench.attribution.model import ExplainedModel, evaluation_mode
from workbench.attribution.sanity import randomization_check
from workbench.attribution.trust import faithfulness

Target = int | str | None
#: ``trust`` of :func:`explain`: True (all measures), False (none), or ``"faithfulness"``
#: (comprehensiveness and sufficiency only: a few forward passes, no randomized copy).
Trust = bool | str


def explain(
    model: nn.Module,
    tokenizer: Any,
    text: str,
    method: str = "layer-ig",
    target: Target = None,
    trust: Trust = True,
    max_length: int = 128,
    baseline: str = "pad",
    options: Options | None = None,
) -> Explanation:
    """Explain one prediction of a sequence classifier, word by word.

    Parameters
    ----------
    model, tokenizer:
        A Hugging Face sequence classifier (plain or ``peft``-wrapped) and its tokenizer.
    text:
        The text to explain.
    method:
        A name from ``ATTRIBUTION_METHODS`` (default ``"layer-ig"``).
    target:
        Class to explain, as label name or index; default the predicted class. Scores explain
        that class's logit.
    trust:
        Also compute comprehensiveness / sufficiency against random words and the
        randomized-model sanity check (a few more forward passes, and one attribution per
        stage of the cascade plus its control: layers + 3 with ``options.cascade="layers"``,
        4 with ``"coarse"``; see :mod:`workbench.attribution.sanity`);
        ``"faithfulness"``: the first two only (cheap enough to run during training).
    max_length:
        Tokens kept (longer texts are cut; the explanation notes it).
    baseline:
        ``"pad"`` or ``"mask"``: the token that replaces removed words.

    Returns
    -------
    Explanation
    """
    return explain_many(
        model, tokenizer, [text], method, target, trust, max_length, baseline, options=options
    )[0]


def explain_many(
    model: nn.Module,
    tokenizer: Any,
    texts: list[str],
    method: str = "layer-ig",
    target: Target = None,
    trust: Trust = True,
    max_length: int = 128,
    baseline: str = "pad",
    batch_size: int = 32,
    options: Options | None = None,
) -> list[Explanation]:
    """:func:`explain` for many texts, ``batch_size`` at a time.

    Gradient methods run each batch together (integrated gradients spread
    ``batch × n_steps`` rows over forward/backward passes of ``options.internal_batch_size``
    rows, and only the examples that have not converged get more steps); perturbation
    methods go one text at a time. The randomized-model check copies the model once per batch.
    """
    chosen = get_attribution_method(method)
    view = ExplainedModel(model, tokenizer)
    chosen.check(view)
    if trust not in (True, False, "faithfulness"):
        raise AttributionError(f"trust must be True, False or 'faithfulness'; got {trust!r}")
    opts = options or Options()
    out: list[Explanation] = []
    for start in range(0, len(texts), batch_size):
        chunk = [str(t) for t in texts[start : start + batch_size]]
        with evaluation_mode(model):
            out += _explain_batch(view, chosen, chunk, target, trust, max_length, baseline, opts)
    return out


def _explain_batch(
    view: ExplainedModel,
    method: AttributionMethod,
    texts: list[str],
    target: Target,
    trust: Trust,
    max_length: int,
    baseline: str,
    opts: Options,
) -> list[Explanation]:
    enc = encode(view.tokenizer, texts, max_length, baseline)
    empty = [t for i, t in enumerate(texts) if enc.n_words(i) == 0]
    if empty:
        raise AttributionError(f"no words to explain in {empty[0]!r}")
    notes = enc.notes + view.pin_positions(enc)
    logits = view.logits(enc.input_ids, enc)  # (batch, classes)
    base_logits = view.logits(enc.baseline_ids, enc)
    targets = [resolve_target(view.labels, target, int(row.argmax())) for row in logits]
    rows = torch.arange(len(texts))
    gaps = logits[rows, targets] - base_logits[rows, targets]
    request = Request(view, enc, targets, gaps, opts)
    attr = method.attribute(request)
    words = [merge_to_words(attr.scores[i], enc.word_index[i], enc.n_words(i)) for i in rows]
    sanity = randomization_check(method, request, words, attr.n_steps) if trust is True else None
    explanations = []
    for i in range(len(texts)):
        t = targets[i]
        probs = torch.softmax(logits[i], -1)
        predicted = int(logits[i].argmax())
        live = enc.attention_mask[i].bool()
        scores = [float(s) for s in words[i]]
        exp = Explanation(
            text=texts[i],
            words=enc.words[i],
            word_scores=scores,
            word_spans=enc.spans[i],
            tokens=enc.tokens[i],
            token_scores=attr.scores[i][live].tolist(),
            target={"label": view.labels[t], "index": t},
            predicted={"label": view.labels[predicted], "index": predicted},
            probs={view.labels[c]: float(p) for c, p in enumerate(probs)},
            method=method.name,
            signed=method.signed,
            logit=float(logits[i, t]),
            baseline_logit=float(base_logits[i, t]),
            delta=attr.delta[i],
            delta_kind=None if attr.delta[i] is None else method.delta_kind,
            n_steps=attr.n_steps[i],
            baseline=baseline,
            notes=[
                *notes,
                *_gap_note(float(gaps[i]), float(logits[i, t]), baseline),
                *attr.notes.get(i, []),
            ],
        )
        if trust:
            exp.trust = faithfulness(view, enc, i, scores, t)
            if sanity is not None:
                exp.trust["randomization"] = sanity[i]
        explanations.append(exp)
    return explanations


def _gap_note(gap: float, logit: float, baseline: str) -> list[str]:
    """A warning when the baseline scores about as high as the text itself."""
    if abs(gap) >= 0.05 * max(1.0, abs(logit)):
        return []
    return [
        f"the baseline (words replaced by the {baseline} token) gets almost the same logit "
        f"(difference {gap:+.3g}), so scores measured against it are small and say little; "
        f"try baseline={'mask' if baseline == 'pad' else 'pad'!r} or a method that does not "
        "use it (saliency, input-x-gradient)"
    ]


def resolve_target(labels: list[str], target: Target, predicted: int) -> int:
    """Class index of ``target`` (label name or index); ``predicted`` when None."""
    if target is None:
        return predicted
    if isinstance(target, str) and target in labels:
        return labels.index(target)
    if isinstance(target, int) or (isinstance(target, str) and target.strip().isdigit()):
        index = int(target)
        if 0 <= index < len(labels):
            return index
    raise AttributionError(
        f"unknown target {target!r}; choose one of {', '.join(labels)} "
        f"(or an index 0–{len(labels) - 1})"
    )
