"""Tiny seeded models and a learnable toy dataset, one definition for tests and benchmarks.

Each builder saves a randomly initialized model (``torch.manual_seed(seed)`` first, so the
same call always writes the same weights) in the format its task loads, next to the
packaged MiniLM tokenizer where it needs one (real text tokenizes as for the real model):

* :func:`save_tiny_bert` — a BERT sequence classifier (2 layers of width 32 by default;
  ``bench/run.py --workload bert-base`` builds a bert-base-sized one with the same call);
* :func:`save_tiny_llama` — a 2-layer Llama causal LM with a small chat template;
* :func:`save_tiny_image` — an ``efficientnet-lite-tiny`` image classifier (two blocks of
  EfficientNet-Lite, ~50k weights) in the image task's own folder format;
* :func:`toy_frame` — a 3-class text table whose labels follow cue words;
* :func:`save_toy_pairs` — the same texts as instruction → answer pairs (JSONL).

>>> from workbench.toy import save_tiny_bert, toy_frame
>>> model_dir = save_tiny_bert("/tmp/tiny-bert")
>>> frame = toy_frame(50)   # 150 rows: text, label
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

TOY_LABELS = ("negative", "neutral", "positive")
#: A chat template short enough to read in a test's assertion.
CHAT_TEMPLATE = (
    "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}[assistant] {% endif %}"
)


def minilm_tokenizer(max_length: int = 128, chat_template: str | None = None) -> Any:
    """The packaged MiniLM tokenizer, capped at ``max_length`` tokens (a tiny model's
    position table: truncation must never index past it)."""
    from transformers import AutoTokenizer

    from workbench.models import packaged_model_dir

    tokenizer = AutoTokenizer.from_pretrained(packaged_model_dir())
    tokenizer.model_max_length = max_length
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    return tokenizer


def save_tiny_bert(
    folder: str | Path,
    *,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    intermediate: int = 64,
    positions: int = 128,
    labels: Sequence[str] = TOY_LABELS,
    seed: int = 0,
) -> Path:
    """A seeded, randomly initialized BERT classifier with MiniLM's tokenizer, saved in
    Hugging Face format (safetensors) in ``folder``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    out = Path(folder)
    tokenizer = minilm_tokenizer(max_length=positions)
    config = BertConfig(  # type: ignore[call-arg]  # num_labels reaches PretrainedConfig
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=positions,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    torch.manual_seed(seed)
    BertForSequenceClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def save_tiny_llama(
    folder: str | Path, *, chat_template: str | None = CHAT_TEMPLATE, seed: int = 0
) -> Path:
    """A seeded, randomly initialized 2-layer Llama causal LM (tied embeddings) with
    MiniLM's tokenizer and ``chat_template``, saved in Hugging Face format."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(folder)
    tokenizer = minilm_tokenizer(max_length=256, chat_template=chat_template)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.sep_token_id,
        bos_token_id=tokenizer.cls_token_id,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def save_tiny_image(
    folder: str | Path, labels: Sequence[str], *, size: int = 32, seed: int = 0
) -> Path:
    """A seeded, randomly initialized ``efficientnet-lite-tiny`` classifier for ``labels``
    at ``size`` pixels, saved as an image run's ``model/`` folder (usable as ``--model``)."""
    import torch

    from workbench.tasks.image_classification import ImageModelConfig, save_model
    from workbench.tasks.image_classification.model import new_classifier

    out = Path(folder)
    torch.manual_seed(seed)
    config = ImageModelConfig("efficientnet-lite-tiny", list(labels), size)
    save_model(new_classifier(config, None), out)
    return out


def toy_frame(n_per_class: int = 50, seed: int = 0) -> Any:
    """A learnable 3-class text dataset (pandas): each class has its own cue words plus
    shared noise words and a unique token."""
    import random

    import pandas as pd

    rng = random.Random(seed)
    cues = {
        "negative": ["awful", "terrible", "hate", "broken", "worst"],
        "neutral": ["table", "monday", "report", "schedule", "paper"],
        "positive": ["great", "love", "wonderful", "best", "happy"],
    }
    noise = ["the", "a", "car", "today", "really", "this", "is", "my", "and", "so"]
    rows = []
    for label, words in cues.items():
        for i in range(n_per_class):
            text = " ".join(rng.sample(noise, 4) + rng.sample(words, 2) + [f"w{i}"])
            rows.append({"text": text, "label": label})
    rng.shuffle(rows)
    return pd.DataFrame(rows)


def save_toy_pairs(path: str | Path, n_per_class: int = 20) -> Path:
    """JSONL with instruction/input/output columns built from :func:`toy_frame` (the
    causal-LM task learns to answer each text's label)."""
    import json

    out = Path(path)
    frame = toy_frame(n_per_class)
    with open(out, "w", encoding="utf-8") as f:
        for text, label in zip(frame["text"], frame["label"], strict=True):
            row = {"instruction": "Classify the text.", "input": text, "output": label}
            f.write(json.dumps(row) + "\n")
    return out
