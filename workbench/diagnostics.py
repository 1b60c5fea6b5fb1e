"""Reading a run's curves the way a teacher would: is it overfitting, and what to do.

Pure functions over the event list, shared by the live widget, reports and tests.
"""

from __future__ import annotations

from typing import Any

from workbench.plots import smooth


def detect_overfitting(
    events: list[dict[str, Any]], config: Any = None, patience: int = 2
) -> dict[str, Any] | None:
    """Flag when validation loss has risen ``patience`` evaluations in a row while the
    smoothed training loss kept falling; suggest which regularization to raise.

    Returns ``None`` when there is no sign of overfitting, else
    ``{"since_step", "val_loss_min", "val_loss_now", "suggestions": [...]}``.
    """
    evals = [e for e in events if e["type"] == "eval"]
    steps = [e for e in events if e["type"] == "step" and isinstance(e.get("loss"), (int, float))]
    if len(evals) < patience + 1 or len(steps) < 4:
        return None
    val = [e["val_loss"] for e in evals]
    rising = all(val[-i] > val[-i - 1] for i in range(1, patience + 1))
    if not rising:
        return None
    trend = smooth([e["loss"] for e in steps])
    at = {e["step"]: t for e, t in zip(steps, trend, strict=True)}
    start = evals[-patience - 1]["step"]
    before = [v for k, v in at.items() if k <= start]
    if not before or trend[-1] >= before[-1]:
        return None  # training loss is not falling either: not the overfitting pattern
    return {
        "since_step": start,
        "val_loss_min": min(val),
        "val_loss_now": val[-1],
        "suggestions": suggestions(config),
    }


def flag_sentence(flag: dict[str, Any]) -> str:
    """One sentence saying what the overfitting flag saw (plain text)."""
    return (
        f"Overfitting since step {int(flag['since_step'])}: validation loss rose from "
        f"{flag['val_loss_min']:.4g} to {flag['val_loss_now']:.4g} while the training loss "
        "kept falling."
    )


def describe_overfitting(flag: dict[str, Any] | None) -> str:
    """The flag of :func:`detect_overfitting` as text for a notebook or a log: what was
    seen and what to try, one suggestion a line; or why there is no flag."""
    if not flag:
        return (
            "No overfitting flag: the validation loss did not rise for two evaluations in a "
            "row while the training loss kept falling."
        )
    return "\n".join([flag_sentence(flag), "Try:", *(f"  - {s}" for s in flag["suggestions"])])


def suggestions(config: Any = None) -> list[str]:
    """Concrete next steps, most effective first, given the run's current settings."""
    out: list[str] = []
    if config is None:
        return [
            "raise weight decay",
            "raise dropout",
            "turn on early stopping",
            "train fewer epochs",
        ]
    reg = config.regularization
    if not reg.early_stopping:
        out.append("turn on early stopping (patience 2) to keep the best checkpoint")
    if reg.weight_decay < 0.1:
        out.append(f"raise weight decay (now {reg.weight_decay:g}; try 0.1)")
    if (reg.dropout or 0.1) < 0.3:
        out.append("raise dropout (try 0.2–0.3)")
    if config.model.method == "full":
        if reg.l2sp == 0:
            out.append("add L2-SP (try 0.01) to stay near the pretrained weights")
        out.append("or switch to LoRA, which trains far fewer weights")
    if reg.label_smoothing == 0:
        out.append("add label smoothing (0.1)")
    out.append("train fewer epochs or on more data")
    return out
