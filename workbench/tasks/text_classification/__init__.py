"""Text classification as a plugin folder: a pretrained encoder with a fresh head.

==================  ==========================================================
``task``            :class:`TextClassification`: loading, encoding, loss, metrics, finish
``batching``        tokenized splits, length-grouped batches, dynamic padding
``evaluation``      logits and labels in dataset order, metrics plus probabilities
==================  ==========================================================
"""

from __future__ import annotations

from workbench.tasks.text_classification.task import (
    TextClassification,
    classification_metrics,
    write_predictions,
)

__all__ = ["TextClassification", "classification_metrics", "write_predictions"]
