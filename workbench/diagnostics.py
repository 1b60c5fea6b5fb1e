"""Reading a run's curves the way a teacher would: is it overfitting, and what to do.

Pure functions over the event list, shared by the live widget, reports and tests.

The advice is sized for the run it reads, not taken from a table of usual values: a
remedy's strength depends on how many steps the run takes and at which rates. AdamW's
weight decay takes ``lr_t × decay`` off every weight per step, so over a run it removes
about ``decay × Σ lr_t`` of each weight (the *rate budget* Σ lr_t: 48 steps at a peak of
1e-4 on a linear schedule is about 0.002, so even the largest decay, 1.0, shrinks the
weights by 0.2 % — it cannot act there). L2-SP's α is the share of the drift from the
pretrained weights undone per peak-rate step, whatever the rate: it acts within about
``1/α`` steps, so it needs α of about 1 / (the steps the run takes to overfit) or more.
"""

from __future__ import annotations

import math
from typing import Any

from workbench.plots import smooth

#: Share of each weight that weight decay should take off over a run to count as acting.
WEIGHT_DECAY_SHRINK = 0.1
#: L2-SP's α is suggested as this many times 1 / (steps before the validation loss turned),
#: rounded up to 1, 2 or 5: measured on lesson 03, α = 1/8 rounded to 0.2 stopped a run that
#: turned at step 8 from overfitting, 0.05 only delayed it, 0.5 kept it from learning.
L2SP_PER_STEP = 1.0


def detect_overfitting(
    events: list[dict[str, Any]], config: Any = None, patience: int = 2
) -> dict[str, Any] | None:
    """Flag when validation loss has risen ``patience`` evaluations in a row while the
    smoothed training loss kept falling; suggest which regularization to raise, sized for
    this run's steps and rates (:func:`suggestions`).

    Returns ``None`` when there is no sign of overfitting, else
    ``{"since_step", "val_loss_min", "val_loss_now", "suggestions": [...]}``: the
    evaluation where the rise began (the validation loss's turn) and its value, and the
    latest value.
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
    turn = len(val) - patience - 1  # back to where this rise began: the turn
    while turn > 0 and val[turn - 1] < val[turn]:
        turn -= 1
    return {
        "since_step": evals[turn]["step"],
        "val_loss_min": val[turn],
        "val_loss_now": val[-1],
        "suggestions": suggestions(config, events),
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


def describe_val_loss(events: list[dict[str, Any]]) -> str:
    """One line on a run's validation-loss curve: its lowest point and its last, e.g.
    ``lowest 0.946 at step 8 · last 1.524 at step 32 (6 evaluations after the lowest)``;
    a lesson prints it per run so that "which remedy ends lowest" is read, not guessed."""
    evals = [e for e in events if e["type"] == "eval" and _number(e.get("val_loss"))]
    if not evals:
        return "no evaluation"
    low = min(evals, key=lambda e: e["val_loss"])
    last = evals[-1]
    after = len(evals) - 1 - evals.index(low)
    return (
        f"lowest {low['val_loss']:.3f} at step {low['step']} · last {last['val_loss']:.3f} at "
        f"step {last['step']} ({after} evaluation{'s' if after != 1 else ''} after the lowest, "
        f"{len(evals)} in all)"
    )


def run_budget(events: list[dict[str, Any]], config: Any = None) -> dict[str, Any]:
    """What the advice is sized by, read from a run's events (finished or still going).

    ``total_steps`` (planned), ``lowest_step`` (the evaluation with the lowest validation
    loss, None without one) and ``lr_sum``: Σ lr_t over the whole run — the rates logged so
    far, plus the remaining steps at half the last rate (a linear or cosine decay to zero)
    or at the full rate (a constant schedule). Without logged rates: the configured peak ×
    half the steps.
    """
    setup = [e for e in events if e["type"] == "setup" and e.get("total_steps")]
    steps = [e for e in events if e["type"] == "step"]
    rates = [float(e["lr"]) for e in steps if isinstance(e.get("lr"), (int, float))]
    done = max((int(e["step"]) for e in steps), default=0)
    total = max(int(setup[-1]["total_steps"]) if setup else 0, done)
    constant = config is not None and getattr(config.optim, "scheduler", "") == "constant"
    if rates:
        lr_sum = sum(rates) + max(0, total - done) * rates[-1] * (1.0 if constant else 0.5)
    else:
        peak = _peak_lr(config)
        lr_sum = peak * total * (1.0 if constant else 0.5) if peak else 0.0
    evals = [e for e in events if e["type"] == "eval" and _number(e.get("val_loss"))]
    lowest = min(evals, key=lambda e: e["val_loss"]) if evals else None
    return {
        "total_steps": total,
        "lowest_step": int(lowest["step"]) if lowest else None,
        "lr_sum": lr_sum,
    }


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _peak_lr(config: Any) -> float | None:
    if config is None:
        return None
    try:
        return float(config.resolved().optim.lr)
    except Exception:  # an unknown method: no default rate to read
        return None


def _nice(x: float) -> float:
    """``x`` rounded up to 1, 2 or 5 × a power of ten (what a slider shows)."""
    if x <= 0:
        return 0.0
    power = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if x <= m * power * (1 + 1e-9):
            return m * power
    return 10 * power


def suggestions(config: Any = None, events: list[dict[str, Any]] | None = None) -> list[str]:
    """Concrete next steps, most effective first, given the run's settings and — from its
    ``events`` — how many steps it takes, at which rates, and where the validation loss
    was lowest (see the module docstring for how each value is sized)."""
    if config is None:
        return [
            "turn on early stopping on the validation loss",
            "raise dropout",
            "raise weight decay (it acts only in proportion to learning rate × steps)",
            "train fewer epochs or on more data",
        ]
    budget = run_budget(events or [], config)
    total, lowest, lr_sum = budget["total_steps"], budget["lowest_step"], budget["lr_sum"]
    reg = config.regularization
    out: list[str] = []
    where = f" (lowest validation loss at step {lowest} of {total})" if lowest else ""
    if not reg.early_stopping:
        out.append(
            "turn on early stopping on the validation loss (early_stopping 2 or 3, "
            "early_stopping_metric val_loss): it keeps the weights of the lowest point and "
            f"stops that many evaluations after it{where}"
        )
    elif reg.early_stopping_metric != "val_loss":
        out.append(
            f"early stopping watches {reg.early_stopping_metric}, which can still improve while "
            "the validation loss rises: set early_stopping_metric to val_loss"
        )
    if _trains_pretrained(config):
        turn = lowest or max(1, total // 2)
        alpha = l2sp_to_act(turn)
        if reg.l2sp < alpha:
            now = f"now {reg.l2sp:g}; " if reg.l2sp else ""
            out.append(
                f"add L2-SP {alpha:g} ({now}it undoes a share α of the drift from the pretrained "
                f"weights per step, so it acts within about 1/α steps: {1 / alpha:.2g} here, "
                f"against {turn} steps before the validation loss turned)"
            )
        elif reg.l2sp < 1.0:
            out.append(f"raise L2-SP to {min(1.0, _nice(2 * reg.l2sp)):g} (now {reg.l2sp:g})")
    if (reg.dropout or 0.1) < 0.3:
        out.append("raise dropout (try 0.2–0.3)")
    if reg.label_smoothing == 0:
        out.append("add label smoothing (0.1–0.2)")
    out.append(_weight_decay_advice(reg.weight_decay, lr_sum, total))
    if config.model.method == "full":
        out.append("or switch to LoRA, which trains far fewer weights")
    epochs = config.optim.epochs
    if lowest and total and lowest < total:
        fewer = max(0.05, round(epochs * lowest / total, 2))
        out.append(f"train {fewer:g} epochs instead of {epochs:g}{where}, or on more data")
    else:
        out.append("train fewer epochs or on more data")
    return out


def suggested_changes(config: Any, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The settings of the first of :func:`suggestions` that a button can apply to an
    overfitting run (e.g. the coach's fix), sized the same way; ``{}`` when none applies."""
    reg = config.regularization
    if not reg.early_stopping:
        return {"early_stopping": 2, "early_stopping_metric": "val_loss"}
    if reg.early_stopping_metric != "val_loss":
        return {"early_stopping_metric": "val_loss"}
    budget = run_budget(events, config)
    if _trains_pretrained(config):
        alpha = l2sp_to_act(budget["lowest_step"] or max(1, budget["total_steps"] // 2))
        if reg.l2sp < alpha:
            return {"l2sp": alpha}
    needed = weight_decay_to_act(budget["lr_sum"])
    if needed is not None and reg.weight_decay < needed:
        return {"weight_decay": needed}
    return {}


def l2sp_to_act(turn: int) -> float:
    """The L2-SP α that acts before a run that turns after ``turn`` steps overfits: about
    ``L2SP_PER_STEP / turn``, rounded up to 1, 2 or 5 (at most 1)."""
    return min(1.0, _nice(L2SP_PER_STEP / max(1, turn)))


def weight_decay_to_act(lr_sum: float) -> float | None:
    """The weight decay that shrinks the weights by :data:`WEIGHT_DECAY_SHRINK` over a run
    whose rates add up to ``lr_sum`` (rounded up to 1, 2 or 5); None when even the largest
    setting (1.0) cannot, or the rates are unknown."""
    if lr_sum <= 0 or WEIGHT_DECAY_SHRINK / lr_sum > 1.0:
        return None
    return min(1.0, _nice(WEIGHT_DECAY_SHRINK / lr_sum))


def _trains_pretrained(config: Any) -> bool:
    """True unless the method trains no pretrained weight (L2-SP has nothing to pull)."""
    from workbench.methods import METHODS

    method = METHODS.get(config.model.method)
    return method is None or method.trains_pretrained


def _weight_decay_advice(decay: float, lr_sum: float, steps: int) -> str:
    """Weight decay sized by the run's rate budget, or why it cannot act on this run."""
    if lr_sum <= 0:
        return f"raise weight decay (now {decay:g})"
    needed = weight_decay_to_act(lr_sum)
    shrink = f"{100 * lr_sum:.2g} %"
    if needed is None:  # not even the setting's maximum, 1.0
        return (
            f"weight decay cannot act on this run: AdamW takes lr × decay off each weight per "
            f"step, and this run's {steps} steps add up to lr {lr_sum:.2g}, so even the maximum "
            f"decay 1.0 shrinks the weights by {shrink} in all; use the remedies above"
        )
    if decay >= needed:
        return (
            f"raise weight decay above {decay:g} (it already shrinks the weights by about "
            f"{100 * decay * lr_sum:.2g} % over this run's {steps} steps)"
        )
    return (
        f"raise weight decay to {needed:g} (now {decay:g}): AdamW takes lr × decay off "
        f"each weight per step, and at this run's rates that shrinks the weights by about "
        f"{100 * WEIGHT_DECAY_SHRINK:g} % over its {steps} steps"
    )
