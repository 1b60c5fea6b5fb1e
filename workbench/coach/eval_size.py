"""Pre-flight: validation and test sets large enough for their scores to mean something.

The 95 % interval of an accuracy measured on n examples is about ±1/√n wide at its widest:
±0.17 on 32 examples. Two runs 10 points apart on such a split are not different runs.
"""

from __future__ import annotations

import math

from workbench.coach.base import Check, Finding, PreflightFacts, accuracy_interval_width

#: Widest interval (95 %, at accuracy 0.5) accepted without a word: about 100 examples.
WIDEST = 0.2
#: Held-out size that brings the interval under ``WIDEST``.
TARGET = 100
#: Largest held-out share the fix proposes: more would starve training (and cut the
#: steps the step check counts on).
MOST_FRACTION = 0.2


class EvalSize(Check):
    name = "eval-size"
    summary = "Validation/test large enough for a meaningful score."

    def run(self, facts: PreflightFacts) -> list[Finding]:
        if not facts.data.labels:
            return []  # generation tasks report loss and perplexity, averaged over tokens
        sizes = {s: len(getattr(facts.data, s)) for s in ("val", "test")}
        small = {s: n for s, n in sizes.items() if accuracy_interval_width(n) > WIDEST}
        if not small:
            return []
        n = min(small.values())
        width = accuracy_interval_width(n)
        changes = _remedy(facts)
        names = " and ".join(f"{s} {k}" for s, k in small.items())
        return [
            self.finding(
                "warning",
                f"held-out splits are small ({names} examples): the 95 % interval of an "
                f"accuracy near 0.5 on {n} examples is {width:.2f} wide (±{width / 2:.2f})",
                "differences between runs smaller than that are noise, and so is a "
                "checkpoint picked by it",
                fix=f"hold out at least {TARGET} examples"
                if changes
                else "collect more data, and compare runs on validation loss rather than accuracy",
                changes=changes,
            )
        ]


def _remedy(facts: PreflightFacts) -> dict[str, object]:
    cfg = facts.config.data
    rows = sum(len(getattr(facts.data, s)) for s in ("train", "val", "test"))
    changes: dict[str, object] = {}
    if cfg.max_eval_samples is not None and cfg.max_eval_samples < TARGET:
        changes["max_eval_samples"] = TARGET
    wanted = math.ceil(100 * TARGET / max(rows, 1)) / 100
    if wanted <= MOST_FRACTION:
        for name in ("val_fraction", "test_fraction"):
            if getattr(cfg, name) < wanted:
                changes[name] = wanted
    elif not changes:
        return {}
    return changes
