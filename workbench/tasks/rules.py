"""The registries' answers to what a config asks (:class:`workbench.config.ConfigRules`).

``workbench.config`` sits below the method and task registries, so it cannot import them;
``workbench.tasks`` installs :class:`RegistryRules` on import instead, and every config
built afterwards is checked and completed by the registered methods and tasks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.config import SECTIONS
from workbench.methods import METHODS, get_method
from workbench.tasks.inference import dataset_implies, implied_task, model_implies

if TYPE_CHECKING:
    from workbench.config import TrainConfig
    from workbench.tasks.base import Task


class RegistryRules:
    def __init__(self, tasks: dict[str, Task]) -> None:
        self.tasks = tasks

    def validate(self, config: TrainConfig) -> None:
        from workbench.tasks import get_task

        get_method(config.model.method).validate(config)
        get_task(config.model.task).validate(config)

    def default_lr(self, task: str, method: str) -> float:
        from workbench.tasks import get_task

        return get_task(task).default_lr(method)

    def implied_task(self, model: str, dataset: str) -> str | None:
        implied = implied_task(model, dataset)
        return implied.task if implied is not None else None

    def method_settings(self) -> dict[str, tuple[str, ...]]:
        return {name: tuple(method.settings) for name, method in METHODS.items()}

    def fill_task_defaults(self, nested: dict[str, dict[str, Any]], given: set[str]) -> None:
        """A task's default model and dataset stand in for a catalog model or built-in
        dataset of another task that the user did not choose (``--task
        image-classification`` alone gets efficientnet-lite0 on fashion-mnist, not the text
        default minilm-l6).

        The task is the one given, else the one the given model or dataset implies. A task
        without defaults (causal-lm) leaves everything as it is.
        """
        task = nested["model"].get("task") if "task" in given else None
        for key, section, implies in (
            ("dataset", "data", dataset_implies),
            ("model", "model", model_implies),
        ):
            found = implies(nested[section][key]) if key in given and task is None else None
            task = found.task if found is not None else task
        if task not in self.tasks:
            return
        defaults = self.tasks[task].defaults
        for key, section, implies in (
            ("model", "model", model_implies),
            ("dataset", "data", dataset_implies),
        ):
            current = nested[section].get(key, getattr(SECTIONS[section], key))
            found = implies(current)
            unfit = found is not None and found.firm and found.task != task
            if key in defaults and key not in given and unfit:
                nested[section][key] = defaults[key]
