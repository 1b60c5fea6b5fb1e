"""Pre-flight: what cleaning removed, per step and in total, as a share of the data.

A user who hands in 360 rows and trains on 92 should hear it before the run, not find it
in a table afterwards: every later number (steps, interval widths) shrinks with it.
"""

from __future__ import annotations

from workbench.coach.base import Check, Finding, PreflightFacts, share

#: Below this share removed, cleaning is routine and says nothing.
QUIET_SHARE = 0.10
#: From this share on it is a warning: most of the data is gone.
WARN_SHARE = 0.30


class CleaningReport(Check):
    name = "cleaning"
    summary = "Rows cleaning removed, per step and in total."

    def run(self, facts: PreflightFacts) -> list[Finding]:
        report = getattr(facts.data, "cleaning", None) or []
        if not report:
            return []
        read = int(report[0]["removed"]) + int(report[0]["rows_after"])
        left = int(report[-1]["rows_after"])
        removed = read - left
        if read == 0 or removed / read < QUIET_SHARE:
            return []
        steps = [s for s in report if int(s["removed"])]
        per_step = ", ".join(f"{s['step']} {int(s['removed']):,}" for s in steps)
        biggest = max(steps, key=lambda s: int(s["removed"]))
        fix, changes = _remedy(str(biggest["step"]), facts)
        return [
            self.finding(
                "warning" if removed / read >= WARN_SHARE else "info",
                f"cleaning removed {removed:,} of {read:,} rows ({share(removed, read)}): "
                f"{per_step}; {left:,} rows left to split",
                "every split is cut from what is left: fewer rows mean fewer training steps "
                "and noisier test scores",
                fix=fix,
                changes=changes,
            )
        ]


def _remedy(step: str, facts: PreflightFacts) -> tuple[str, dict[str, object]]:
    data_cfg = facts.config.data
    if step == "drop duplicates":
        return (
            "many texts repeat: the model learns from the distinct ones only; collect more "
            "varied examples (keeping duplicates would let copies of test texts into training)",
            {},
        )
    if step == "min confidence" and data_cfg.min_confidence > 0:
        lower = round(max(0.0, data_cfg.min_confidence - 0.2), 2)
        return f"lower min_confidence (now {data_cfg.min_confidence:g})", {"min_confidence": lower}
    if step == "drop missing labels":
        return f"check label_column: many rows have no label in {facts.data.label_column!r}", {}
    return "", {}
