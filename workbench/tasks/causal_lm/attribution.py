"""Which prompt words drove a causal LM's answer: Captum's LLM attribution.

Two methods, both explaining the log-probability of each answer token:

* ``feature-ablation`` — :class:`captum.attr.LLMAttribution` over
  :class:`~captum.attr.FeatureAblation` with a :class:`~captum.attr.TextTemplateInput`:
  each prompt word is removed in turn and the drop in the answer's log-probability is its
  score (one forward pass per word).
* ``layer-ig`` — :class:`captum.attr.LLMGradientAttribution` over
  :class:`~captum.attr.LayerIntegratedGradients` on the input embeddings: gradients along
  a path from a baseline token to the prompt, summed over the embedding and then over the
  tokens of each word (template tokens such as ``<|im_start|>`` are left out).

The answer explained is the model's own greedy answer unless one is given. For a peft
model, :func:`compare_base_tuned` explains the same answer with the adapter switched off
(the pretrained model) and on, to be drawn on one shared colour scale.

Captum is imported inside the functions: importing it loads plotting modules that the
engine must not pull in at import time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import torch

from workbench.errors import UserError

LLM_METHODS = ("layer-ig", "feature-ablation")


@dataclass
class LMExplanation:
    """Scores of prompt words (columns of ``matrix``) for each answer token (rows)."""

    prompt: str
    words: list[str]
    answer: str
    answer_tokens: list[str]
    #: (answer tokens, prompt words): contribution of each word to each token's log-prob.
    matrix: list[list[float]]
    method: str
    model_label: str = "fine-tuned"
    notes: list[str] = field(default_factory=list)

    @property
    def totals(self) -> list[float]:
        """Per word: its summed contribution to the whole answer's log-probability."""
        return [sum(row[j] for row in self.matrix) for j in range(len(self.words))]

    @property
    def scale(self) -> float:
        return max((abs(v) for row in self.matrix for v in row), default=0.0)

    def top_words(self, n: int = 10) -> list[tuple[str, float]]:
        pairs = list(zip(self.words, self.totals, strict=True))
        return sorted(pairs, key=lambda p: -abs(p[1]))[:n]

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "words": self.words,
            "answer": self.answer,
            "answer_tokens": self.answer_tokens,
            "matrix": self.matrix,
            "totals": self.totals,
            "method": self.method,
            "model": self.model_label,
            "notes": self.notes,
        }


def prompt_words(prompt: str) -> list[tuple[str, int, int]]:
    """Whitespace-separated words of ``prompt`` with their character spans."""
    return [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", prompt)]


def explain_answer(
    model: Any,
    tokenizer: Any,
    prompt: str,
    answer: str | None = None,
    method: str = "layer-ig",
    n_steps: int = 16,
    max_new_tokens: int = 16,
    model_label: str = "fine-tuned",
) -> LMExplanation:
    """Attribute ``answer`` (default: the model's greedy answer) to the words of ``prompt``.

    Parameters
    ----------
    model, tokenizer
        A causal LM (plain or peft) and its tokenizer.
    prompt
        The user's message; it is rendered with the chat template as in training.
    answer
        The answer to explain; ``None`` explains what the model itself answers.
    method
        ``layer-ig`` or ``feature-ablation``.
    n_steps
        Integration steps of layer-ig (more: closer to the exact integral, slower).
    """
    from workbench.tasks.causal_lm.generation import generate_answers

    if method not in LLM_METHODS:
        raise UserError(
            f"unknown method {method!r} for a causal LM; choose {', '.join(LLM_METHODS)}"
        )
    if not prompt.strip():
        raise UserError("nothing to explain: the prompt is empty")
    words = prompt_words(prompt)
    if answer is None:
        (answer,) = generate_answers(
            model, tokenizer, [[{"role": "user", "content": prompt}]], max_new_tokens
        )
    target = tokenizer(answer, add_special_tokens=False)["input_ids"]
    if not target:
        raise UserError(
            "the answer to explain is empty (the model answered nothing); give one with --answer"
        )
    was_training = model.training
    model.eval()
    try:
        if method == "feature-ablation":
            matrix = _ablation(model, tokenizer, prompt, words, target)
        else:
            matrix = _layer_ig(model, tokenizer, prompt, words, target, n_steps)
    finally:
        model.train(was_training)
    return LMExplanation(
        prompt=prompt,
        words=[w for w, _, _ in words],
        answer=answer,
        answer_tokens=[tokenizer.decode([t]) for t in target],
        matrix=matrix,
        method=method,
        model_label=model_label,
    )


def _rendered(tokenizer: Any, prompt: str) -> tuple[str, int]:
    """The chat-rendered prompt and where the user's text starts in it."""
    from workbench.tasks.causal_lm.batching import render_prompt

    text = render_prompt(tokenizer, [{"role": "user", "content": prompt}])
    start = text.rfind(prompt)
    if start < 0:
        raise UserError("the chat template changes the prompt text; cannot locate its words")
    return text, start


def _ablation(
    model: Any, tokenizer: Any, prompt: str, words: list[tuple[str, int, int]], target: list[int]
) -> list[list[float]]:
    from captum.attr import FeatureAblation, LLMAttribution, TextTemplateInput

    text, start = _rendered(tokenizer, prompt)
    # The rendered prompt as a template: each word a "{}" slot, everything else literal.
    pieces, cursor = [], 0
    for _, a, b in words:
        pieces.append(_brace(text[cursor : start + a]) + "{}")
        cursor = start + b
    template = "".join(pieces) + _brace(text[cursor:])
    inp = TextTemplateInput(template, values=[w for w, _, _ in words])
    attr = LLMAttribution(FeatureAblation(model), tokenizer)
    result = attr.attribute(inp, target=torch.tensor(target))
    return _as_rows(result.token_attr, len(target), len(words))


def _brace(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _layer_ig(
    model: Any,
    tokenizer: Any,
    prompt: str,
    words: list[tuple[str, int, int]],
    target: list[int],
    n_steps: int,
) -> list[list[float]]:
    from captum.attr import LayerIntegratedGradients, LLMGradientAttribution, TextTokenInput

    text, start = _rendered(tokenizer, prompt)
    inp = TextTokenInput(text, tokenizer)
    embeddings = model.get_input_embeddings()
    attr = LLMGradientAttribution(LayerIntegratedGradients(model, embeddings), tokenizer)
    result = attr.attribute(inp, target=torch.tensor(target), n_steps=n_steps)
    per_token = result.token_attr  # (answer tokens, prompt tokens)
    # Which word each prompt token belongs to, from the tokenizer's character offsets.
    offsets = tokenizer(text, return_offsets_mapping=True)["offset_mapping"]
    if len(offsets) != per_token.shape[1]:
        raise RuntimeError("token offsets do not line up with captum's prompt tokens")
    owner = []
    for a, b in offsets:
        hit = next(
            (j for j, (_, ws, we) in enumerate(words) if b > a and start + ws <= a < start + we),
            None,
        )
        owner.append(hit)
    scores = torch.zeros(len(target), len(words), dtype=torch.float64)
    for t, j in enumerate(owner):
        if j is not None:
            scores[:, j] += per_token[:, t].double().cpu()
    return scores.tolist()


def _as_rows(token_attr: Any, n_out: int, n_words: int) -> list[list[float]]:
    if token_attr is None:
        raise RuntimeError("captum returned no per-token attributions")
    t = torch.as_tensor(token_attr).double().cpu().reshape(n_out, n_words)
    return t.tolist()


def compare_base_tuned(
    model: Any,
    tokenizer: Any,
    prompt: str,
    answer: str | None = None,
    method: str = "layer-ig",
    n_steps: int = 16,
) -> list[LMExplanation]:
    """The same answer explained with the adapter off (base) and on (fine-tuned).

    The answer defaults to the fine-tuned model's greedy answer, so both panels explain
    the log-probability of the very same tokens. Needs a peft model.
    """
    from workbench.tasks.causal_lm.generation import base_model_of

    if not hasattr(model, "disable_adapter"):
        raise UserError(
            "base vs fine-tuned needs an adapter (lora or ia3 run); a full fine-tune keeps no "
            "base weights to switch back to"
        )
    tuned = explain_answer(model, tokenizer, prompt, answer, method, n_steps)
    with base_model_of(model) as base:
        before = explain_answer(base, tokenizer, prompt, tuned.answer, method, n_steps, 16, "base")
    return [before, tuned]
