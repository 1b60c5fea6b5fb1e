"""Diagnosis: unstable training — loss spikes and gradient-norm explosions.

A spike is a step whose loss is over twice the median of the 20 steps before it and at
least 1 nat above it; an explosion a pre-clipping gradient norm over 10× the median of the
20 steps before it and over 10× the clipping threshold (a norm the clipping cuts down to
size is harmless; late in a run the norms shrink, so a run-wide median would flag every
ordinary step as an explosion). The first tenth of the run (warmup, a random head) is not
judged. Both usually mean a
learning rate too high for the method, too little warmup, or no gradient clipping.
"""

from __future__ import annotations

import numpy as np

from workbench.coach.base import Check, Finding, RunFacts

WINDOW = 20
SPIKE_RATIO, SPIKE_NATS = 2.0, 1.0
EXPLOSION = 10.0


def spikes(losses: list[float], start: int) -> list[int]:
    """Indexes of loss spikes from ``start`` on."""
    out = []
    for i in range(max(start, 1), len(losses)):
        before = float(np.median(losses[max(0, i - WINDOW) : i]))
        if losses[i] > SPIKE_RATIO * before and losses[i] - before >= SPIKE_NATS:
            out.append(i)
    return out


def explosions(norms: list[float], start: int, clip: float) -> list[int]:
    """Indexes of gradient-norm explosions from ``start`` on (``clip`` 0: no clipping)."""
    out = []
    for i in range(max(start, 1), len(norms)):
        before = float(np.median(norms[max(0, i - WINDOW) : i]))
        if before > 0 and norms[i] > EXPLOSION * max(before, clip):
            out.append(i)
    return out


class Instability(Check):
    name = "instability"
    stage = "diagnosis"
    summary = "Loss spikes and gradient-norm explosions."

    def run(self, facts: RunFacts) -> list[Finding]:
        steps = facts.steps()
        if len(steps) < WINDOW:
            return []
        start = len(steps) // 10
        losses = [float(e["loss"]) for e in steps]
        spiked = spikes(losses, start)
        norms = [float(e.get("grad_norm") or 0.0) for e in steps]
        exploded = explosions(norms, start, facts.config.regularization.max_grad_norm)
        if not spiked and not exploded:
            return []
        parts = []
        if spiked:
            at = ", ".join(str(steps[i]["step"]) for i in spiked[:5])
            parts.append(f"{len(spiked)} loss spike{'s' if len(spiked) > 1 else ''} (step {at})")
        if exploded:
            peak = int(max(exploded, key=lambda i: norms[i]))
            before = float(np.median(norms[max(0, peak - WINDOW) : peak]))
            parts.append(
                f"gradient norm up to {norms[peak]:.3g} at step {steps[peak]['step']} "
                f"(median of the {WINDOW} steps before: {before:.3g})"
            )
        o, reg = facts.config.optim, facts.config.regularization
        changes: dict[str, object] = {}
        if o.lr:
            changes["lr"] = float(f"{o.lr / 2:.2g}")
        if reg.max_grad_norm == 0:
            changes["max_grad_norm"] = 1.0
        if o.warmup_fraction < 0.1:
            changes["warmup_fraction"] = 0.1
        return [
            self.finding(
                "warning",
                "unstable training: " + "; ".join(parts),
                "large jumps undo what earlier steps learned and can end in NaN",
                fix="halve the learning rate, warm up longer, keep gradient clipping on",
                changes=changes,
            )
        ]
