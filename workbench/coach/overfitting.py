"""Diagnosis: overfitting — validation loss rising while the training loss falls.

The flag itself is :func:`workbench.diagnostics.detect_overfitting` (shared with the live
chart); this check turns it into a finding with its numbers and a change to apply, the
same as the flag's first suggestion (:func:`workbench.diagnostics.suggested_changes`): early
stopping on the validation loss when it is off (the best checkpoint is kept either way;
early stopping saves the wasted steps), else an L2-SP α or a weight decay sized for this
run's steps and rates, or nothing when no setting can act.
"""

from __future__ import annotations

from workbench.coach.base import Check, Finding, RunFacts
from workbench.diagnostics import detect_overfitting, flag_sentence, suggested_changes


class Overfitting(Check):
    name = "overfitting"
    stage = "diagnosis"
    summary = "Validation loss rising while the training loss falls."

    def run(self, facts: RunFacts) -> list[Finding]:
        flag = detect_overfitting(facts.events, facts.config)
        if flag is None:
            return []
        changes = suggested_changes(facts.config, facts.events)
        return [
            self.finding(
                "warning",
                flag_sentence(flag),
                "the model has started to memorize the training texts; later weights "
                "generalize worse (the run tests its best checkpoint, which need not be the last)",
                fix="; ".join(flag["suggestions"][:3]),
                changes=changes,
            )
        ]
