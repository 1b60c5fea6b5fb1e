"""Evaluate a classifier on a prepared loader: metrics plus per-example predictions in order.

The causal-LM task evaluates with its own :func:`workbench.tasks.causal_lm.task.lm_metrics`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from workbench.tasks.text_classification.task import TextClassification


@torch.no_grad()
def predict_loader(
    model: torch.nn.Module, loader: Any, accelerator: Any
) -> dict[str, torch.Tensor]:
    """Logits and labels for every example, in dataset order, gathered over processes."""
    was_training = model.training
    model.eval()
    logits, labels, index = [], [], []
    try:
        for batch in loader:
            with accelerator.autocast():
                out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
            # gather_for_metrics drops the samples accelerate duplicated to even out shards.
            lg, y, ix = accelerator.gather_for_metrics(
                (out.logits.float(), batch["labels"], batch["index"])
            )
            logits.append(lg.cpu())
            labels.append(y.cpu())
            index.append(ix.cpu())
    finally:
        model.train(was_training)
    order = torch.argsort(torch.cat(index))
    return {"logits": torch.cat(logits)[order], "labels": torch.cat(labels)[order]}


def evaluate(
    model: torch.nn.Module,
    loader: Any,
    accelerator: Any,
    task: TextClassification,
    label_names: list[str],
) -> dict[str, Any]:
    """Metrics dict (loss, accuracy, macro_f1, per_class, confusion_matrix) plus ``probs``."""
    out = predict_loader(model, loader, accelerator)
    metrics = task.metrics(out["logits"], out["labels"], label_names)
    metrics["probs"] = torch.softmax(out["logits"], -1)
    return metrics
