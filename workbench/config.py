"""Every user-facing setting, declared once.

Each setting is a field of a frozen dataclass with a literal default and metadata
(help text, range, step, log scale, choices). The YAML file, the CLI flags, the
widget controls and the run manifest are all *derived* from these fields:
nobody hand-writes a form or a flag.

A field's metadata keys:

``help``     one sentence shown as CLI help and widget tooltip.
``min``/``max``  inclusive numeric range (``min_exclusive`` makes the lower bound open).
``step``     slider step; ``log`` True for a log-scale slider.
``choices``  allowed values of a string field.
``flag``     CLI flag name when it differs from ``--field-name``.
``restart``  True when changing it needs a new run (all but ``lr``).
``max_items``  longest allowed list of a ``tuple[str, ...]`` field (a repeatable CLI flag).
``tasks``    the tasks that read the setting (image size, augmentation: image-classification);
             absent means every task. Set away from its default for another task, it is a
             config error (the run would silently ignore it); the UI can hide it there.

Validation runs in ``__post_init__`` and raises :class:`ConfigError` (a
``ValueError``) with a fix-it message naming the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import ConfigError


def setting(default: Any, help: str, **meta: Any) -> Any:
    """Declare one setting: a dataclass field with a default and UI/CLI metadata."""
    return field(default=default, metadata={"help": help, **meta})


METHODS = ("full", "head-only", "freeze", "bitfit", "lora", "ia3")
SCHEDULERS = ("linear", "cosine", "constant")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
ATTENTIONS = ("auto", "sdpa", "eager")
BATCHING = ("length-grouped", "random")
METRICS = ("val_macro_f1", "val_accuracy", "val_loss")
# Kept in step with the task registry workbench.tasks.TASKS (tests/test_causal_lm.py checks).
TASK_NAMES = ("text-classification", "causal-lm", "image-classification")
IMAGE_TASKS = ("image-classification",)


def _check(section: Any) -> None:
    """Validate every field of ``section`` against its metadata (type, range, choices)."""
    hints = typing.get_type_hints(type(section))
    for f in fields(section):
        value = getattr(section, f.name)
        meta = f.metadata
        if value is None:
            if not _allows_none(hints[f.name]):
                raise ConfigError(f"{f.name} must be set; {meta.get('help', '')}")
            continue
        base = _base_type(hints[f.name])
        if base is bool and not isinstance(value, bool):
            raise ConfigError(f"{f.name} must be true or false, got {value!r}")
        if base in (int, float) and (
            isinstance(value, bool) or not isinstance(value, (int, float))
        ):
            raise ConfigError(f"{f.name} must be a number, got {value!r}")
        if base is int and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{f.name} must be a whole number, got {value!r}")
        if base is str and not isinstance(value, str):
            raise ConfigError(f"{f.name} must be a string, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{f.name} must be a finite number, got {value!r}")
        if typing.get_origin(base) is tuple:
            _check_texts(section, f.name, value, meta)
            continue
        _check_range(f.name, value, meta)


def _check_texts(section: Any, name: str, value: Any, meta: typing.Mapping[str, Any]) -> None:
    """A ``tuple[str, ...]`` field: strings (a YAML list arrives as a list), at most
    ``max_items``, none empty. Stored back as a tuple so the frozen config stays hashable."""
    if isinstance(value, str) and "choices" in meta:  # report_to="tensorboard", as in HF
        value = [value]
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"{name} must be a list of texts, got {value!r}")
    bad = [v for v in value if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ConfigError(f"{name} must hold non-empty texts; got {bad[0]!r}")
    choices = meta.get("choices")
    if choices is not None:
        unknown = [v for v in value if v not in choices]
        if unknown:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {unknown[0]!r}")
        value = list(dict.fromkeys(v for v in value if v != "none"))  # once each, in order
    most = meta.get("max_items")
    if most is not None and len(value) > most:
        raise ConfigError(f"{name} holds at most {most} texts; got {len(value)}")
    object.__setattr__(section, name, tuple(value))


def _check_range(name: str, value: Any, meta: typing.Mapping[str, Any]) -> None:
    if "choices" in meta and value not in meta["choices"]:
        allowed = ", ".join(str(c) for c in meta["choices"])
        raise ConfigError(f"{name} must be one of {allowed}; got {value!r}")
    lo, hi = meta.get("min"), meta.get("max")
    if lo is None and hi is None:
        return
    open_lo = meta.get("min_exclusive", False)
    too_low = lo is not None and (value <= lo if open_lo else value < lo)
    too_high = hi is not None and value > hi
    if too_low or too_high:
        left = "(" if open_lo else "["
        rng = f"{left}{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        typical = f"; typical {meta['typical']}" if "typical" in meta else ""
        raise ConfigError(f"{name} must be in {rng}{typical}; got {value!r}")


def _allows_none(tp: Any) -> bool:
    return type(None) in typing.get_args(tp)


def _base_type(tp: Any) -> Any:
    """``float | None`` -> ``float``; plain types pass through."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0]
    return tp


@dataclass(frozen=True)
class DataConfig:
    """Where the examples come from and how they are cleaned and split."""

    dataset: str = setting(
        "tweets-sentiment",
        "Built-in dataset name, or a CSV/TSV/JSONL/Parquet file path.",
    )
    text_column: str | None = setting(None, "Column holding the text (auto-detected when empty).")
    label_column: str | None = setting(None, "Column holding the label (auto-detected when empty).")
    strip_urls: bool = setting(True, "Remove http(s):// and www. links from texts.")
    replace_mentions: bool = setting(True, "Replace @user mentions with the token @user.")
    fix_unicode: bool = setting(
        True, "Repair broken unicode with ftfy and strip mangled byte runs it cannot repair."
    )
    drop_empty: bool = setting(True, "Drop rows whose text is empty after cleaning.")
    drop_duplicates: bool = setting(True, "Drop rows whose cleaned text was already seen.")
    min_confidence: float = setting(
        0.0,
        "Keep rows whose label confidence is at least this (needs a confidence column).",
        min=0.0,
        max=1.0,
        step=0.05,
    )
    val_fraction: float = setting(
        0.1, "Share of the data held out for validation.", min=0.01, max=0.5, step=0.01
    )
    test_fraction: float = setting(
        0.1, "Share of the data held out for the final test.", min=0.01, max=0.5, step=0.01
    )
    max_train_samples: int | None = setting(
        4000,
        "Cap on training examples (stratified); empty for all.",
        min=8,
        max=10_000_000,
        step=100,
    )
    max_eval_samples: int | None = setting(
        1000,
        "Cap on validation and test examples each (stratified); empty for all.",
        min=8,
        max=10_000_000,
        step=100,
    )
    image_column: str | None = setting(
        None,
        "image-classification, CSV/Parquet data: the column holding image file paths "
        "(auto-detected when empty; relative paths are read from the file's folder).",
        tasks=IMAGE_TASKS,
    )

    def __post_init__(self) -> None:
        _check(self)
        if self.val_fraction + self.test_fraction >= 0.9:
            raise ConfigError(
                f"val_fraction + test_fraction must leave data to train on (< 0.9); got "
                f"{self.val_fraction} + {self.test_fraction}"
            )


@dataclass(frozen=True)
class ModelConfig:
    """Which pretrained model, and how it is adapted."""

    task: str = setting(
        "text-classification",
        "What the model learns: text-classification (a label per text), causal-lm "
        "(instruction tuning: generate the response to a prompt) or image-classification "
        "(a label per image).",
        choices=TASK_NAMES,
    )
    model: str = setting(
        "minilm-l6", "Catalog name, Hugging Face hub id, or local model directory."
    )
    method: str = setting(
        "full",
        "Adaptation method: full, head-only (linear probe), freeze (bottom k layers), "
        "bitfit (biases only), lora, ia3.",
        choices=METHODS,
    )
    freeze_layers: int = setting(
        3, "Number of bottom encoder layers frozen by the freeze method.", min=0, max=48, step=1
    )
    lora_r: int = setting(8, "LoRA rank.", min=1, max=256, step=1)
    lora_alpha: int = setting(
        16, "LoRA scaling alpha (scale = alpha / r).", min=1, max=1024, step=1
    )
    lora_dropout: float = setting(
        0.1, "Dropout on the LoRA input (a regularizer).", min=0.0, max=0.9, step=0.05
    )
    target_modules: str = setting(
        "",
        "Comma-separated module names for LoRA/IA3 (empty: peft's defaults for the "
        "architecture, e.g. query/value for BERT, q_proj/v_proj for Llama).",
    )
    max_length: int = setting(128, "Maximum tokens per text.", min=8, max=4096, step=8)
    packing: bool = setting(
        False,
        "causal-lm: pack several short examples into one row of max_length tokens "
        "(less padding; each example still attends only to itself).",
    )
    image_size: int = setting(
        64,
        "image-classification: images are resized to this many pixels square; larger sees "
        "more detail and costs about size² compute (the model halves it 5 times: 32 is the "
        "smallest sensible size).",
        min=32,
        max=224,
        step=32,
        tasks=IMAGE_TASKS,
    )
    trust_remote_code: bool = setting(
        False, "Run code shipped with the model (only for models you trust)."
    )
    pretrained: bool = setting(
        True,
        "Start from the pretrained weights; off: the same architecture, randomly initialized "
        "(shows what pretraining is worth).",
    )

    def __post_init__(self) -> None:
        _check(self)
        if not self.model.strip():
            raise ConfigError("model must be a catalog name, hub id or directory; got ''")


@dataclass(frozen=True)
class OptimConfig:
    """How the optimizer steps: learning rate, schedule, batch and hardware."""

    lr: float | None = setting(
        None,
        "Peak learning rate (empty: the method's default).",
        min=0.0,
        min_exclusive=True,
        max=1.0,
        log=True,
        typical="1e-5 … 1e-3",
        restart=False,
    )
    epochs: float = setting(3.0, "Passes over the training set.", min=0.05, max=100.0, step=0.05)
    batch_size: int = setting(32, "Examples per optimizer micro-batch.", min=1, max=1024, step=1)
    grad_accum: int = setting(
        1, "Micro-batches accumulated per optimizer step.", min=1, max=256, step=1
    )
    oom_retries: int = setting(
        0,
        "On out of memory, start again up to this many times, each with half the batch size "
        "and twice grad_accum (same effective batch); 0: fail with advice instead.",
        min=0,
        max=6,
        step=1,
    )
    warmup_fraction: float = setting(
        0.06, "Share of steps spent warming the learning rate up.", min=0.0, max=0.5, step=0.01
    )
    scheduler: str = setting("linear", "Learning-rate schedule after warmup.", choices=SCHEDULERS)
    batching: str = setting(
        "length-grouped",
        "length-grouped: batches of similar lengths (less padding); random: plain shuffle.",
        choices=BATCHING,
    )
    eval_every: int = setting(
        0, "Evaluate every N optimizer steps (0: at each epoch end only).", min=0, max=1_000_000
    )
    seed: int = setting(
        42, "Random seed for splits, shuffling and initialization.", min=0, max=2**31 - 1
    )
    device: str = setting("auto", "Where to train.", choices=DEVICES)
    precision: str = setting(
        "auto",
        "Numeric precision: auto = bf16 autocast on a CUDA GPU with bf16 (Ampere or newer), "
        "fp16 with loss scaling on older GPUs, fp32 on CPU; bf16 and fp16 autocast keep "
        "fp32 master weights.",
        choices=PRECISIONS,
    )
    attention: str = setting(
        "auto",
        "Attention kernel: auto = the model's default (PyTorch SDPA where the architecture "
        "supports it, else eager); sdpa; eager (plain matmuls).",
        choices=ATTENTIONS,
    )
    compile: bool = setting(
        False,
        "Compile the model with torch.compile (dynamic shapes, as batch widths vary). The "
        "first steps are slow while it compiles; pays off on a GPU over long runs.",
    )
    gradient_checkpointing: bool = setting(
        False,
        "Recompute each layer's activations in the backward pass instead of keeping them: "
        "far less activation memory (longer texts, bigger batches), about a third slower.",
    )

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class RegularizationConfig:
    """Everything that keeps the model from overfitting."""

    weight_decay: float = setting(
        0.01,
        "Decoupled weight decay (AdamW) on weights, not biases/LayerNorm.",
        min=0.0,
        max=1.0,
        step=0.01,
    )
    dropout: float | None = setting(
        None, "Hidden dropout in the encoder (empty: the model's own).", min=0.0, max=0.9, step=0.05
    )
    attention_dropout: float | None = setting(
        None,
        "Dropout on attention probabilities (empty: the model's own).",
        min=0.0,
        max=0.9,
        step=0.05,
    )
    classifier_dropout: float | None = setting(
        None,
        "Dropout before the classification head (empty: the model's own).",
        min=0.0,
        max=0.9,
        step=0.05,
    )
    label_smoothing: float = setting(
        0.0,
        "Share of target probability spread over the other classes.",
        min=0.0,
        max=0.5,
        step=0.05,
    )
    max_grad_norm: float = setting(
        1.0, "Clip the gradient norm to this (0: no clipping).", min=0.0, max=100.0, step=0.1
    )
    early_stopping: int = setting(
        0, "Stop after this many evaluations without improvement (0: off).", min=0, max=100
    )
    early_stopping_metric: str = setting(
        "val_macro_f1",
        "Metric that picks the best checkpoint and drives early stopping.",
        choices=METRICS,
    )
    augment_flip: bool = setting(
        False,
        "image-classification: mirror half of the training images left-right at random "
        "(a regularizer; leave off where mirroring changes the class, e.g. digits).",
        tasks=IMAGE_TASKS,
    )
    augment_crop: float = setting(
        0.0,
        "image-classification: random crops of training images keep at least 1 − this "
        "share of the area, stretched back to full size (0: off; 0.2 keeps 80 to 100 percent).",
        min=0.0,
        max=0.5,
        step=0.05,
        tasks=IMAGE_TASKS,
    )
    augment_rotation: float = setting(
        0.0,
        "image-classification: rotate training images by a random angle of up to this many "
        "degrees either way (0: off).",
        min=0.0,
        max=45.0,
        step=5.0,
        tasks=IMAGE_TASKS,
    )
    l2sp: float = setting(
        0.0,
        "L2-SP: share of each pretrained weight's drift from its pretrained value undone per "
        "step at the peak learning rate (decoupled, like AdamW's decay; those weights then get "
        "no weight decay). 0.01 undoes a drift in about 100 steps; 0: off.",
        min=0.0,
        max=1.0,
        step=0.001,
        log=False,
    )

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class RunConfig:
    """Where a run is written."""

    out: str | None = setting(None, "Run directory (default: runs/<timestamp>-<slug>).")
    runs_dir: str = setting("runs", "Folder that holds run directories.")
    save_checkpoints: bool = setting(True, "Keep last and best checkpoints for resume/restore.")
    pinned_texts: tuple[str, ...] = setting(
        (),
        "Example texts (at most 5, one per line) explained with layer-ig at the start and at "
        "every evaluation; stored in attributions/pinned.jsonl.",
        flag="--pin",
        max_items=5,
    )
    report_to: tuple[str, ...] = setting(
        (),
        "Experiment trackers that get the run's metrics, config and coach findings: "
        "tensorboard, mlflow, trackio (empty or none: no tracker). Local by default: "
        "<run>/tensorboard, <runs_dir>/mlflow.db unless MLFLOW_TRACKING_URI names a store, "
        "trackio's local database.",
        flag="--report-to",
        choices=("none", "tensorboard", "mlflow", "trackio"),
        max_items=3,
    )

    def __post_init__(self) -> None:
        _check(self)


class ConfigRules(typing.Protocol):
    """What a config asks of the method and task registries, which sit above this module
    (they import it). ``workbench.tasks`` installs its implementation on import
    (:func:`install_rules`); ``import workbench`` always imports it."""

    def validate(self, config: TrainConfig) -> None:
        """The method's and the task's own checks; ConfigError when one fails."""

    def default_lr(self, task: str, method: str) -> float:
        """The peak learning rate ``method`` gets on ``task`` when ``lr`` is left empty."""

    def fill_task_defaults(self, nested: dict[str, dict[str, Any]], given: set[str]) -> None:
        """Put the task's default model/dataset in place of another task's that the user
        did not choose (``nested`` is ``{section: {field: value}}``; ``given``: chosen)."""

    def implied_task(self, model: str, dataset: str) -> str | None:
        """The task a model or dataset implies (a causal LM, a chat file), if any;
        ConfigError when the two imply different tasks."""

    def method_settings(self) -> dict[str, tuple[str, ...]]:
        """Each method's own knobs (``{"lora": ("lora_r", …), …}``)."""


_RULES: list[ConfigRules] = []


def install_rules(implementation: ConfigRules) -> None:
    """Use ``implementation`` from now on (``workbench.tasks`` calls this on import)."""
    _RULES[:] = [implementation]


def rules() -> ConfigRules:
    if not _RULES:  # only when a module imports workbench.config without the package
        raise RuntimeError("the task registry is not loaded: import workbench first")
    return _RULES[0]


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "optim": OptimConfig,
    "regularization": RegularizationConfig,
    "run": RunConfig,
}


@dataclass(frozen=True)
class TrainConfig:
    """A complete, re-runnable description of one fine-tuning run."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    regularization: RegularizationConfig = field(default_factory=RegularizationConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        rules().validate(self)  # the method's and the task's own checks

    # -- derived views -------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_yaml(), encoding="utf-8")

    @classmethod
    def from_dict(cls, data: typing.Mapping[str, Any]) -> TrainConfig:
        """Build a config from nested ``{section: {field: value}}`` or flat ``{field: value}``.

        Without a ``task``, the task the model or dataset implies is used (SmolLM2 or a
        chat file: ``causal-lm``; :mod:`workbench.tasks.inference`), else the default.
        """
        if not isinstance(data, typing.Mapping):
            raise ConfigError(f"config must be a mapping of sections, got {type(data).__name__}")
        nested: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
        for key, value in data.items():
            if key in SECTIONS:
                if not isinstance(value, typing.Mapping):
                    raise ConfigError(f"section '{key}' must be a mapping, got {value!r}")
                for k, v in value.items():
                    _place(nested, k, v, expect=key)
            else:
                _place(nested, key, value)
        given = {k for values in nested.values() for k in values}
        rules().fill_task_defaults(nested, given)
        if "task" not in nested["model"]:
            _fill_implied_task(nested)
        sections = {name: SECTIONS[name](**values) for name, values in nested.items()}
        return cls(**sections)

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(err, "problem", None) or "syntax error"
            raise ConfigError(f"config file {p} is not valid YAML{where}: {problem}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"config file {p} is not UTF-8 text") from None
        try:
            return cls.from_dict(data)
        except ConfigError as err:
            raise ConfigError(f"in config file {p}: {err}") from None

    def replace(self, **flat: Any) -> TrainConfig:
        """Copy with some fields changed, by field name (``lr=1e-3, method='lora'``).

        A new ``model`` or ``dataset`` that implies a task (a causal LM, a chat file)
        switches ``task`` to it unless ``task`` is among the changes
        (:mod:`workbench.tasks.inference`).
        """
        merged = self.to_dict()
        for key, value in flat.items():
            section = section_of(key)
            merged[section][key] = value
        rules().fill_task_defaults(merged, set(flat))
        if "task" not in flat and ("model" in flat or "dataset" in flat):
            _fill_implied_task(merged)
        out = TrainConfig.from_dict(merged)
        _check_method_knobs(out.model.method, flat)
        return out

    def flat(self) -> dict[str, Any]:
        return {k: v for section in self.to_dict().values() for k, v in section.items()}

    def resolved(self) -> TrainConfig:
        """Fill fields left empty on purpose (e.g. ``lr``) with their method default."""
        if self.optim.lr is None:
            return self.replace(lr=rules().default_lr(self.model.task, self.model.method))
        return self


def _fill_implied_task(nested: dict[str, dict[str, Any]]) -> None:
    """Set ``task`` to the one the model and dataset imply, if any; ConfigError when the
    two imply different tasks."""
    model = nested["model"].get("model", ModelConfig.model)
    dataset = nested["data"].get("dataset", DataConfig.dataset)
    implied = rules().implied_task(model, dataset)
    if implied is not None:
        nested["model"]["task"] = implied


def _check_method_knobs(method: str, given: typing.Iterable[str]) -> None:
    """Refuse a knob of another adaptation method set together with ``method`` (``lora_r``
    with a full fine-tune): the run would silently ignore it."""
    knobs = rules().method_settings()
    own = set(knobs.get(method, ()))
    for name in given:
        users = [m for m, settings in knobs.items() if name in settings]
        if users and name not in own:
            raise ConfigError(
                f"{name} applies only to method {' or '.join(users)}, but method is "
                f"{method!r}, which would ignore it; set method to {users[0]} or leave "
                f"{name} out"
            )


def section_of(name: str) -> str:
    """Name of the section that declares field ``name``."""
    for section, cls in SECTIONS.items():
        if name in {f.name for f in fields(cls)}:
            return section
    raise unknown_setting(name)


def all_field_names() -> list[str]:
    return [f.name for cls in SECTIONS.values() for f in fields(cls)]


def all_fields() -> list[tuple[str, dataclasses.Field[Any], Any]]:
    """``(section, field, type)`` for every setting, in declaration order."""
    out: list[tuple[str, dataclasses.Field[Any], Any]] = []
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        out.extend((section, f, _base_type(hints[f.name])) for f in fields(cls))
    return out


def unknown_setting(key: str, where: str = "") -> ConfigError:
    """Error for a misspelt setting, suggesting the closest real names."""
    import difflib

    close = difflib.get_close_matches(str(key), all_field_names(), n=3, cutoff=0.5)
    if close:
        hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
    else:
        hint = "known settings: " + ", ".join(all_field_names())
    return ConfigError(f"unknown setting '{key}'{where}; {hint}")


def _place(
    nested: dict[str, dict[str, Any]], key: str, value: Any, expect: str | None = None
) -> None:
    try:
        section = section_of(key)
    except ConfigError:
        raise unknown_setting(key, f" in section '{expect}'" if expect else "") from None
    if expect is not None and section != expect:
        raise ConfigError(f"setting '{key}' belongs in section '{section}', not '{expect}'")
    nested[section][key] = value
