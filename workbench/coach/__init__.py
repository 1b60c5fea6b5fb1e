"""The coach: checks before a run (pre-flight) and a diagnosis after it.

Every check is one file with a :class:`~workbench.coach.base.Check` subclass, registered
in ``CHECKS`` below and run through the conformance test ``tests/test_coach.py`` (each
fires on a constructed case and stays silent on a healthy one). Adding a check = one file
+ one line here + one row there.

>>> findings = preflight(config, data)        # before step 1 (the engine runs it too)
>>> findings = diagnose(config, events, summary, test_balance)   # after the run

The engine runs pre-flight in ``build_session`` (an ``error`` finding stops the run before
its first step with :class:`CoachError`) and writes both stages to ``summary.json`` as
``findings``; the CLI prints them as ``warning: …`` lines, the widgets with **Apply**.
"""

from __future__ import annotations

from typing import Any

from workbench.coach.balance import ClassBalance
from workbench.coach.base import Check, Finding, PreflightFacts, RunFacts
from workbench.coach.chance import AtChance
from workbench.coach.cleaning import CleaningReport
from workbench.coach.early_stop import EarlyStopAtFirst
from workbench.coach.eval_size import EvalSize
from workbench.coach.instability import Instability
from workbench.coach.label_noise import LabelNoise
from workbench.coach.leakage import Leakage
from workbench.coach.memory import MemoryFit
from workbench.coach.overfitting import Overfitting
from workbench.coach.steps import StepBudget
from workbench.coach.truncation import Truncation
from workbench.coach.underfitting import Underfitting
from workbench.errors import UserError
from workbench.tasks.base import token_lengths

CHECKS: dict[str, Check] = {
    c.name: c
    for c in (
        CleaningReport(),
        StepBudget(),
        ClassBalance(),
        EvalSize(),
        Truncation(),
        Leakage(),
        LabelNoise(),
        MemoryFit(),
        AtChance(),
        Underfitting(),
        Overfitting(),
        Instability(),
        EarlyStopAtFirst(),
    )
}

ORDER = {"error": 0, "warning": 1, "info": 2}


class CoachError(UserError):
    """A pre-flight check found a setting the run cannot succeed with."""


def preflight(config: Any, data: Any, **facts: Any) -> list[Finding]:
    """Pre-flight findings for ``config`` on prepared ``data``, most severe first.

    ``facts`` fill in :class:`PreflightFacts` (token ``lengths``, model sizes, device,
    planned steps); checks that need a missing fact stay silent.
    """
    return _run("preflight", PreflightFacts(config=config, data=data, **facts))


def diagnose(
    config: Any,
    events: list[dict[str, Any]],
    summary: dict[str, Any],
    test_balance: dict[str, int] | None = None,
) -> list[Finding]:
    """Post-run findings from a run's events and summary, most severe first."""
    return _run("diagnosis", RunFacts(config, events, summary, test_balance))


def _run(stage: str, facts: Any) -> list[Finding]:
    found = [f for c in CHECKS.values() if c.stage == stage for f in c.run(facts)]
    return sorted(found, key=lambda f: ORDER[f.severity])


def raise_errors(findings: list[Finding]) -> None:
    """Stop before the first step when a finding is an error; the message says the fix."""
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise CoachError("; ".join(f.line().removeprefix("error: ") for f in errors))


def combined_changes(findings: list[Any]) -> dict[str, Any]:
    """All findings' changes in one mapping; where two change the same setting, the more
    severe (earlier) one wins. Accepts findings or their ``to_dict()`` form."""
    merged: dict[str, Any] = {}
    for f in findings:
        changes = f.changes if isinstance(f, Finding) else f.get("changes") or {}
        for name, value in changes.items():
            merged.setdefault(name, value)
    return merged


def describe(finding: Finding | dict[str, Any]) -> list[str]:
    """A finding as terminal lines: ``warning: …``, then why and the fix with its flags."""
    f = finding if isinstance(finding, Finding) else Finding.from_dict(finding)
    label = "note" if f.severity == "info" else f.severity
    lines = [f"{label}: {f.message}", f"  why: {f.why}"]
    if f.fix or f.changes:
        fix = f.fix + (f" ({f.flags()})" if f.changes else "")
        lines.append(f"  fix: {fix.strip()}")
    return lines


__all__ = [
    "CHECKS",
    "Check",
    "CoachError",
    "Finding",
    "PreflightFacts",
    "RunFacts",
    "combined_changes",
    "describe",
    "diagnose",
    "preflight",
    "raise_errors",
    "token_lengths",
]
