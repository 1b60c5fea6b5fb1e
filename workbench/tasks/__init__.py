"""Tasks: one registry. A task says what it loads, how it batches and what it evaluates.

Adding a task = one file (or one folder, like ``image_classification/``) with a
:class:`Task` subclass, one line in ``TASKS`` below, and its name in
``workbench.config.TASK_NAMES`` (the config's choices; a test checks both agree).
"""

from __future__ import annotations

from typing import Any

from workbench.config import ConfigError, install_rules
from workbench.tasks.base import Task, metric_key
from workbench.tasks.causal_lm.task import CausalLM
from workbench.tasks.image_classification import ImageClassification
from workbench.tasks.rules import RegistryRules
from workbench.tasks.text_classification.task import TextClassification, classification_metrics

TASKS: dict[str, Task] = {
    t.name: t for t in (TextClassification(), CausalLM(), ImageClassification())
}
install_rules(RegistryRules(TASKS))  # configs are checked and completed by these tasks


def get_task(name: str) -> Task:
    """The registered task called ``name``; a fix-it error for unknown names."""
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}") from None


def trainable_parameters(cfg: Any, num_labels: int = 3) -> tuple[int, int]:
    """``(trainable, total)`` parameters the config's method would train, before training
    (the Model tab's count): the config's task loads its model once (cached, so changing
    the method again is instant) and applies the method to a copy."""
    return get_task(cfg.model.task).trainable_parameters(cfg, num_labels)


__all__ = [
    "TASKS",
    "CausalLM",
    "ImageClassification",
    "Task",
    "TextClassification",
    "classification_metrics",
    "get_task",
    "metric_key",
    "trainable_parameters",
]
