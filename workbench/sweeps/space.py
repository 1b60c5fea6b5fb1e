"""The search space of a sweep, declared against config field names and checked against
their metadata.

A space is a mapping ``{setting: spec}`` — in YAML::

    lr: {low: 1.0e-5, high: 1.0e-3}          # log scale: lr's metadata says log=True
    weight_decay: {low: 0.0, high: 0.1}
    dropout: {low: 0.0, high: 0.3, step: 0.05}
    method: [full, lora]                      # a list: choose among these values
    lora_r: [4, 8, 16]                        # only drawn when the trial's method is lora

Any numeric setting takes a range (``low``/``high``, optional ``log`` and ``step``); any
numeric, true/false or choice setting (``method``, ``scheduler``, …) and ``model`` take a
list of values. Every bound and every listed value is checked the way a run's own config
is (:mod:`workbench.config`: range, whole numbers, choices), together with the rest of the
base config, so a space that would produce an invalid trial is refused before anything
runs: one :class:`~workbench.config.ConfigError` naming the setting and what is allowed.

Settings of one adaptation method (``lora_r`` …) are *conditional*: a trial draws them only
when its method uses them, so ``method: [full, lora]`` with ``lora_r: [4, 8]`` never
passes a LoRA rank to a full fine-tune.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workbench.config import ConfigError, TrainConfig, all_fields, unknown_setting
from workbench.methods import METHODS

#: Settings a sweep never varies, each with its reason (shown when one is named).
FIXED: dict[str, str] = {
    "task": "trials of one sweep share a task (and so an objective); sweep each task apart",
    "dataset": "trials are compared on one validation split; sweep each dataset apart",
    "early_stopping_metric": "a sweep keeps each trial's checkpoint that is best by the "
    "sweep's objective",
    "device": "where trials run is the machine's business, not a hyperparameter",
    "out": "each trial writes its own run directory inside the sweep folder",
    "runs_dir": "each trial writes its own run directory inside the sweep folder",
    "save_checkpoints": "trials keep checkpoints so a killed sweep can resume them",
    "pinned_texts": "not a hyperparameter",
}
#: Free-text settings that may still be listed as choices.
TEXT_CHOICES = ("model",)
MAX_GRID = 10_000  # points a grid sampler may have to visit


@dataclass(frozen=True)
class Param:
    """One varying setting: a numeric range or a list of choices."""

    name: str
    kind: str  # "float" | "int" | "choice"
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    methods: tuple[str, ...] = ()  # only drawn for these methods (empty: always)

    def to_dict(self) -> Any:
        """The YAML form: a list for choices, ``{low, high[, log][, step]}`` for a range."""
        if self.kind == "choice":
            return list(self.choices)
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out

    def describe(self) -> str:
        """``lr 1e-05…0.001 (log)`` / ``method in full, lora``."""
        if self.kind == "choice":
            return f"{self.name} in {', '.join(str(c) for c in self.choices)}"
        extra = " (log)" if self.log else f" step {self.step:g}" if self.step else ""
        return f"{self.name} {self.low:g}…{self.high:g}{extra}"

    def suggest(self, trial: Any) -> Any:
        """Draw this setting's value for an Optuna trial (``trial.suggest_*``)."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            step = int(self.step or 1)
            return trial.suggest_int(
                self.name, int(self.low or 0), int(self.high or 0), step=step, log=self.log
            )
        low, high = float(self.low or 0.0), float(self.high or 0.0)
        return trial.suggest_float(self.name, low, high, log=self.log, step=self.step)

    def grid(self) -> list[Any]:
        """Every value a grid sampler visits (choices, or the range at ``step``)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.step is None and self.kind == "float":
            raise ConfigError(
                f"the grid sampler needs a step or a list of values for {self.name}; add "
                f"step: … to its range or list the values to try"
            )
        step = self.step or 1
        low, high = float(self.low or 0), float(self.high or 0)
        count = int(math.floor((high - low) / step + 1e-9)) + 1
        values = [low + i * step for i in range(count)]
        if self.kind == "int":
            return [int(round(v)) for v in values]
        return [round(v, 12) for v in values]


class SearchSpace:
    """The varying settings of a sweep, in the order given (method first when it varies)."""

    def __init__(self, params: list[Param]) -> None:
        if not params:
            raise ConfigError(
                "the search space is empty: name at least one setting to vary, e.g. "
                "lr: {low: 1.0e-5, high: 1.0e-3}"
            )
        # method first: conditional settings look at the method the trial drew
        self.params = sorted(params, key=lambda p: p.name != "method")

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def to_dict(self) -> dict[str, Any]:
        return {p.name: p.to_dict() for p in self.params}

    def describe(self) -> str:
        return "; ".join(p.describe() for p in self.params)

    def suggest(self, trial: Any, base: TrainConfig) -> dict[str, Any]:
        """The settings of one trial: every unconditional setting, and each method's own
        settings only when the trial's method uses them."""
        values: dict[str, Any] = {}
        for p in self.params:
            method = values.get("method", base.model.method)
            if p.methods and method not in p.methods:
                continue
            values[p.name] = p.suggest(trial)
        return values

    def grid(self) -> dict[str, list[Any]]:
        """The grid a ``GridSampler`` walks; ConfigError when it cannot be one."""
        conditional = [p.name for p in self.params if p.methods and "method" in self.names]
        if conditional:
            raise ConfigError(
                f"the grid sampler needs every setting in every trial, but "
                f"{', '.join(conditional)} only apply to some methods; use tpe or random, "
                "or fix the method"
            )
        grid = {p.name: p.grid() for p in self.params}
        size = math.prod(len(v) for v in grid.values())
        if size > MAX_GRID:
            raise ConfigError(
                f"the grid has {size:,} points (more than {MAX_GRID:,}); use larger steps, "
                "fewer values, or the tpe or random sampler"
            )
        return grid

    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid().values())


def parse_space(data: Any, base: TrainConfig) -> SearchSpace:
    """Read and check a space mapping (a parsed ``space.yaml``) against ``base``'s fields.

    Raises :class:`~workbench.config.ConfigError` for an unknown or fixed setting, a range
    outside the setting's allowed values, a log range touching 0, an empty or invalid list
    of choices, or a method setting no trial could use.
    """
    if isinstance(data, Mapping) and set(data) == {"space"}:
        data = data["space"]  # a file may nest it under one key
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"the search space must map setting names to ranges or lists of values; got "
            f"{type(data).__name__}"
        )
    kinds = {f.name: (f, tp) for _, f, tp in all_fields()}
    method_choices = _method_choices(data, base)
    params = []
    for name, spec in data.items():
        name = str(name)
        if name not in kinds:
            raise unknown_setting(name, " in the search space")
        if name in FIXED:
            raise ConfigError(f"{name} cannot vary in a sweep: {FIXED[name]}")
        field, tp = kinds[name]
        param = _parse_param(name, spec, field, tp)
        param = _with_methods(param, base, method_choices)
        _check_values(param, base)
        params.append(param)
    return SearchSpace(params)


def _method_choices(data: Mapping[str, Any], base: TrainConfig) -> tuple[str, ...]:
    spec = data.get("method")
    if isinstance(spec, Mapping):
        spec = spec.get("choices")
    if isinstance(spec, (list, tuple)):
        return tuple(str(m) for m in spec)
    return (base.model.method,)


def _parse_param(name: str, spec: Any, field: Any, tp: Any) -> Param:
    """One entry of the space: a list (choices) or a ``{low, high, log, step}`` mapping."""
    numeric = tp in (int, float)
    choosable = numeric or tp is bool or "choices" in field.metadata or name in TEXT_CHOICES
    if not choosable:
        raise ConfigError(
            f"{name} cannot vary in a sweep: only numeric, true/false and choice settings "
            "(and model) can"
        )
    if isinstance(spec, Mapping) and "choices" in spec:
        extra = set(spec) - {"choices"}
        if extra:
            raise ConfigError(f"{name}: a list of choices takes no {', '.join(sorted(extra))}")
        spec = spec["choices"]
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise ConfigError(f"{name}: the list of choices is empty; list at least one value")
        values = tuple(spec)
        if len({repr(v) for v in values}) < len(values):
            raise ConfigError(f"{name}: the list of choices repeats a value: {list(values)}")
        if tp in (int, float):
            values = tuple(_yaml_number(v) for v in values)
        if tp is float:  # YAML reads 1 as an int: a float setting gets floats
            values = tuple(float(v) if _is_number(v) else v for v in values)
        if tp is int:  # and 16.0 as a float: a whole-number setting gets ints
            values = tuple(int(v) if isinstance(v, float) and v.is_integer() else v for v in values)
        return Param(name, "choice", choices=values)
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"{name}: give a range {{low: …, high: …}} or a list of values; got {spec!r}"
        )
    if not numeric:
        allowed = field.metadata.get("choices")
        hint = f" (e.g. [{', '.join(map(str, allowed))}])" if allowed else ""
        raise ConfigError(f"{name} is not numeric: give a list of values{hint}, not a range")
    return _parse_range(name, spec, field, tp)


def _parse_range(name: str, spec: Mapping[str, Any], field: Any, tp: Any) -> Param:
    extra = set(spec) - {"low", "high", "log", "step"}
    if extra:
        raise ConfigError(
            f"{name}: unknown key(s) {', '.join(sorted(map(str, extra)))} in its range; a range "
            "takes low, high, log and step"
        )
    if "low" not in spec or "high" not in spec:
        raise ConfigError(f"{name}: a range needs both low and high; got {dict(spec)}")
    low, high = _yaml_number(spec["low"]), _yaml_number(spec["high"])
    for label, v in (("low", low), ("high", high)):
        if not _is_number(v) or not math.isfinite(v):
            raise ConfigError(f"{name}: {label} must be a number; got {v!r}")
        if tp is int and not float(v).is_integer():
            raise ConfigError(f"{name} is a whole number: {label} must be one; got {v!r}")
    if not low < high:
        raise ConfigError(
            f"{name}: low must be below high; got {low}…{high} (to fix a value, set it in the "
            "base config instead)"
        )
    log = spec.get("log", bool(field.metadata.get("log", False)))
    if not isinstance(log, bool):
        raise ConfigError(f"{name}: log must be true or false; got {log!r}")
    step = _yaml_number(spec.get("step"))
    if step is not None:
        if not _is_number(step) or not step > 0 or (tp is int and not float(step).is_integer()):
            kind = "a positive whole number" if tp is int else "a positive number"
            raise ConfigError(f"{name}: step must be {kind}; got {step!r}")
        if step > high - low:
            raise ConfigError(f"{name}: step {step} is wider than the range {low}…{high}")
        if log:
            raise ConfigError(f"{name}: a range is either log scale or stepped, not both")
    if log and low <= 0:
        raise ConfigError(
            f"{name}: a log-scale range must stay above 0; got low {low} (use a small positive "
            f"low such as 1e-6, or log: false)"
        )
    kind = "int" if tp is int else "float"
    cast = int if tp is int else float
    return Param(
        name,
        kind,
        low=cast(low),
        high=cast(high),
        log=log,
        step=None if step is None else cast(step),
    )


def _with_methods(param: Param, base: TrainConfig, method_choices: tuple[str, ...]) -> Param:
    """Mark a method's own setting (``lora_r``) as drawn only for the methods using it; a
    ConfigError when none of the sweep's methods does."""
    users = tuple(m for m, impl in METHODS.items() if param.name in impl.settings)
    if not users:
        return param
    usable = tuple(m for m in method_choices if m in users)
    if not usable:
        raise ConfigError(
            f"{param.name} applies only to method {' or '.join(users)}, but the sweep's "
            f"method is {' / '.join(method_choices)}; add {users[0]} to the methods it tries "
            f"(method: [{', '.join((*method_choices, users[0]))}]) or leave {param.name} out"
        )
    if usable == method_choices and len(method_choices) == 1:
        return param  # the one method of every trial uses it: always drawn
    return Param(**{**param.__dict__, "methods": usable})


def _check_values(param: Param, base: TrainConfig) -> None:
    """Each bound and each choice, set on the base config as a trial would set it."""
    values = param.choices if param.kind == "choice" else (param.low, param.high)
    for value in values:
        changes: dict[str, Any] = {param.name: value}
        if param.name == "model":
            changes["task"] = base.model.task  # a sweep never switches task (FIXED)
        if param.methods and base.model.method not in param.methods:
            changes["method"] = param.methods[0]
        try:
            base.replace(**changes)
        except ConfigError as err:
            what = "value" if param.kind == "choice" else "range bound"
            raise ConfigError(f"search space: {param.name} {what} {value!r}: {err}") from None


def _yaml_number(v: Any) -> Any:
    """``'1e-3'`` as 0.001: YAML 1.1 (PyYAML) reads a float without a dot as a string."""
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def sweepable_fields() -> list[tuple[str, Any, Any]]:
    """``(section, field, type)`` of every setting a sweep can vary, in config order."""
    out = []
    for section, f, tp in all_fields():
        if f.name in FIXED or typing.get_origin(tp) is tuple:
            continue
        if tp in (int, float, bool) or "choices" in f.metadata or f.name in TEXT_CHOICES:
            out.append((section, f, tp))
    return out
