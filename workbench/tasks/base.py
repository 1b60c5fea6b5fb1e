"""What a task is: what it loads, how it batches, what it evaluates, what a run leaves.

Text classification and causal-LM instruction tuning register side by side in
:mod:`workbench.tasks`. The training loop, the run tracking and the end-of-run code only
talk to a task through this interface, so a new task is one file, not a fork.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch

if TYPE_CHECKING:
    from workbench.config import TrainConfig
    from workbench.regularization import Regularizer
    from workbench.training.session import Session


class Task:
    """Base class for a fine-tuning task."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    #: Adaptation methods that make sense for this task.
    methods: ClassVar[tuple[str, ...]] = ()
    #: Validation metrics an ``eval`` event carries (``val_loss`` always among them).
    eval_metrics: ClassVar[tuple[str, ...]] = ("val_loss",)
    #: Cache slot (``workbench.cache``) of the task's prepared data.
    data_slot: ClassVar[str] = "data"

    def validate(self, cfg: TrainConfig) -> None:
        """Raise ``ConfigError`` for settings this task cannot honour."""
        from workbench.config import ConfigError

        if cfg.model.method not in self.methods:
            raise ConfigError(
                f"method {cfg.model.method!r} does not fit task {self.name}; "
                f"choose one of {', '.join(self.methods)}"
            )

    def prepare_data(self, cfg: TrainConfig, source: Any = None) -> Any:
        """Read, clean and split the data; the result has ``train``/``val``/``test``,
        ``labels`` (class names, possibly empty), ``cleaning`` and ``source``."""
        raise NotImplementedError

    def load_model(
        self, cfg: TrainConfig, data: Any, regularizers: list[Regularizer]
    ) -> tuple[torch.nn.Module, Any]:
        """Return ``(adapted model, tokenizer)``."""
        raise NotImplementedError

    def encode(self, tokenizer: Any, data: Any, cfg: TrainConfig) -> dict[str, Any]:
        """Token ids per split (``train``/``val``/``test``); each has ``lengths``."""
        raise NotImplementedError

    def collator(self, tokenizer: Any) -> Any:
        """Callable turning a list of encoded examples into a padded batch of tensors."""
        raise NotImplementedError

    def forward(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> Any:
        """The model's outputs on one batch."""
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])

    def loss(self, outputs: Any, batch: dict[str, torch.Tensor], **options: Any) -> torch.Tensor:
        raise NotImplementedError

    def examples_in(self, batch: dict[str, torch.Tensor]) -> int:
        """How many examples one batch holds (what samples/s counts): one per row."""
        return int(batch["input_ids"].shape[0])

    def evaluate(self, s: Session, loader: Any) -> dict[str, Any]:
        """Metrics on one held-out loader; keys without the ``val_`` prefix (``loss`` …)."""
        raise NotImplementedError

    def finish(self, s: Session, run_dir: Path, summary: dict[str, Any], log: Any) -> None:
        """After a completed or stopped run (best weights restored): test, write files,
        export."""
        raise NotImplementedError


def metric_key(name: str, task: Task) -> str:
    """The eval-event field the early-stopping metric ``name`` reads for ``task``.

    A metric the task does not measure (macro-F1 for a language model) falls back to
    ``val_loss``, which every task measures.
    """
    return name if name in task.eval_metrics else "val_loss"


def check_catalog_task(cfg: TrainConfig, task: str) -> None:
    """A catalog model or built-in dataset made for another task is a config error."""
    from workbench.config import ConfigError
    from workbench.data.sources import dataset_task
    from workbench.models.catalog import CATALOG, find_entry

    entry = find_entry(cfg.model.model)
    if entry is not None and entry.task != task:
        fits = ", ".join(e.name for e in CATALOG if e.task == task)
        raise ConfigError(
            f"model {cfg.model.model!r} is a {entry.task} model, not for task {task}; "
            f"choose one of {fits}, or a hub id / local folder{_leave_task_out(cfg, task)}"
        )
    data_task = dataset_task(cfg.data.dataset)
    if data_task is not None and data_task != task:
        from workbench.data.sources import builtin_names

        raise ConfigError(
            f"dataset {cfg.data.dataset!r} is made for task {data_task}, not {task}; "
            f"built-in datasets for {task}: {', '.join(builtin_names(task)) or 'none'}"
            f"{_leave_task_out(cfg, task)}"
        )


def _leave_task_out(cfg: TrainConfig, task: str) -> str:
    """The hint that leaving ``task`` out lets the workbench pick the one the model and
    dataset agree on; empty when they imply nothing, ``task`` itself, or disagree."""
    from workbench.config import ConfigError
    from workbench.tasks.inference import implied_task

    try:
        implied = implied_task(cfg.model.model, cfg.data.dataset)
    except ConfigError:
        return ""
    if implied is None or implied.task == task:
        return ""
    return f"; or leave the task out (the model and dataset imply {implied.task})"
