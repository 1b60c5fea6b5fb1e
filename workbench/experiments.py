"""Experiments: several variants of one configuration, trained one after another, compared.

The teaching notebooks ask the same question again and again — "what changes when only this
setting changes?" — so the answer lives here, headless and tested, not in notebook cells:

>>> base = TrainConfig().replace(max_train_samples=256, epochs=1)
>>> runs = run_variants(base, {"pretrained": {}, "random init": {"pretrained": False}})
>>> comparison_table(runs)                       # one row per variant
>>> plot_run_comparison({k: r.events for k, r in runs.items()})   # (workbench.plots)

Every variant is an ordinary run with its own run directory, so the Runs tab, ``workbench
eval`` and ``load_run`` see them like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from workbench.config import TrainConfig
from workbench.errors import RunError
from workbench.models.catalog import estimate_training_memory, find_entry
from workbench.runs import Run, config_differences, load_run

#: Summary numbers a comparison shows, in this order (absent ones are left out).
COLUMNS = (
    "test_macro_f1",
    "test_accuracy",
    "val_loss",
    "trainable_parameters",
    "total_parameters",
    "train_samples_per_second",
    "wall_seconds",
)


def lesson_config(small: bool = True, **changes: Any) -> TrainConfig:
    """The offline default sized for a lesson: ``small`` for a minute-long run on a laptop
    CPU (continuous integration runs every notebook this way), else a few minutes' run.

    ``small``: 128 training and 32 validation/test tweets, 32 tokens, batch 16 (8 steps an
    epoch), two epochs, no checkpoints. Otherwise: 2,000 / 500 tweets, 64 tokens, 3 epochs.
    ``changes`` are applied on top, by setting name.
    """
    size: dict[str, Any] = (
        {"max_train_samples": 128, "max_eval_samples": 32, "max_length": 32, "epochs": 2.0}
        if small
        else {"max_train_samples": 2000, "max_eval_samples": 500, "max_length": 64, "epochs": 3.0}
    )
    base = TrainConfig().replace(batch_size=16, save_checkpoints=False, **size)
    return base.replace(**changes) if changes else base


def run_variants(
    base: TrainConfig,
    variants: Mapping[str, Mapping[str, Any]],
    data: Any = None,
    on_start: Callable[[str, TrainConfig], None] | None = None,
) -> dict[str, Run]:
    """Train ``base`` changed by each variant's settings, one run at a time; wait for each.

    Parameters
    ----------
    base
        The shared configuration.
    variants
        ``{label: {setting: value, ...}}``; an empty mapping trains ``base`` as is.
    data
        A DataFrame or ``datasets.Dataset`` every variant trains on (default: the
        config's dataset).
    on_start
        Called with ``(label, config)`` before each run starts (progress for a UI).

    Returns
    -------
    dict
        ``{label: Run}`` read back from each run directory, in the order given.

    Raises
    ------
    ConfigError
        Before anything trains, when a variant's settings are invalid.
    RunError
        When a run fails; the message names the variant and the run's error.
    """
    from workbench.training import train

    configs = {label: base.replace(**dict(changes)) for label, changes in variants.items()}
    runs: dict[str, Run] = {}
    for label, cfg in configs.items():
        if on_start is not None:
            on_start(label, cfg)
        handle = train(cfg, data=data)
        summary = handle.wait() or {}
        if summary.get("status") == "failed" or handle.run_dir is None:
            raise RunError(f"variant {label!r} failed: {summary.get('error', 'no message')}")
        runs[label] = load_run(handle.run_dir)
    return runs


def comparison_table(runs: Mapping[str, Run], columns: tuple[str, ...] = COLUMNS) -> list[dict]:
    """One row per run: its label, the settings that differ between the runs, the summary
    numbers in ``columns`` and the estimated peak training memory (``memory_mb_estimate``).

    The memory column is :func:`workbench.models.catalog.estimate_training_memory` for the
    run's trainable/total parameters, batch size and length (catalog models only): measured
    process memory cannot separate runs made one after another in one process.
    """
    differences = config_differences(list(runs.values()))
    rows = []
    for i, (label, run) in enumerate(runs.items()):
        row: dict[str, Any] = {"run": label}
        row.update({key: values[i] for key, values in differences.items()})
        row.update({k: run.summary[k] for k in columns if run.summary.get(k) is not None})
        memory = memory_estimate(run)
        if memory is not None:
            row["memory_mb_estimate"] = round(memory / 2**20)
        rows.append(row)
    return rows


def memory_estimate(run: Run) -> int | None:
    """Estimated peak training bytes of ``run``, or None for a model outside the catalog."""
    entry = find_entry(run.config.model.model)
    trainable, total = run.summary.get("trainable_parameters"), run.summary.get("total_parameters")
    if entry is None or not isinstance(trainable, int) or not isinstance(total, int):
        return None
    return estimate_training_memory(
        total,
        trainable,
        entry.hidden_size,
        entry.num_layers,
        run.config.optim.batch_size,
        run.config.model.max_length,
    )


def wait_for_step(handle: Any, step: int, timeout: float = 600.0) -> bool:
    """Block until ``handle``'s run has logged optimizer step ``step`` (True) or ended first
    (False) — e.g. to change the learning rate part-way through a run in a script."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e["type"] == "step" and e["step"] >= step for e in handle.history):
            return True
        if handle.done:
            return False
        time.sleep(0.05)
    raise TimeoutError(f"step {step} was not reached within {timeout:.0f}s")
