"""Prompt/response pairs as token ids for causal-LM training: masking, packing, padding.

Each example is ``prompt tokens + response tokens + end token``. The loss is taken on the
response (and its end token) only: prompt positions carry the label ``-100``, which
cross-entropy ignores — the model learns to answer, not to reproduce the question.

Packing puts several short examples into one row of at most ``max_length`` tokens and
restarts ``position_ids`` at 0 for each; transformers then builds a block-diagonal causal
mask from the position ids (``masking_utils.find_packed_sequence_indices``), so examples
in one row never attend to each other.

Only the positions that predict a response token are scored, so only their logits are
computed (:func:`answer_mask`, passed as ``logits_to_keep``): with answers a few tokens
long, projecting every prompt position onto the vocabulary (49k entries for SmolLM2) and
upcasting those logits to fp32 was a fifth of the step's arithmetic, spent on nothing.
"""

from __future__ import annotations

import bisect
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset

from workbench.errors import ModelError
from workbench.tasks.causal_lm.data import Messages, Pairs

IGNORE = -100  # the label cross-entropy skips (``ignore_index``)


@dataclass
class LMEncoded(Dataset[dict[str, Any]]):
    """Token ids and per-token labels of one split (``position_ids`` only when packed)."""

    input_ids: list[list[int]]
    labels: list[list[int]]
    position_ids: list[list[int]] | None = None

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item: dict[str, Any] = {
            "input_ids": self.input_ids[i],
            "labels": self.labels[i],
            "index": i,
        }
        if self.position_ids is not None:
            item["position_ids"] = self.position_ids[i]
        return item

    @property
    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.input_ids]


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def render_prompt(tokenizer: Any, messages: Messages) -> str:
    """The prompt as text, ending where the assistant's answer begins.

    With a chat template (instruct models) the template renders it; otherwise a plain
    ``Role: text`` transcript ending in ``Assistant:``.
    """
    if has_chat_template(tokenizer):
        return str(
            tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        )
    lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n".join(lines) + "\nAssistant:"


def end_token_id(tokenizer: Any) -> int:
    """The token that ends an answer: EOS (``<|im_end|>`` for chat models), else SEP."""
    for name in ("eos_token_id", "sep_token_id"):
        value = getattr(tokenizer, name, None)
        if isinstance(value, int):
            return value
    raise ModelError("the tokenizer has neither an EOS nor a SEP token to end an answer with")


def prompt_ids(tokenizer: Any, messages_list: Sequence[Messages]) -> list[list[int]]:
    """Token ids of rendered prompts, with the BOS token when the tokenizer has one and the
    template did not already write it."""
    texts = [render_prompt(tokenizer, m) for m in messages_list]
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    bos = getattr(tokenizer, "bos_token_id", None)
    if isinstance(bos, int):
        ids = [row if row[:1] == [bos] else [bos, *row] for row in ids]
    return [list(row) for row in ids]


def encode_pairs(tokenizer: Any, pairs: Pairs, max_length: int) -> LMEncoded:
    """Tokenize prompts and responses; mask the prompt; truncate to ``max_length``.

    Too long an example keeps its response (up to half the budget) and the *end* of its
    prompt, where the question meets the answer.
    """
    prompts = prompt_ids(tokenizer, pairs.prompts)
    answers = tokenizer(list(pairs.responses), add_special_tokens=False)["input_ids"]
    end = end_token_id(tokenizer)
    input_ids, labels = [], []
    for p, a in zip(prompts, answers, strict=True):
        r = [*list(a)[: max(1, max_length // 2) - 1], end]
        p = p[-(max_length - len(r)) :] if len(p) + len(r) > max_length else p
        input_ids.append(p + r)
        labels.append([IGNORE] * len(p) + r)
    return LMEncoded(input_ids, labels)


def pack(encoded: LMEncoded, max_length: int) -> LMEncoded:
    """Pack examples into rows of at most ``max_length`` tokens, as full as possible.

    Best-fit decreasing: the longest examples are placed first, each into the row whose
    free space it fills most tightly (a new row when none has room). Rows come out nearly
    full, so a batch of rows pads little; within a row the examples keep their original
    order, and each restarts its ``position_ids`` at 0.
    """
    lengths = encoded.lengths
    members: list[list[int]] = []  # example indices of each row
    free: list[tuple[int, int]] = []  # (free tokens, row), sorted: the tightest fit first
    for i in sorted(range(len(lengths)), key=lambda k: (-lengths[k], k)):
        slot = bisect.bisect_left(free, (lengths[i], -1))
        if slot < len(free):
            space, row = free.pop(slot)
        else:
            space, row = max_length, len(members)
            members.append([])
        members[row].append(i)
        if space - lengths[i] > 0:
            bisect.insort(free, (space - lengths[i], row))
    rows, labels, positions = [], [], []
    for row_members in members:
        order = sorted(row_members)
        rows.append([t for i in order for t in encoded.input_ids[i]])
        labels.append([t for i in order for t in encoded.labels[i]])
        positions.append([p for i in order for p in range(lengths[i])])
    return LMEncoded(rows, labels, positions)


def answer_mask(labels: torch.Tensor) -> torch.Tensor:
    """(batch, tokens) bool: True where position t predicts a scored token (label t+1).

    The shape transformers' ``logits_to_keep`` takes as a boolean mask: the model then
    projects only those positions onto the vocabulary, flattened to (kept, vocab).
    """
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE
    return keep


def scored_logits(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The logits of scored positions in fp32 (kept, vocab), their targets (kept,) and the
    batch row each came from (kept,), in row-major order.

    ``logits`` are either the model's full (batch, tokens, vocab) output or the flattened
    (kept, vocab) one it returns when given :func:`answer_mask` as ``logits_to_keep``.
    """
    keep = answer_mask(labels)
    target = labels[:, 1:][keep[:, :-1]]
    rows = keep.nonzero()[:, 0]
    if logits.dim() == 3:
        logits = logits[keep]
    if logits.shape[0] != target.shape[0]:
        raise ValueError(f"{logits.shape[0]} scored logits for {target.shape[0]} targets")
    return logits.float(), target, rows


def keeps_logits(model: torch.nn.Module) -> bool:
    """Whether ``model`` (a peft or accelerate wrapper too) takes ``logits_to_keep``."""
    inner: Any = getattr(model, "module", model)  # DistributedDataParallel
    if hasattr(inner, "get_base_model"):  # peft
        inner = inner.get_base_model()
    try:
        return "logits_to_keep" in inspect.signature(inner.forward).parameters
    except (TypeError, ValueError):
        return False


class LMCollator:
    """Right-pad a batch: ``input_ids`` with the pad id, ``labels`` with -100 (batch, tokens).

    Packed rows also get ``position_ids``; their padding counts as one more sequence
    (positions restart at 0), so real tokens never attend to it.
    """

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(e["input_ids"]) for e in examples)
        n = len(examples)
        ids = torch.full((n, width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((n, width), IGNORE, dtype=torch.long)
        mask = torch.zeros((n, width), dtype=torch.long)
        packed = "position_ids" in examples[0]
        positions = torch.zeros((n, width), dtype=torch.long)
        for row, e in enumerate(examples):
            k = len(e["input_ids"])
            ids[row, :k] = torch.tensor(e["input_ids"], dtype=torch.long)
            labels[row, :k] = torch.tensor(e["labels"], dtype=torch.long)
            mask[row, :k] = 1
            if packed:
                positions[row, :k] = torch.tensor(e["position_ids"], dtype=torch.long)
                positions[row, k:] = torch.arange(width - k)
        batch = {
            "input_ids": ids,
            "attention_mask": mask,
            "labels": labels,
            "index": torch.tensor([e.get("index", -1) for e in examples], dtype=torch.long),
        }
        if packed:
            batch["position_ids"] = positions
        return batch
