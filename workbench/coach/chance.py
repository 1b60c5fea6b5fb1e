"""Diagnosis: a test score no better than always answering the majority class.

The run can end ``completed`` at exactly the score of a constant answer (0.33 accuracy on
three balanced classes) and look like a result. Compared with a one-sided binomial test:
is the test accuracy above the majority-class share by more than chance on this many test
examples (p < 0.05)?
"""

from __future__ import annotations

from workbench.coach.base import Check, Finding, RunFacts
from workbench.coach.steps import needed_steps, step_remedy


def majority_scores(balance: dict[str, int]) -> tuple[str, float, float]:
    """``(majority class, its accuracy, its macro-F1)`` for a constant answer."""
    n = sum(balance.values())
    label = max(balance, key=lambda k: balance[k])
    p = balance[label] / n
    # the majority class: precision p, recall 1 → F1 2p/(1+p); every other class F1 0
    return label, p, 2 * p / (1 + p) / len(balance)


def beats(accuracy: float, baseline: float, n: int) -> float:
    """p-value of ``accuracy`` on ``n`` examples against a constant answer's ``baseline``."""
    # scipy comes with scikit-learn; no type stubs are installed for it
    from scipy.stats import binomtest  # type: ignore[import-untyped]

    hits = round(accuracy * n)
    return float(binomtest(hits, n, baseline, alternative="greater").pvalue)


class AtChance(Check):
    name = "chance"
    stage = "diagnosis"
    summary = "Test score at or near the majority-class baseline."

    def run(self, facts: RunFacts) -> list[Finding]:
        acc, f1 = facts.summary.get("test_accuracy"), facts.summary.get("test_macro_f1")
        if acc is None or not facts.test_balance:
            return []
        label, base_acc, base_f1 = majority_scores(facts.test_balance)
        n = sum(facts.test_balance.values())
        p = beats(acc, base_acc, n)
        if p < 0.05:
            return []
        fix, changes = remedy(facts)
        f1_text = f", macro-F1 {f1:.3f} vs {base_f1:.3f}" if f1 is not None else ""
        return [
            self.finding(
                "warning",
                f"test accuracy {acc:.3f} is no better than always answering {label!r} "
                f"({base_acc:.3f}{f1_text}; one-sided binomial p = {p:.2f} on {n} examples)",
                "the model has not learned the task (or the test set is too small to show "
                "that it has)",
                fix=fix,
                changes=changes,
            )
        ]


def remedy(facts: RunFacts) -> tuple[str, dict[str, object]]:
    """Too few steps → more steps; else a loss that barely moved → a higher rate."""
    cfg = facts.config
    steps = int(facts.summary.get("total_steps") or len(facts.steps()))
    needed = needed_steps(cfg)
    rows = facts.setup().get("train_size")
    if steps < needed and rows:
        changes = step_remedy(cfg, int(rows), needed)
        if changes:
            return f"train for more steps ({steps} made, about {needed} needed)", changes
    from workbench.coach.underfitting import loss_moved

    moved = loss_moved(facts.steps())
    lr = cfg.optim.lr
    if moved is not None and moved < 0.05 and lr:
        return f"the training loss barely moved ({moved:.0%}): raise the learning rate", {
            "lr": float(f"{min(1e-2, lr * 3):.2g}")
        }
    if cfg.model.method != "full":
        return "try a full fine-tune, which adapts every weight", {"method": "full"}
    return "check the labels against the texts (a few by hand) and the data size", {}
