"""Dropout rates of the encoder and head, written into the model config before loading.

Architectures name them differently (BERT ``hidden_dropout_prob``, DistilBERT ``dropout``,
RoBERTa as BERT, ...); we set every name the model's config has.
"""

from __future__ import annotations

from typing import Any

from workbench.config import TrainConfig
from workbench.regularization.base import Regularizer, present_attributes

HIDDEN = ("hidden_dropout_prob", "dropout", "hidden_dropout", "resid_pdrop")
ATTENTION = ("attention_probs_dropout_prob", "attention_dropout", "attn_pdrop")
CLASSIFIER = ("classifier_dropout", "seq_classif_dropout", "summary_last_dropout")


class _DropoutRate(Regularizer):
    """Active whenever a rate is given: 0.0 is a real choice (no dropout), ``None`` is not."""

    def active(self, cfg: TrainConfig) -> bool:
        return cfg.flat()[self.setting] is not None


class HiddenDropout(_DropoutRate):
    name = "dropout"
    summary = "Randomly zeroes hidden activations in the encoder during training."
    setting = "dropout"

    def model_overrides(self, cfg: TrainConfig, model_config: Any) -> dict[str, Any]:
        return present_attributes(model_config, HIDDEN, cfg.regularization.dropout)


class AttentionDropout(_DropoutRate):
    name = "attention dropout"
    summary = "Randomly zeroes attention probabilities during training."
    setting = "attention_dropout"

    def model_overrides(self, cfg: TrainConfig, model_config: Any) -> dict[str, Any]:
        return present_attributes(model_config, ATTENTION, cfg.regularization.attention_dropout)


class ClassifierDropout(_DropoutRate):
    name = "classifier dropout"
    summary = "Randomly zeroes the pooled features before the classifier head."
    setting = "classifier_dropout"

    def model_overrides(self, cfg: TrainConfig, model_config: Any) -> dict[str, Any]:
        return present_attributes(model_config, CLASSIFIER, cfg.regularization.classifier_dropout)
