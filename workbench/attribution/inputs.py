"""Encoded texts, their baselines, and the words their tokens belong to.

An attribution compares an input with a *baseline*: the same sequence with every ordinary
token replaced by the pad (or mask) token. Special tokens (``[CLS]``/``[SEP]``, ``<s>``/``</s>``,
found through the tokenizer's ``special_tokens_mask``) stay, and the baseline runs with the
input's own attention mask, token type ids and position ids, so the only thing that differs
between input and baseline is *which words are there*.

Words come from the fast tokenizer: ``word_ids()`` says which word each sub-word token belongs
to and ``offset_mapping`` where it sits in the text. Scores of the sub-words of one word are
summed (sign kept), and perturbation methods remove a word by replacing all its tokens at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from workbench.attribution.base import AttributionError

BASELINE_TOKENS = ("pad", "mask")


@dataclass
class Encoded:
    """A batch of texts, tokenized and padded, with baselines and word groups.

    Tensors are ``(batch, tokens)``. ``word_index`` is the word (0, 1, …) of each token, -1 for
    special and padding tokens. ``extra`` holds further model inputs (``token_type_ids``,
    ``position_ids``) shared by input and baseline.
    """

    texts: list[str]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    baseline_ids: torch.Tensor
    special: torch.Tensor  # bool: special or padding token, kept in every baseline
    word_index: torch.Tensor
    words: list[list[str]]
    spans: list[list[tuple[int, int]]]
    tokens: list[list[str]]
    extra: dict[str, torch.Tensor] = field(default_factory=dict)
    truncated: list[bool] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def select(self, rows: list[int]) -> Encoded:
        """The examples at ``rows`` (a sub-batch), same tensors sliced."""
        idx = torch.tensor(rows, dtype=torch.long)
        return replace(
            self,
            texts=[self.texts[i] for i in rows],
            input_ids=self.input_ids[idx],
            attention_mask=self.attention_mask[idx],
            baseline_ids=self.baseline_ids[idx],
            special=self.special[idx],
            word_index=self.word_index[idx],
            words=[self.words[i] for i in rows],
            spans=[self.spans[i] for i in rows],
            tokens=[self.tokens[i] for i in rows],
            extra={k: v[idx] for k, v in self.extra.items()},
            truncated=[self.truncated[i] for i in rows],
        )

    def feature_mask(self) -> torch.Tensor:
        """Word groups for perturbation methods: ``(batch, tokens)``, one id per word.

        Special/padding tokens form group 0, whose baseline equals the input (removing it
        changes nothing); word ``w`` is group ``w + 1``. Captum wants ids 0..n-1 per example.
        """
        return self.word_index + 1

    def n_words(self, row: int) -> int:
        return len(self.words[row])


def baseline_token_id(tokenizer: Any, kind: str = "pad") -> int:
    """Id of the token that stands for "no word here" in baselines and removals."""
    if kind not in BASELINE_TOKENS:
        raise AttributionError(
            f"unknown baseline token {kind!r}; choose one of {', '.join(BASELINE_TOKENS)}"
        )
    first = tokenizer.pad_token_id if kind == "pad" else tokenizer.mask_token_id
    for candidate in (
        first,
        tokenizer.pad_token_id,
        tokenizer.mask_token_id,
        tokenizer.unk_token_id,
    ):
        if candidate is not None:
            return int(candidate)
    raise AttributionError(
        f"{type(tokenizer).__name__} has no pad, mask or unk token to build a baseline from"
    )


def encode(
    tokenizer: Any,
    texts: list[str],
    max_length: int = 128,
    baseline: str = "pad",
) -> Encoded:
    """Tokenize ``texts`` (padded to one length) and build baselines and word groups."""
    if not texts:
        raise AttributionError("no text to explain")
    base_id = baseline_token_id(tokenizer, baseline)
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 1_000_000:  # unset limits are huge sentinels
        max_length = min(max_length, limit)
    kwargs: dict[str, Any] = {
        "truncation": True,
        "max_length": max_length,
        "return_special_tokens_mask": True,
        "return_tensors": "pt",
        "padding": len(texts) > 1,
    }
    fast = bool(getattr(tokenizer, "is_fast", False))
    with _backend_settings_kept(tokenizer):
        enc = tokenizer(list(texts), return_offsets_mapping=fast, **kwargs)
    ids = enc["input_ids"]
    mask = enc.get("attention_mask", torch.ones_like(ids))
    special = enc["special_tokens_mask"].bool() | (mask == 0)
    notes = (
        []
        if fast
        else ["slow tokenizer: no word boundaries, so every sub-word token counts as a word"]
    )
    word_index = torch.full_like(ids, -1)
    words, spans, tokens, truncated = [], [], [], []
    for row, text in enumerate(texts):
        toks = [str(t) for t in tokenizer.convert_ids_to_tokens(ids[row].tolist())]
        w, s, wi = _words_of_row(enc, row, text, special[row], toks, fast)
        word_index[row] = wi
        words.append(w)
        spans.append(s)
        tokens.append([t for t, live in zip(toks, mask[row].tolist(), strict=True) if live])
        truncated.append(_is_truncated(text, s, fast))
    if any(truncated):
        notes.append(f"text longer than {max_length} tokens: words past the cut are not scored")
    extra = {"token_type_ids": enc["token_type_ids"]} if "token_type_ids" in enc else {}
    return Encoded(
        texts=list(texts),
        input_ids=ids,
        attention_mask=mask,
        baseline_ids=torch.where(special, ids, torch.full_like(ids, base_id)),
        special=special,
        word_index=word_index,
        words=words,
        spans=spans,
        tokens=tokens,
        extra=extra,
        truncated=truncated,
        notes=notes,
    )


@contextmanager
def _backend_settings_kept(tokenizer: Any) -> Iterator[None]:
    """Calling a fast tokenizer rewrites its backend's truncation and padding settings;
    put the user's back, so that explaining leaves the tokenizer exactly as it was."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        yield
        return
    truncation, padding = backend.truncation, backend.padding
    try:
        yield
    finally:
        if truncation is None:
            backend.no_truncation()
        else:
            backend.enable_truncation(**truncation)
        if padding is None:
            backend.no_padding()
        else:
            backend.enable_padding(**padding)


def _words_of_row(
    enc: Any, row: int, text: str, special: torch.Tensor, toks: list[str], fast: bool
) -> tuple[list[str], list[tuple[int, int]], torch.Tensor]:
    """Words of one example, their character spans, and each token's word (-1: none)."""
    n = special.shape[0]
    word_index = torch.full((n,), -1, dtype=torch.long)
    if not fast:  # no offsets: each ordinary token is its own "word"
        words: list[str] = []
        for t in range(n):
            if not special[t]:
                word_index[t] = len(words)
                words.append(str(toks[t]))
        return words, [(-1, -1)] * len(words), word_index
    offsets = enc["offset_mapping"][row].tolist()
    order: dict[int, int] = {}
    spans: list[tuple[int, int]] = []
    for t, wid in enumerate(enc.word_ids(row)):
        if wid is None or special[t]:
            continue
        start, end = offsets[t]
        if wid not in order:
            order[wid] = len(spans)
            spans.append((start, end))
        k = order[wid]
        spans[k] = (min(spans[k][0], start), max(spans[k][1], end))
        word_index[t] = k
    return [text[a:b].strip() or text[a:b] for a, b in spans], spans, word_index


def _is_truncated(text: str, spans: list[tuple[int, int]], fast: bool) -> bool:
    if not fast or not spans:
        return False
    return bool(text[spans[-1][1] :].strip())


def merge_to_words(
    token_scores: torch.Tensor, word_index: torch.Tensor, n_words: int
) -> torch.Tensor:
    """Sum token scores into word scores (sign kept): ``(tokens,) -> (n_words,)``."""
    keep = word_index >= 0
    out = torch.zeros(n_words, dtype=token_scores.dtype)
    return out.index_add_(0, word_index[keep], token_scores[keep])
