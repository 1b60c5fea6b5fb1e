"""What a sweep is: base settings, search space, objective, sampler, pruner and budget.

A :class:`SweepSpec` is checked as a whole before anything is written (CLI contract: a bad
input is one ``error: …`` line and exit code 2, and nothing on disk changes). It is saved
twice: as ``sweep.yaml`` in the sweep folder (readable, and what ``--resume DIR`` reads)
and in the Optuna study's user attributes (what a worker on another machine reads when it
joins through a database URL). A study whose stored definition differs from the one given
— another space, objective or base config — is refused rather than mixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from workbench.config import ConfigError, TrainConfig
from workbench.sweeps.space import SearchSpace, parse_space

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("none", "median", "asha", "hyperband")
DIRECTIONS = ("auto", "maximize", "minimize")
LOWER_IS_BETTER = ("val_loss", "val_perplexity")
MAX_TRIALS = 10_000


@dataclass(frozen=True)
class SweepSpec:
    """A sweep's whole definition (see the module docstring)."""

    config: TrainConfig
    space: SearchSpace
    objective: str = "val_macro_f1"
    direction: str = "maximize"
    sampler: str = "tpe"
    pruner: str = "median"
    trials: int = 12
    timeout_minutes: float | None = None
    study: str = "sweep"

    # -- the trial -----------------------------------------------------------------
    def trial_config(self, params: dict[str, Any], run_dir: Path) -> TrainConfig:
        """The run of one trial: the base config with the trial's values, written to
        ``run_dir``, keeping the checkpoint that is best by the objective."""
        changes: dict[str, Any] = {**params, "out": str(run_dir)}
        if "model" in params:
            changes["task"] = self.config.model.task
        return self.config.replace(**changes)

    def better(self, a: float, b: float | None) -> bool:
        """``a`` beats ``b`` in this sweep's direction (``b`` None: nothing to beat)."""
        return b is None or (a < b if self.direction == "minimize" else a > b)

    # -- saving ----------------------------------------------------------------------
    def definition(self) -> dict[str, Any]:
        """What must match for two workers to share a study (the budget may differ)."""
        return {
            "objective": self.objective,
            "direction": self.direction,
            "space": self.space.to_dict(),
            "config": _comparable(self.config),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "objective": self.objective,
            "direction": self.direction,
            "sampler": self.sampler,
            "pruner": self.pruner,
            "trials": self.trials,
            "timeout_minutes": self.timeout_minutes,
            "space": self.space.to_dict(),
            "config": self.config.to_dict(),
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepSpec:
        config = TrainConfig.from_dict(data["config"])
        return make_spec(
            config,
            data["space"],
            objective=data.get("objective"),
            direction=data.get("direction", "auto"),
            sampler=data.get("sampler", "tpe"),
            pruner=data.get("pruner", "median"),
            trials=data.get("trials", 12),
            timeout_minutes=data.get("timeout_minutes"),
            study=data.get("study", "sweep"),
        )

    @classmethod
    def load(cls, path: Path) -> SweepSpec:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
            raise ConfigError(f"cannot read the sweep definition {path}: {err}") from None
        if not isinstance(data, dict) or "space" not in data or "config" not in data:
            raise ConfigError(f"{path} is not a sweep definition (no space and config)")
        try:
            return cls.from_dict(data)
        except ConfigError as err:
            raise ConfigError(f"in {path}: {err}") from None

    def with_budget(self, trials: int | None, timeout_minutes: float | None) -> SweepSpec:
        """The same sweep with another budget (``--resume … --trials 20`` goes on longer)."""
        spec = self
        if trials is not None:
            spec = replace(spec, trials=_check_trials(trials))
        if timeout_minutes is not None:
            spec = replace(spec, timeout_minutes=_check_timeout(timeout_minutes))
        return spec


def make_spec(
    config: TrainConfig,
    space: Any,
    *,
    objective: str | None = None,
    direction: str = "auto",
    sampler: str = "tpe",
    pruner: str = "median",
    trials: int = 12,
    timeout_minutes: float | None = None,
    study: str = "sweep",
) -> SweepSpec:
    """Check every part of a sweep's definition; ConfigError naming the first bad one."""
    from workbench.tasks import get_task
    from workbench.tasks.base import metric_key

    task = get_task(config.model.task)
    if objective is None:
        objective = metric_key(config.regularization.early_stopping_metric, task)
    if objective not in task.eval_metrics:
        raise ConfigError(
            f"objective must be a validation metric of task {task.name}: "
            f"{', '.join(task.eval_metrics)}; got {objective!r}"
        )
    _one_of("direction", direction, DIRECTIONS)
    _one_of("sampler", sampler, SAMPLERS)
    _one_of("pruner", pruner, PRUNERS)
    if direction == "auto":
        direction = "minimize" if objective in LOWER_IS_BETTER else "maximize"
    if not isinstance(study, str) or not study.strip():
        raise ConfigError(f"study must be a non-empty name; got {study!r}")
    if objective in ("val_macro_f1", "val_accuracy", "val_loss"):
        # each trial keeps (tests, exports) the checkpoint that is best by the objective
        config = config.replace(early_stopping_metric=objective)
    search = space if isinstance(space, SearchSpace) else parse_space(space, config)
    spec = SweepSpec(
        config=config.replace(out=None),
        space=search,
        objective=objective,
        direction=direction,
        sampler=sampler,
        pruner=pruner,
        trials=_check_trials(trials),
        timeout_minutes=None if timeout_minutes is None else _check_timeout(timeout_minutes),
        study=study.strip(),
    )
    if sampler == "grid":
        spec.space.grid()  # raises when the space is no grid
    return spec


def changes_between(stored: dict[str, Any], given: dict[str, Any]) -> str:
    """What differs between two :meth:`SweepSpec.definition` dicts, in words ('' if nothing)."""
    parts = []
    for key in ("objective", "direction"):
        if stored.get(key) != given.get(key):
            parts.append(f"{key} {stored.get(key)} → {given.get(key)}")
    if stored.get("space") != given.get("space"):
        parts.append(
            f"search space {_space_words(stored.get('space'))} → {_space_words(given.get('space'))}"
        )
    old, new = stored.get("config") or {}, given.get("config") or {}
    changed = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if changed:
        shown = ", ".join(f"{k} {old.get(k)!r} → {new.get(k)!r}" for k in changed[:4])
        more = f" and {len(changed) - 4} more" if len(changed) > 4 else ""
        parts.append(f"base settings {shown}{more}")
    return "; ".join(parts)


def _space_words(space: Any) -> str:
    if not isinstance(space, dict):
        return repr(space)
    return "{" + ", ".join(f"{k}: {v}" for k, v in space.items()) + "}"


def _comparable(config: TrainConfig) -> dict[str, Any]:
    """The base settings that decide what a trial trains (not where it is written)."""
    flat = config.flat()
    for name in ("out", "runs_dir", "save_checkpoints", "pinned_texts", "device"):
        flat.pop(name, None)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in flat.items()}


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _check_trials(trials: Any) -> int:
    if isinstance(trials, bool) or not isinstance(trials, int) or not 1 <= trials <= MAX_TRIALS:
        raise ConfigError(f"trials must be a whole number in [1, {MAX_TRIALS}]; got {trials!r}")
    return trials


def _check_timeout(minutes: Any) -> float:
    ok = isinstance(minutes, (int, float)) and not isinstance(minutes, bool)
    if not ok or not math.isfinite(minutes) or minutes <= 0:
        raise ConfigError(f"timeout must be a positive number of minutes; got {minutes!r}")
    return float(minutes)
