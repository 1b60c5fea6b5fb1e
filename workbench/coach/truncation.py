"""Pre-flight: share of training texts cut at ``max_length``.

Whatever lies past ``max_length`` tokens is never seen: a review whose verdict is in its
last sentence is trained on without it. The fix proposes the length that fits 95 % of the
texts, rounded up to a multiple of 8 (what GPU kernels like), within the model's limit.
"""

from __future__ import annotations

import math

import numpy as np

from workbench.coach.base import Check, Finding, PreflightFacts, share

#: Share of truncated texts from which it is worth a word.
QUIET_SHARE = 0.05


class Truncation(Check):
    name = "truncation"
    summary = "Share of texts longer than max_length."

    def run(self, facts: PreflightFacts) -> list[Finding]:
        if not facts.lengths:
            return []
        lengths = np.asarray(facts.lengths)
        limit = facts.config.model.max_length
        cut = int((lengths > limit).sum())
        if cut / len(lengths) < QUIET_SHARE:
            return []
        p95 = float(np.percentile(lengths, 95))
        longest_allowed = facts.max_positions or 512
        suggested = min(longest_allowed, int(math.ceil(p95 / 8) * 8))
        changes = {"max_length": suggested} if suggested > limit else {}
        return [
            self.finding(
                "warning",
                f"{cut:,} of {len(lengths):,} training texts ({share(cut, len(lengths))}) are "
                f"longer than max_length {limit} tokens (95 % fit in {p95:.0f})",
                "the cut-off part is never seen in training or testing",
                fix=f"raise max_length to {suggested} (memory grows with it)"
                if changes
                else f"the model reads at most {longest_allowed} tokens: shorten the texts "
                "or keep the part that carries the label",
                changes=changes,
            )
        ]
