"""What a task is: what it loads, how it batches, what it evaluates, what a run leaves.

Text classification and causal-LM instruction tuning register side by side in
:mod:`workbench.tasks`. The training loop, the run tracking and the end-of-run code only
talk to a task through this interface, so a new task is one file, not a fork.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch

if TYPE_CHECKING:
    from workbench.config import TrainConfig
    from workbench.regularization import Regularizer
    from workbench.training.session import Session


#: Every data setting the Data tab can show (``DataConfig`` fields), in the tab's order.
SOURCE_FIELDS = ("dataset", "text_column", "image_column", "label_column")
CLEANING_FIELDS = (
    "strip_urls",
    "replace_mentions",
    "fix_unicode",
    "drop_empty",
    "drop_duplicates",
    "min_confidence",
)
SPLIT_FIELDS = ("val_fraction", "test_fraction", "max_train_samples", "max_eval_samples")


@dataclass
class DataView:
    """What the Data tab shows of a task's prepared data: plain values, no markup.

    The notebook UI escapes and lays them out (``widgets.panels.data_panel``); the engine stays
    free of HTML. Tables are lists of dict rows; pictures are PNG bytes.
    """

    #: One line above the preview (what is shown, from where).
    note: str = ""
    #: The first examples as table rows (texts shortened), with their columns.
    rows: list[dict[str, Any]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    #: Example pictures (an image grid), shown under the rows.
    pictures: list[bytes] = field(default_factory=list)
    #: A multi-line summary kept as preformatted text.
    summary: str = ""
    #: What each cleaning step removed and changed (``step``, ``removed``, ``changed``,
    #: ``rows left``).
    cleaning: list[dict[str, Any]] = field(default_factory=list)
    #: One row: split sizes and what the splits hold.
    splits: dict[str, Any] = field(default_factory=dict)
    #: Length statistics (rows) and the sentence that explains them.
    lengths: list[dict[str, Any]] = field(default_factory=list)
    lengths_note: str = ""
    #: Examples per class and split (``{split: {class: count}}``) and the class order, for
    #: the class-balance chart; empty: no chart.
    balance: dict[str, dict[str, int]] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)


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

    # -- what the rest of the code asks instead of comparing task names -----------------
    #: Which Explain view shows this task's runs: ``"text"`` (word attributions of a
    #: classifier), ``"image"`` (pixel heatmaps), or ``""``: none; ``explain_hint`` says
    #: what to use instead.
    explain_view: ClassVar[str] = ""
    #: The model answers prompts with generated text (the Try it box, ``--prompt``).
    generates: ClassVar[bool] = False
    #: Pinned examples (``run.pinned_texts``) are texts this task's model classifies, so
    #: they can be explained during training.
    explains_pinned_texts: ClassVar[bool] = False
    #: ``workbench train --demo`` can set a TF-IDF + logistic regression baseline beside
    #: the run (texts with labels).
    tfidf_baseline: ClassVar[bool] = False
    #: The Data tab reads the raw file first and shows its rows, whose columns fill the
    #: column pickers (a table of texts and labels).
    raw_preview: ClassVar[bool] = False

    #: The model card's Hub ``pipeline_tag`` and ``library_name`` (``workbench.runs.card``).
    card_pipeline_tag: ClassVar[str] = ""
    card_library: ClassVar[str] = "transformers"

    def card_usage(self, adapter: bool, labels: list[str]) -> list[str]:
        """Python lines of the model card's *How to use* (run from the run directory);
        ``labels``: the run's class names, in the head's order (may be empty)."""
        return [
            "import workbench",
            "",
            'run = workbench.load_run(".")  # the run directory',
            "print(run.predict([...]))",
        ]

    def describe_inputs(self, cfg: TrainConfig) -> str:
        """How big one input is, for a one-line description of a run's settings."""
        return f"{cfg.model.max_length} tokens"

    def explain_hint(self, run_path: Path) -> str:
        """What explains a run of this task when no Explain view does (``explain_view``
        empty)."""
        return f"the Explain tab cannot explain {self.name} runs"

    def data_fields(self, dataset: Any) -> set[str]:
        """The data settings preparing ``dataset`` (a name or path; None: a table passed
        in) for this task reads: the Data tab shows those and hides the rest."""
        return set(SOURCE_FIELDS + CLEANING_FIELDS + SPLIT_FIELDS) - {"image_column"}

    def data_view(self, data: Any) -> DataView:
        """What the Data tab shows of ``prepare_data``'s result."""
        raise NotImplementedError

    def evaluation_pictures(
        self, run_dir: Path, summary: dict[str, Any]
    ) -> list[tuple[str, bytes]]:
        """``(title, PNG)`` pictures the Evaluate tab shows beside the metrics of a finished
        run (the misclassified images of an image classifier); none by default."""
        return []

    def trainable_parameters(self, cfg: TrainConfig, num_labels: int) -> tuple[int, int]:
        """``(trainable, total)`` parameters ``cfg``'s method would train, before training
        (the Model tab's count); loads the model once and caches it."""
        raise NotImplementedError

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

    def load_with_adapter(self, run_dir: Path, cfg: TrainConfig) -> tuple[Any, Any] | None:
        """``(PeftModel, preprocessor)``: the pretrained model with the run's ``adapter/``
        (``Run.load_model(adapter=True)``), where the task compares base and fine-tuned;
        None to use the merged ``model/``."""
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


def token_lengths(tokenizer: Any, data: Any) -> list[int]:
    """Token counts of the training texts (with special tokens, before truncation).

    For prompt/response data, the prompt's words and the response together.
    """
    from workbench.cache import cached

    split = data.train
    # Remembered per (tokenizer, split object), like the leakage counts: a warm start
    # with the kernel's cached data does not tokenize everything again.
    key = (getattr(tokenizer, "name_or_path", type(tokenizer).__name__), id(split))
    return cached("coach-lengths", key, lambda: (_count_tokens(tokenizer, split), split))[0]


def _count_tokens(tokenizer: Any, split: Any) -> list[int]:
    texts = split.texts() if callable(split.texts) else split.texts
    responses = getattr(split, "responses", None)
    if responses:
        texts = [f"{t}\n{r}" for t, r in zip(texts, responses, strict=False)]
    if not texts:
        return []
    encoded = tokenizer(list(texts), truncation=False, add_special_tokens=True, verbose=False)
    return [len(ids) for ids in encoded["input_ids"]]


def cleaning_rows(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A prepared data's cleaning report (``step``, ``removed``, ``changed``,
    ``rows_after``) as the Data tab's table rows."""
    return [
        {
            "step": s["step"],
            "removed": s["removed"],
            "changed": s.get("changed", 0),
            "rows left": s["rows_after"],
        }
        for s in steps
    ]


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
