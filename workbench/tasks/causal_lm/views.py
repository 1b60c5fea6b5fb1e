"""What the Data tab shows of instruction pairs: the first pairs and their lengths.

Plain values (no markup): ``widgets.panels.data_panel`` escapes and lays them out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.tasks.base import SPLIT_FIELDS, DataView, cleaning_rows
from workbench.tasks.causal_lm.data import InstructData, Messages, Pairs

PREVIEW_PAIRS = 5
PREVIEW_CHARS = 200
#: The data settings ``workbench.tasks.causal_lm.data.read_pairs`` reads (user pair files).
PAIR_FIELDS = {"dataset", "drop_duplicates", *SPLIT_FIELDS}


def pairs_view(data: InstructData) -> DataView:
    """The first pairs, the engine's summary, cleaning, split sizes in pairs, and the
    prompt/response lengths in words and characters (no tokenizer needed)."""
    shown = min(PREVIEW_PAIRS, len(data.train))
    return DataView(
        note=f"{data.source}: first {shown} of {len(data.train):,} training pairs "
        "(prompt → response):",
        rows=pair_rows(data.train),
        columns=["prompt", "response"],
        summary=data.summary(),
        cleaning=cleaning_rows(data.cleaning),
        splits={
            "train pairs": len(data.train),
            "val pairs": len(data.val),
            "test pairs": len(data.test),
            "answers": ", ".join(data.labels) if data.labels else "free text",
        },
        lengths=length_rows(data.train),
        lengths_note="Lengths of the training pairs. max_length counts tokens of prompt and "
        "response together, and a word is often more than one token.",
    )


def prompt_text(messages: Messages) -> str:
    """A prompt as one line: the user's words, or ``[role] content`` turns for a chat."""
    if len(messages) == 1:
        return messages[0]["content"]
    return " ".join(f"[{m['role']}] {m['content']}" for m in messages)


def shorten(text: str, max_chars: int = PREVIEW_CHARS) -> str:
    return text if len(text) <= max_chars else text[:max_chars] + "…"


def pair_rows(pairs: Pairs, count: int = PREVIEW_PAIRS) -> list[dict[str, str]]:
    """The first ``count`` pairs as table rows (not escaped: the UI's table does it)."""
    return [
        {"prompt": shorten(prompt_text(p)), "response": shorten(r)}
        for p, r in zip(pairs.prompts[:count], pairs.responses[:count], strict=True)
    ]


def length_rows(pairs: Pairs) -> list[dict[str, Any]]:
    """Min, median, 90th percentile and max length of prompts and responses, in words
    (whitespace-separated) and characters."""
    prompts = [" ".join(m["content"] for m in p) for p in pairs.prompts]
    rows: list[dict[str, Any]] = []
    for what, texts in (("prompt", prompts), ("response", pairs.responses)):
        if not texts:
            continue
        for unit, counts in (
            ("words", [len(t.split()) for t in texts]),
            ("characters", [len(t) for t in texts]),
        ):
            values = np.asarray(counts)
            rows.append(
                {
                    "length of": f"{what} ({unit})",
                    "min": int(values.min()),
                    "median": float(np.median(values)),
                    "90%": float(np.percentile(values, 90)),
                    "max": int(values.max()),
                }
            )
    return rows
