"""Diagnosis: early stopping that fired with the best score at the first evaluation.

Then nothing after the first evaluation ever improved on it: either the first evaluation
came late and the model had already peaked (evaluate more often), or the rate is so high
that training went downhill at once, or the patience is too short for a noisy metric.
"""

from __future__ import annotations

import math

from workbench.coach.base import Check, Finding, RunFacts


class EarlyStopAtFirst(Check):
    name = "early-stop"
    stage = "diagnosis"
    summary = "Early stopping fired with the first evaluation the best."

    def run(self, facts: RunFacts) -> list[Finding]:
        evals = facts.evals()
        if not facts.summary.get("early_stopped") or not evals:
            return []
        first = evals[0]["step"]
        if facts.summary.get("best_step") != first:
            return []
        reg, o = facts.config.regularization, facts.config.optim
        changes: dict[str, object] = {"early_stopping": reg.early_stopping + 2}
        if o.eval_every == 0 or o.eval_every >= first:
            changes["eval_every"] = max(1, math.ceil(first / 4))
        return [
            self.finding(
                "warning",
                f"early stopping fired at step {evals[-1]['step']}: the first evaluation "
                f"(step {first}) stayed the best of {len(evals)}",
                "the run may have stopped on noise, or peaked before anyone looked",
                fix=f"evaluate more often and be more patient (early_stopping "
                f"{reg.early_stopping} → {reg.early_stopping + 2})",
                changes=changes,
            )
        ]
