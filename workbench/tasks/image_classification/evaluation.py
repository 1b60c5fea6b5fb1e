"""Evaluate an image classifier: metrics, per-image predictions, the misclassified ones.

Metrics are the text classifier's (:func:`~workbench.tasks.text_classification.task.
classification_metrics`: loss, accuracy, macro-F1, per-class precision/recall/F1, confusion
matrix), computed from logits gathered in dataset order. ``test_predictions.jsonl`` has one
line per test image: where the image is (a file path, or ``dataset#row`` for a built-in),
its true and predicted class and the class probabilities — everything the Evaluate view's
confusion matrix and misclassified-image grid need, read back by :func:`read_predictions`.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

PREDICTIONS_FILE = "test_predictions.jsonl"


@torch.no_grad()
def predict_logits(
    model: torch.nn.Module, loader: Any, accelerator: Any = None
) -> dict[str, torch.Tensor]:
    """Logits and labels of every example of ``loader``, in dataset order.

    With an Accelerator: its autocast, and predictions gathered over processes (samples it
    duplicated to even out shards dropped). Without (an exported model): plain CPU/GPU.
    """
    was_training = model.training
    model.eval()
    logits: list[torch.Tensor] = []
    labels: list[torch.Tensor] = []
    index: list[torch.Tensor] = []
    autocast = accelerator.autocast if accelerator is not None else contextlib.nullcontext
    device = next(model.parameters()).device
    try:
        for batch in loader:
            if accelerator is None:
                batch = {k: v.to(device) for k, v in batch.items()}
            with autocast():
                out = model(batch["pixel_values"])
            got = (out.float(), batch["labels"], batch["index"])
            if accelerator is not None:
                got = accelerator.gather_for_metrics(got)
            for bucket, value in zip((logits, labels, index), got, strict=True):
                bucket.append(value.cpu())
    finally:
        model.train(was_training)
    order = torch.argsort(torch.cat(index))
    return {"logits": torch.cat(logits)[order], "labels": torch.cat(labels)[order]}


def evaluate_images(
    model: torch.nn.Module, loader: Any, labels: list[str], accelerator: Any = None
) -> dict[str, Any]:
    """Metrics on ``loader`` plus ``probs`` ``(examples, classes)`` in dataset order."""
    from workbench.tasks.text_classification.task import classification_metrics

    out = predict_logits(model, loader, accelerator)
    metrics = classification_metrics(out["logits"], out["labels"], labels)
    metrics["probs"] = torch.softmax(out["logits"], -1)
    return metrics


def write_predictions(path: Path, split: Any, labels: list[str], probs: torch.Tensor) -> None:
    """One JSON line per test image: image, index, label, predicted, confidence, probs."""
    with open(path, "w", encoding="utf-8") as f:
        rows = zip(split.ids, split.labels, probs.tolist(), strict=True)
        for i, (ref, y, row) in enumerate(rows):
            pred = int(np.argmax(row))
            record = {
                "image": ref,
                "index": i,
                "label": labels[y],
                "predicted": labels[pred],
                "confidence": row[pred],
                "probs": row,
            }
            f.write(json.dumps(record) + "\n")


def read_predictions(run_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of a run's ``test_predictions.jsonl`` ([] when the run has none)."""
    path = Path(run_dir) / PREDICTIONS_FILE
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def misclassified(run_dir: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The wrongly classified test images of a run, most confident mistakes first.

    Each row is a ``test_predictions.jsonl`` record; load its pixels with
    :func:`workbench.tasks.image_classification.image_of` (``row["image"]``).
    """
    wrong = [r for r in read_predictions(run_dir) if r["label"] != r["predicted"]]
    wrong.sort(key=lambda r: -float(r["confidence"]))
    return wrong[:limit] if limit is not None else wrong
