"""Text classification: a pretrained encoder with a fresh classification head."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from workbench.cache import cached
from workbench.methods import get_method
from workbench.models import load_classifier, load_tokenizer, resolve_model
from workbench.tasks.base import Task

if TYPE_CHECKING:
    from workbench.config import TrainConfig
    from workbench.data import PreparedData
    from workbench.regularization import Regularizer


class TextClassification(Task):
    name = "text-classification"

    def load_model(
        self, cfg: TrainConfig, data: PreparedData, regularizers: list[Regularizer]
    ) -> tuple[torch.nn.Module, Any]:
        from transformers import AutoConfig

        source = resolve_model(cfg.model.model)
        tokenizer = load_tokenizer(source, cfg.model.trust_remote_code)
        base_config = AutoConfig.from_pretrained(
            source.path,
            local_files_only=source.local,
            trust_remote_code=cfg.model.trust_remote_code,
        )
        overrides: dict[str, Any] = {}
        for reg in regularizers:
            overrides.update(reg.model_overrides(cfg, base_config))
        key = (
            source.path,
            tuple(data.labels),
            tuple(sorted(overrides.items())),
            cfg.model.trust_remote_code,
            cfg.optim.seed,
            cfg.model.pretrained,
        )
        model = cached(
            "model",
            key,
            lambda: load_classifier(
                source, data.labels, overrides, cfg.model.trust_remote_code, cfg.model.pretrained
            ),
            copy_out=True,
        )
        if (
            getattr(model.config, "pad_token_id", None) is None
            and tokenizer.pad_token_id is not None
        ):
            model.config.pad_token_id = tokenizer.pad_token_id
        model = get_method(cfg.model.method).apply(model, cfg.model)
        return model, tokenizer

    def loss(self, outputs: Any, batch: dict[str, torch.Tensor], **options: Any) -> torch.Tensor:
        # Cross-entropy in fp32 whatever the autocast dtype: (batch, classes) logits are tiny.
        return F.cross_entropy(outputs.logits.float(), batch["labels"], **options)

    def metrics(
        self, logits: torch.Tensor, labels: torch.Tensor, label_names: list[str]
    ) -> dict[str, Any]:
        return classification_metrics(logits, labels, label_names)


def classification_metrics(
    logits: torch.Tensor, labels: torch.Tensor, label_names: list[str]
) -> dict[str, Any]:
    """Loss, accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    logits = logits.float()
    y = labels.cpu().numpy()
    pred = logits.argmax(-1).cpu().numpy()
    classes = list(range(len(label_names)))
    p, r, f1, support = precision_recall_fscore_support(y, pred, labels=classes, zero_division=0)
    return {
        "loss": float(F.cross_entropy(logits, labels).item()),
        "accuracy": float((pred == y).mean()) if len(y) else 0.0,
        "macro_f1": float(np.mean(f1)),
        "per_class": {
            name: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": confusion_matrix(y, pred, labels=classes).tolist(),
    }
