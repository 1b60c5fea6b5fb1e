"""Prompt → response pairs for instruction tuning a causal language model.

Two kinds of input:

* a **derived** built-in dataset such as ``tweets-sentiment-instruct``: the classification
  dataset it comes from is cleaned and split exactly as a classifier run with the same
  settings and seed would see it, then every text becomes a prompt ("Classify the
  sentiment of this tweet …") and its label the answer — so a fine-tuned classifier and a
  fine-tuned LLM can be compared on the same test split;
* **user data** (JSONL/JSON/CSV/Parquet, a DataFrame …) with ``instruction`` / ``input``
  / ``output`` columns (also ``prompt``/``response``, ``question``/``answer``), or a chat
  ``messages`` column (a list of ``{"role", "content"}``; the last assistant turn is the
  response, everything before it the prompt).

Prompts are kept as chat messages; the task renders them with the model's chat template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.config import DataConfig
from workbench.errors import DataError

Messages = list[dict[str, str]]

PROMPT_COLUMNS = (
    ("instruction", "input", "output"),
    ("prompt", None, "response"),
    ("question", None, "answer"),
    ("prompt", None, "completion"),
)


@dataclass(frozen=True)
class Pairs:
    """One split: prompts (as chat messages) and the responses to learn."""

    prompts: list[Messages]
    responses: list[str]
    #: Class index of each response for a derived classification dataset, else empty.
    labels: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.responses)

    @property
    def texts(self) -> list[str]:
        """The user's words of each prompt (the last user message)."""
        return [last_user(m) for m in self.prompts]


@dataclass(frozen=True)
class InstructData:
    """Cleaned, split prompt/response pairs and how they were made."""

    train: Pairs
    val: Pairs
    test: Pairs
    #: Answer classes of a derived classification dataset (exact-match per class), else [].
    labels: list[str]
    cleaning: list[dict]
    source: str
    columns: str

    def summary(self) -> str:
        lines = [f"Data:     {self.source}", f"Columns:  {self.columns}"]
        for step in self.cleaning:
            lines.append(f"  {step['step']}: removed {step['removed']}, {step['rows_after']} left")
        lines.append(
            "Splits:   " + " · ".join(f"{s} {len(getattr(self, s)):,}" for s in SPLIT_NAMES)
        )
        if self.labels:
            lines.append("Answers:  " + ", ".join(self.labels))
        return "\n".join(lines)


SPLIT_NAMES = ("train", "val", "test")


def last_user(messages: Messages) -> str:
    users = [m["content"] for m in messages if m.get("role") == "user"]
    return users[-1] if users else (messages[-1]["content"] if messages else "")


def classification_prompt(template: str, text: str) -> Messages:
    return [{"role": "user", "content": template.format(text=text)}]


def derive_pairs(cfg: DataConfig, seed: int, base: str, template: str) -> InstructData:
    """Prompt/answer pairs from the classification dataset ``base``, same cleaning and split."""
    from dataclasses import replace

    from workbench.data.prepare import prepare_data

    data = prepare_data(replace(cfg, dataset=base), seed)

    def pairs(split: Any) -> Pairs:
        return Pairs(
            [classification_prompt(template, t) for t in split.texts],
            [data.labels[y] for y in split.labels],
            list(split.labels),
        )

    return InstructData(
        pairs(data.train),
        pairs(data.val),
        pairs(data.test),
        list(data.labels),
        data.cleaning,
        f"{cfg.dataset} (from {data.source})",
        f"prompt from {data.text_column!r}, answer from {data.label_column!r}",
    )


def read_pairs(cfg: DataConfig, seed: int, source: Any = None) -> InstructData:
    """Read user prompt/response data, drop empty and duplicate pairs, split with ``seed``."""
    from workbench.data.sources import read_source

    raw, description = read_source(cfg.dataset if source is None else source)
    prompts, responses, columns = _pairs_from_frame(raw)
    rows = len(responses)
    keep = [i for i in range(rows) if responses[i].strip() and last_user(prompts[i]).strip()]
    report = [
        {"step": "drop empty", "removed": rows - len(keep), "changed": 0, "rows_after": len(keep)}
    ]
    if cfg.drop_duplicates:
        seen: set[str] = set()
        unique = []
        for i in keep:
            key = json.dumps([prompts[i], responses[i]], sort_keys=True)
            if key not in seen:
                seen.add(key)
                unique.append(i)
        report.append(
            {
                "step": "drop duplicates",
                "removed": len(keep) - len(unique),
                "changed": 0,
                "rows_after": len(unique),
            }
        )
        keep = unique
    order = np.random.default_rng(seed).permutation(len(keep))
    n_test = max(1, round(cfg.test_fraction * len(keep)))
    n_val = max(1, round(cfg.val_fraction * len(keep)))
    if len(keep) - n_test - n_val < 1:
        raise DataError(
            f"{description} has {len(keep)} usable prompt/response pairs after cleaning; "
            "need at least 3 to split into train/val/test"
        )
    parts = {
        "test": order[:n_test],
        "val": order[n_test : n_test + n_val],
        "train": order[n_test + n_val :],
    }
    caps = {
        "train": cfg.max_train_samples,
        "val": cfg.max_eval_samples,
        "test": cfg.max_eval_samples,
    }
    splits = {
        name: Pairs(
            [prompts[keep[j]] for j in idx[: caps[name]]],
            [responses[keep[j]] for j in idx[: caps[name]]],
        )
        for name, idx in parts.items()
    }
    return InstructData(
        splits["train"], splits["val"], splits["test"], [], report, description, columns
    )


def _pairs_from_frame(frame: pd.DataFrame) -> tuple[list[Messages], list[str], str]:
    names = {str(c).strip().lower(): str(c) for c in frame.columns}
    if "messages" in names:
        column = names["messages"]
        out = [_split_chat(v, i, column) for i, v in enumerate(frame[column].tolist())]
        return [p for p, _ in out], [r for _, r in out], f"chat {column!r}"
    for instruction, extra, output in PROMPT_COLUMNS:
        if instruction in names and output in names:
            ins = [_text(v) for v in frame[names[instruction]].tolist()]
            add = (
                [_text(v) for v in frame[names[extra]].tolist()]
                if extra and extra in names
                else [""] * len(ins)
            )
            prompts = [
                [{"role": "user", "content": f"{a}\n\n{b}" if b.strip() else a}]
                for a, b in zip(ins, add, strict=True)
            ]
            used = [names[instruction]] + ([names[extra]] if extra and extra in names else [])
            columns = f"prompt from {', '.join(map(repr, used))}, response from {names[output]!r}"
            return prompts, [_text(v) for v in frame[names[output]].tolist()], columns
    raise DataError(
        "causal-lm data needs instruction/input/output columns (or prompt/response, "
        "question/answer) or a chat 'messages' column; columns: "
        + ", ".join(repr(str(c)) for c in frame.columns)
    )


def _split_chat(value: Any, row: int, column: str) -> tuple[Messages, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DataError(f"row {row + 1}: {column!r} is not a JSON list of messages") from None
    if hasattr(value, "tolist"):  # numpy array from parquet
        value = value.tolist()
    ok = isinstance(value, list) and all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and "content" in m for m in value
    )
    if not ok:
        raise DataError(
            f"row {row + 1}: {column!r} must be a list of {{'role': ..., 'content': ...}} objects"
        )
    turns = [{"role": m["role"], "content": _text(m["content"])} for m in value]
    last = max((i for i, m in enumerate(turns) if m["role"] == "assistant"), default=None)
    if last is None or last == 0:
        raise DataError(
            f"row {row + 1}: {column!r} needs an assistant message after at least one other "
            "message (the assistant's last turn is what the model learns to answer)"
        )
    return turns[:last], turns[last]["content"]


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)
