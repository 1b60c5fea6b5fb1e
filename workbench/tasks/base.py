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
    #: ``model``/``dataset`` that replace a catalog model or built-in dataset of another task
    #: the user did not choose (``workbench.config``); none: the user must name them.
    defaults: ClassVar[dict[str, str]] = {}
    #: Peak learning rates that differ, for this task's models, from the method's default.
    learning_rates: ClassVar[dict[str, float]] = {}

    def validate(self, cfg: TrainConfig) -> None:
        """Raise ``ConfigError`` for settings this task cannot honour."""
        from workbench.config import ConfigError

        if cfg.model.method not in self.methods:
            raise ConfigError(
                f"method {cfg.model.method!r} does not fit task {self.name}; "
                f"choose one of {', '.join(self.methods)}"
            )
        check_task_settings(cfg, self.name)

    def default_lr(self, method: str) -> float:
        """Peak learning rate of ``method`` when none is set (``TrainConfig.resolved``)."""
        from workbench.methods import get_method

        return self.learning_rates.get(method, get_method(method).default_lr)

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

    def tokens_in(self, batch: dict[str, torch.Tensor]) -> int:
        """Real (unpadded) tokens in one batch, for tokens/s; 0 where inputs are not tokens."""
        return int(batch["attention_mask"].sum())

    def input_lengths(self, tokenizer: Any, data: Any) -> list[int] | None:
        """Lengths of the training inputs before truncation, for the coach's pre-flight
        checks (truncation, memory); None where inputs have no length (images)."""
        from workbench.coach import token_lengths

        return token_lengths(tokenizer, data)

    def preflight_inputs(self, cfg: TrainConfig, data: Any) -> dict[str, Any]:
        """What ``workbench check`` knows about the inputs without loading the model:
        ``lengths`` and ``max_positions`` from the tokenizer (only it is loaded)."""
        from workbench.models.loading import load_tokenizer, resolve_model

        m = cfg.model
        tokenizer = load_tokenizer(resolve_model(m.model), trust_remote_code=m.trust_remote_code)
        limit = getattr(tokenizer, "model_max_length", None)
        return {
            "lengths": self.input_lengths(tokenizer, data),
            # "no limit" is stored as 1e30: only a real position table counts
            "max_positions": limit if isinstance(limit, int) and limit < 1_000_000 else None,
        }

    def evaluate(self, s: Session, loader: Any) -> dict[str, Any]:
        """Metrics on one held-out loader; keys without the ``val_`` prefix (``loss`` …)."""
        raise NotImplementedError

    def finish(self, s: Session, run_dir: Path, summary: dict[str, Any], log: Any) -> None:
        """After a completed or stopped run (best weights restored): test, write files,
        export."""
        raise NotImplementedError

    # -- finished runs: what the run directory's readers and the CLI ask the task --------
    def load_exported(self, folder: Path) -> tuple[torch.nn.Module, Any] | None:
        """``(model, preprocessor)`` of an exported ``model/`` folder in eval mode; None
        where it is a transformers folder that the shared loader (:mod:`workbench.runs`)
        reads."""
        return None

    def predict(
        self, model: torch.nn.Module, preprocessor: Any, inputs: list[Any], cfg: TrainConfig
    ) -> list[dict[str, Any]] | None:
        """One prediction dict per input with a finished run's model; None where the
        shared text-classifier prediction applies."""
        return None

    def summary_lines(self, summary: dict[str, Any], run_dir: Path | None) -> list[str]:
        """Extra lines ``workbench train`` prints after a run (the files a user opens)."""
        return []

    #: ``workbench`` commands the task answers itself for its runs (``run_command``).
    commands: ClassVar[tuple[str, ...]] = ()

    def run_command(self, command: str, run: Any, args: Any) -> int | None:
        """The task's own ``workbench eval|predict|explain`` for one of its runs (the exit
        code); None where the shared command handles it."""
        return None


def check_task_settings(cfg: TrainConfig, task: str) -> None:
    """A setting of another task (``metadata['tasks']``) moved from its default is a
    config error: this task would silently ignore it."""
    from dataclasses import fields

    from workbench.config import SECTIONS, ConfigError

    for section in SECTIONS:
        values = getattr(cfg, section)
        for f in fields(values):
            owners = f.metadata.get("tasks")
            if owners and task not in owners and getattr(values, f.name) != f.default:
                raise ConfigError(
                    f"{f.name} applies only to task {' or '.join(owners)}, but the task is "
                    f"{task}, which would ignore it; leave {f.name} at "
                    f"{f.default!r} or set task {owners[0]}"
                )


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
