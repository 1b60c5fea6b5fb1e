"""What a coach check is and what it says: a :class:`Finding` with its numbers and its fix.

A check looks at one thing (the step budget, the class balance, the loss curve …) and
returns zero or more findings. Pre-flight checks read :class:`PreflightFacts` (the config
and the prepared data, plus what is known once the model is loaded); diagnosis checks read
:class:`RunFacts` (the run's events and summary). Each check is one file that registers in
:mod:`workbench.coach` (CONVENTIONS rule 3), like the adaptation methods.

A finding's ``changes`` are flat config settings (``{"batch_size": 8, "epochs": 6}``): the
widget's **Apply** sets exactly those controls, the CLI prints them as flags, and
:meth:`Finding.apply` gives the changed config.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from workbench.config import TrainConfig

SEVERITIES = ("info", "warning", "error")
STAGES = ("preflight", "diagnosis", "export")  # export: the export check (workbench.deploy)


@dataclass(frozen=True)
class Finding:
    """One thing the coach saw.

    ``message`` is one line with the numbers; ``why`` says why it matters; ``fix`` is the
    advice in words; ``changes`` the settings that carry it out (may be empty when the fix
    is not a setting, e.g. "collect more data").
    """

    check: str
    severity: str
    message: str
    why: str
    fix: str = ""
    changes: dict[str, Any] = field(default_factory=dict)
    stage: str = "preflight"

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}; got {self.severity!r}")
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}; got {self.stage!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def flags(self) -> str:
        """The CLI flags that make ``changes`` (``--batch-size 8 --epochs 6``)."""
        return " ".join(setting_flag(name, value) for name, value in self.changes.items())

    def apply(self, config: TrainConfig) -> TrainConfig:
        """``config`` with this finding's changes made."""
        return config.replace(**self.changes) if self.changes else config

    def line(self) -> str:
        """``warning: <message> — <fix> (<flags>)`` for a terminal or a log."""
        text = f"{self.severity}: {self.message}"
        if self.fix:
            text += f" — {self.fix}"
        if self.changes:
            text += f" [{self.flags()}]"
        return text


def setting_flag(name: str, value: Any) -> str:
    """One setting as the CLI flag ``workbench train`` takes."""
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return flag if value else f"--no-{name.replace('_', '-')}"
    return f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}"


@dataclass
class PreflightFacts:
    """What pre-flight checks read. ``lengths`` and the model numbers are None before the
    tokenizer and the model are loaded (the widget's quick check); checks that need them
    stay silent then."""

    config: TrainConfig
    data: Any  # PreparedData, InstructData …: has train/val/test, labels, cleaning
    #: Token counts of the training texts before truncation.
    lengths: list[int] | None = None
    #: Longest input the model reads (its position table), when known.
    max_positions: int | None = None
    parameters: int | None = None
    trainable: int | None = None
    hidden_size: int | None = None
    num_layers: int | None = None
    device: str = "cpu"
    #: Optimizer steps per epoch and in all, when the session has counted them.
    steps_per_epoch: int | None = None
    total_steps: int | None = None

    def planned_steps(self) -> tuple[int, int]:
        """``(steps per epoch, total steps)``: the session's counts, else computed like it
        does (one process): batches per epoch over gradient accumulation, times epochs."""
        if self.steps_per_epoch is not None and self.total_steps is not None:
            return self.steps_per_epoch, self.total_steps
        return planned_steps(self.config, len(self.data.train))


def planned_steps(
    config: TrainConfig, train_rows: int, batch_size: int | None = None
) -> tuple[int, int]:
    """``(steps per epoch, total optimizer steps)`` for ``train_rows`` examples."""
    o = config.optim
    batches = math.ceil(train_rows / (batch_size or o.batch_size))
    per_epoch = max(1, math.ceil(batches / o.grad_accum))
    return per_epoch, max(1, math.ceil(o.epochs * per_epoch))


@dataclass
class RunFacts:
    """What diagnosis checks read: a finished run's config, events and summary, and the
    class counts of its test split when known (``{label: count}``)."""

    config: TrainConfig
    events: list[dict[str, Any]]
    summary: dict[str, Any]
    test_balance: dict[str, int] | None = None

    def steps(self) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e.get("type") == "step" and isinstance(e.get("loss"), (int, float))
        ]

    def evals(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == "eval"]

    def setup(self) -> dict[str, Any]:
        """The run's latest ``setup`` event (sizes, planned steps), or ``{}``."""
        found = [e for e in self.events if e.get("type") == "setup"]
        return found[-1] if found else {}


class Check:
    """Base class: subclasses set ``name``/``stage``/``summary`` and override ``run``."""

    name: ClassVar[str] = ""
    stage: ClassVar[str] = "preflight"
    summary: ClassVar[str] = ""

    def run(self, facts: Any) -> list[Finding]:
        raise NotImplementedError

    def finding(self, severity: str, message: str, why: str, **rest: Any) -> Finding:
        """A finding of this check, at this check's stage."""
        return Finding(self.name, severity, message, why, stage=self.stage, **rest)


def accuracy_interval_width(n: int, p: float = 0.5) -> float:
    """Width of the 95 % Wilson interval of an accuracy ``p`` measured on ``n`` examples.

    At p = 0.5 (the widest) and n = 32 it is 0.33: two runs 10 points apart on 32
    examples are not distinguishable. The Wilson interval stays inside [0, 1] and is
    sound at small n, unlike the normal approximation.
    """
    if n <= 0:
        return 1.0
    z = 1.959963984540054
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denom = 1 + z * z / n
    return float(min(1.0, (centre + half) / denom) - max(0.0, (centre - half) / denom))


def share(part: float, whole: float) -> str:
    """``12 %`` (one decimal under 10 %: ``2.5 %``)."""
    if whole <= 0:
        return "0 %"
    pct = 100 * part / whole
    return f"{pct:.1f} %" if 0 < pct < 10 else f"{pct:.0f} %"
