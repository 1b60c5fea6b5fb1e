"""Models: the catalog, offline-safe resolution and loading (see ``loading``)."""

from workbench.models.catalog import (
    CATALOG,
    PACKAGED_MODEL,
    CatalogEntry,
    estimate_training_memory,
    packaged_model_dir,
)
from workbench.models.listing import describe_catalog
from workbench.models.loading import (
    ModelSource,
    load_causal_lm,
    load_classifier,
    load_tokenizer,
    resolve_model,
)

__all__ = [
    "CATALOG",
    "PACKAGED_MODEL",
    "CatalogEntry",
    "ModelSource",
    "describe_catalog",
    "estimate_training_memory",
    "load_causal_lm",
    "load_classifier",
    "load_tokenizer",
    "packaged_model_dir",
    "resolve_model",
]
