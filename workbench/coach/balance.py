"""Pre-flight: class balance per split and the smallest class.

With 83 % of one class, a model that always answers that class scores 0.83 accuracy:
accuracy then says little and macro-F1 (each class counts the same) is the honest metric.
A class with a handful of training rows cannot be learned from them.
"""

from __future__ import annotations

from workbench.coach.base import Check, Finding, PreflightFacts, share

#: Fewer training rows than this in a class: too few to learn it.
FEWEST_PER_CLASS = 8
#: Largest over smallest class count from which the balance is worth a word.
SKEW = 5.0


class ClassBalance(Check):
    name = "balance"
    summary = "Class balance per split; the smallest class."

    def run(self, facts: PreflightFacts) -> list[Finding]:
        balance = getattr(facts.data, "balance", None)
        if not facts.data.labels or not balance:
            return []
        train = balance["train"]
        n = sum(train.values())
        smallest = min(train, key=lambda k: train[k])
        largest = max(train, key=lambda k: train[k])
        out = []
        if train[smallest] < FEWEST_PER_CLASS:
            out.append(
                self.finding(
                    "warning",
                    f"class {smallest!r} has {train[smallest]} training rows "
                    f"(of {n:,}; test {balance['test'].get(smallest, 0)})",
                    "a class seen a handful of times is rarely predicted; its test score "
                    "rests on one or two examples",
                    fix="collect more examples of it, or merge it with a related class",
                )
            )
        if train[largest] >= SKEW * max(1, train[smallest]):
            metric = facts.config.regularization.early_stopping_metric
            changes = {"early_stopping_metric": "val_macro_f1"} if metric == "val_accuracy" else {}
            out.append(
                self.finding(
                    "info" if not changes else "warning",
                    f"classes are imbalanced: {largest!r} is {share(train[largest], n)} of "
                    f"training, {smallest!r} {share(train[smallest], n)}",
                    f"always answering {largest!r} already scores "
                    f"{train[largest] / n:.2f} accuracy; macro-F1 weighs every class equally",
                    fix="judge runs by macro-F1" if not changes else "pick checkpoints by macro-F1",
                    changes=changes,
                )
            )
        return out
