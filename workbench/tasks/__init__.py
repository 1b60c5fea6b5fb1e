"""Tasks: one registry. A task says what it loads, how it batches and what it evaluates."""

from __future__ import annotations

from workbench.tasks.base import Task
from workbench.tasks.text_classification import TextClassification, classification_metrics

TASKS: dict[str, Task] = {t.name: t for t in (TextClassification(),)}

__all__ = ["TASKS", "Task", "TextClassification", "classification_metrics"]
