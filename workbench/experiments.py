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

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from workbench.config import TrainConfig
from workbench.errors import RunError
from workbench.methods import METHODS, get_method
from workbench.models.catalog import estimate_training_memory, find_entry
from workbench.runs import Run, config_differences, load_run
from workbench.tasks import get_task

#: File in a run directory holding the label :func:`run_variants` gave the run.
VARIANT_FILE = "variant.json"

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


#: Validation points a lesson's curve gets (``lesson_config`` picks ``eval_every`` for it).
EVALUATIONS_PER_RUN = 6


def planned_steps(cfg: TrainConfig) -> int:
    """Optimizer steps ``cfg`` plans, counted from its sample cap (as the engine counts them
    from the prepared data; the built-in tweets have far more rows than any cap)."""
    import math

    rows = cfg.data.max_train_samples or 0
    per_epoch = max(1, math.ceil(math.ceil(rows / cfg.optim.batch_size) / cfg.optim.grad_accum))
    return max(1, math.ceil(cfg.optim.epochs * per_epoch))


def auto_eval_every(cfg: TrainConfig, evaluations: int = EVALUATIONS_PER_RUN) -> int:
    """``eval_every`` that gives ``cfg``'s run about ``evaluations`` validation points."""
    return max(1, planned_steps(cfg) // evaluations)


def lesson_config(small: bool = True, **changes: Any) -> TrainConfig:
    """The offline default sized for a lesson: ``small`` for a minute-long run on a laptop
    CPU (continuous integration runs every notebook this way), else a few minutes' run.

    ``small``: 384 training tweets, 200 validation and 200 test tweets (a score on 200 moves
    in half-point steps, not the 3-point steps of 32), 32 tokens, batch 16, two epochs (48
    steps), no checkpoints. Otherwise: 2,000 / 500 tweets, 64 tokens, 3 epochs. ``changes``
    are applied on top, by setting name. Unless ``eval_every`` is among them, it is chosen
    for about :data:`EVALUATIONS_PER_RUN` validation points per curve.
    """
    size: dict[str, Any] = (
        {"max_train_samples": 384, "max_eval_samples": 200, "max_length": 32, "epochs": 2.0}
        if small
        else {"max_train_samples": 2000, "max_eval_samples": 500, "max_length": 64, "epochs": 3.0}
    )
    base = TrainConfig().replace(batch_size=16, save_checkpoints=False, **size)
    cfg = base.replace(**changes) if changes else base
    return cfg if "eval_every" in changes else cfg.replace(eval_every=auto_eval_every(cfg))


def describe_config(cfg: TrainConfig) -> str:
    """One line a lesson prints instead of the whole YAML: what trains, on what, how long.

    >>> describe_config(lesson_config())   # doctest: +ELLIPSIS
    "minilm-l6 · full fine-tune at lr 0.0001 (the method's default) · 384 training / 200 ..."
    """
    resolved = cfg.resolved()  # lr None: the method's default
    m, d, o = resolved.model, resolved.data, resolved.optim
    rate = f"lr {o.lr:g}" + (" (the method's default)" if cfg.optim.lr is None else "")
    method = "full fine-tune" if m.method == "full" else m.method
    pretrained = "" if m.pretrained else " (random init)"
    evals = f"validation every {o.eval_every} steps" if o.eval_every else "validation each epoch"
    cap = d.max_eval_samples
    sizes = (
        f"{d.max_train_samples or 'all'} training / {cap or 'all'} validation / "
        f"{cap or 'all'} test examples of {d.dataset}"
    )
    return (
        f"{m.model}{pretrained} · {method} at {rate} · {sizes} · "
        f"{get_task(m.task).describe_inputs(resolved)} · "
        f"batch {o.batch_size} × {o.epochs:g} epochs ({planned_steps(cfg)} steps) · {evals}"
    )


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
        ``{label: {setting: value, ...}}``; an empty mapping trains ``base`` as is. When
        ``base`` has the automatic ``eval_every`` of :func:`lesson_config`, a variant that
        changes the steps (batch size, epochs, data size) gets its own, so every curve has
        about as many validation points.
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
    from workbench.runs import train

    auto = base.optim.eval_every == auto_eval_every(base)
    configs = {}
    for label, changes in variants.items():
        cfg = base.replace(**dict(changes))
        if auto and "eval_every" not in changes:  # same number of validation points each
            cfg = cfg.replace(eval_every=auto_eval_every(cfg))
        configs[label] = cfg
    runs: dict[str, Run] = {}
    for label, cfg in configs.items():
        if on_start is not None:
            on_start(label, cfg)
        handle = train(cfg, data=data)
        summary = handle.wait() or {}
        if summary.get("status") == "failed" or handle.run_dir is None:
            raise RunError(f"variant {label!r} failed: {summary.get('error', 'no message')}")
        # The label travels with the run: the Runs tab, reports and tests can name it.
        (handle.run_dir / VARIANT_FILE).write_text(json.dumps({"label": label}), "utf-8")
        runs[label] = load_run(handle.run_dir)
    return runs


def variant_label(run_dir: str | Path) -> str | None:
    """The label :func:`run_variants` gave the run in ``run_dir`` (None: not a variant)."""
    path = Path(run_dir) / VARIANT_FILE
    try:
        return str(json.loads(path.read_text("utf-8"))["label"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def comparison_table(runs: Mapping[str, Run], columns: tuple[str, ...] = COLUMNS) -> list[dict]:
    """One row per run: its label, the settings that differ between the runs, the summary
    numbers in ``columns`` and the estimated peak training memory (``memory_mb_estimate``).

    A setting only some methods use (LoRA's ``lora_r``) reads "—" on the rows of the others.
    The memory column is :func:`workbench.models.catalog.estimate_training_memory` for the
    run's trainable/total parameters, batch size and length (catalog models only): measured
    process memory cannot separate runs made one after another in one process.
    """
    differences = config_differences(list(runs.values()))
    for where in ("out", "runs_dir"):  # where a run was written is not a setting it tried
        differences.pop(where, None)
    specific = {name for m in METHODS.values() for name in m.settings}
    rows = []
    for i, (label, run) in enumerate(runs.items()):
        row: dict[str, Any] = {"run": label}
        # A method's own setting (LoRA's rank) means nothing for another method: blank.
        used = set(get_method(run.config.model.method).settings)
        row.update(
            {
                key: values[i] if key not in specific or key in used else "—"
                for key, values in differences.items()
            }
        )
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
