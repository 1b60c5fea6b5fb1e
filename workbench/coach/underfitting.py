"""Diagnosis: underfitting — the training loss still falling steeply at the end, or barely
moved at all.

Both read the per-step training loss, averaged over windows (a tenth of the run each) so
one noisy batch does not decide. "Still falling": the last quarter of the run took off at
least a quarter of the whole drop, so more steps would have gone on lowering it. "Barely
moved": the end is within 5 % of the start.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.coach.base import Check, Finding, RunFacts

FEWEST_STEPS = 8
STILL_FALLING = 0.25
BARELY = 0.05


def window_means(losses: list[float]) -> tuple[float, float, float]:
    """Mean loss of the first tenth, of the tenth before the last quarter, of the last."""
    values = np.asarray(losses, dtype=float)
    w = max(1, len(values) // 10)
    q = len(values) - len(values) // 4
    return (
        float(values[:w].mean()),
        float(values[max(0, q - w) : q].mean()),
        float(values[-w:].mean()),
    )


def loss_moved(steps: list[dict[str, Any]]) -> float | None:
    """Relative drop of the training loss from the first tenth to the last, or None."""
    if len(steps) < FEWEST_STEPS:
        return None
    first, _, last = window_means([e["loss"] for e in steps])
    return (first - last) / first if first > 0 else None


class Underfitting(Check):
    name = "underfitting"
    stage = "diagnosis"
    summary = "Training loss still falling steeply at the end, or barely moved."

    def run(self, facts: RunFacts) -> list[Finding]:
        steps = facts.steps()
        if len(steps) < FEWEST_STEPS or facts.summary.get("status") != "completed":
            return []
        first, before_last_quarter, last = window_means([e["loss"] for e in steps])
        cfg = facts.config
        if first > 0 and (first - last) / first < BARELY:
            lr = cfg.optim.lr or 0.0
            return [
                self.finding(
                    "warning",
                    f"training loss barely moved: {first:.3f} → {last:.3f} over {len(steps)} steps",
                    "the weights hardly changed: the rate is too low for this method, or "
                    "the steps too few",
                    fix=f"raise the learning rate (now {lr:g})",
                    changes={"lr": float(f"{min(1e-2, lr * 3):.2g}")} if lr else {},
                )
            ]
        drop, late = first - last, before_last_quarter - last
        if facts.summary.get("early_stopped") or drop <= 0 or late < STILL_FALLING * drop:
            return []
        epochs = min(100.0, cfg.optim.epochs * 2)
        return [
            self.finding(
                "info",
                f"training loss was still falling at the end: {before_last_quarter:.3f} → "
                f"{last:.3f} over the last quarter ({late / drop:.0%} of the whole drop)",
                "more training would probably have lowered it further",
                fix=f"train longer ({cfg.optim.epochs:g} → {epochs:g} epochs); watch the "
                "validation loss for overfitting",
                changes={"epochs": epochs},
            )
        ]
