"""Pre-flight: label noise, where the data says how sure its annotators were.

Some datasets carry a confidence per label (the tweets: the share of annotators who
agreed). Rows under 0.5 are labels most annotators did not give: training on many of them
teaches the disagreement. ``min_confidence`` drops them.
"""

from __future__ import annotations

import numpy as np

from workbench.coach.base import Check, Finding, PreflightFacts, share

#: Confidence under which a label counts as doubtful.
DOUBTFUL = 0.5
#: Share of doubtful training labels from which it is worth a warning.
WARN_SHARE = 0.10


class LabelNoise(Check):
    name = "label-noise"
    summary = "Share of training labels with low annotator confidence."

    def run(self, facts: PreflightFacts) -> list[Finding]:
        confidence = getattr(facts.data.train, "confidence", None)
        if not confidence or facts.config.data.min_confidence >= DOUBTFUL:
            return []
        values = np.asarray(confidence, dtype=float)
        known = values[~np.isnan(values)]
        doubtful = int((known < DOUBTFUL).sum())
        if not len(known) or doubtful / len(known) < WARN_SHARE:
            return []
        return [
            self.finding(
                "warning",
                f"{doubtful:,} of {len(known):,} training labels ({share(doubtful, len(known))}) "
                f"have annotator confidence under {DOUBTFUL}",
                "labels most annotators disagreed with teach the model the disagreement "
                "and cap the score it can reach",
                fix=f"keep labels with confidence ≥ {DOUBTFUL}",
                changes={"min_confidence": DOUBTFUL},
            )
        ]
