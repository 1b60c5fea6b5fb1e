"""Pure plot functions over run events: data in, ``(fig, axes)`` out (CONVENTIONS rule 7).

They use matplotlib's object-oriented API with the Agg canvas, never ``pyplot``, so they
are safe in the engine, in a worker thread, in widgets, in reports and in tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def new_figure(width: float = 9.0, height: float = 3.4, ncols: int = 1) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols)
    return fig, axes


def smooth(values: list[float], beta: float = 0.9) -> list[float]:
    """Bias-corrected exponential moving average (as fastai/TensorBoard smooth losses)."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta**i))
    return out


def curve_data(events: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Series of a run for plotting: steps, loss, lr, and evaluation points."""
    retries = [i for i, e in enumerate(events) if e["type"] == "retry"]
    events = events[retries[-1] + 1 :] if retries else events  # out of memory: started again
    steps = [e for e in events if e["type"] == "step" and isinstance(e.get("loss"), (int, float))]
    evals = [e for e in events if e["type"] == "eval"]
    return {
        "step": [e["step"] for e in steps],
        "loss": [e["loss"] for e in steps],
        "lr": [e["lr"] for e in steps],
        "eval_step": [e["step"] for e in evals],
        "val_loss": [e["val_loss"] for e in evals],
        # NaN where a task does not measure it (a causal LM has no macro-F1): not drawn
        "val_macro_f1": [e.get("val_macro_f1", float("nan")) for e in evals],
        "val_accuracy": [e.get("val_accuracy", float("nan")) for e in evals],
        "lr_change": [e["step"] for e in events if e["type"] == "lr_change"],
    }


def plot_training_curves(
    events: list[dict[str, Any]],
    axes: Any = None,
    log_scale: bool = False,
    title: str = "",
    baseline: dict[str, float] | None = None,
) -> tuple[Any, Any]:
    """Training loss (raw + smoothed) and validation loss; validation macro-F1 and LR.

    ``baseline`` (:func:`majority_baseline`) adds what a model that learned nothing scores:
    the class-share loss and the majority-class macro-F1, as grey dotted lines (for a causal
    LM, whose validation accuracy is the exact match of the answer: always giving the most
    common answer).
    """
    if axes is None:
        fig, axes = new_figure(ncols=2)
    else:
        fig = axes[0].figure
    d = curve_data(events)
    loss_ax, metric_ax = axes
    if d["step"]:
        loss_ax.plot(d["step"], d["loss"], color="tab:blue", alpha=0.25, lw=1, label="train (raw)")
        loss_ax.plot(d["step"], smooth(d["loss"]), color="tab:blue", lw=2, label="train (smoothed)")
    # A causal LM measures no macro-F1, and its accuracy is the exact match of the answer.
    generative = bool(d["eval_step"]) and not any(_finite(v) for v in d["val_macro_f1"])
    if d["eval_step"]:
        loss_ax.plot(d["eval_step"], d["val_loss"], "o-", color="tab:orange", label="validation")
        if not generative:
            metric_ax.plot(
                d["eval_step"], d["val_macro_f1"], "o-", color="tab:green", label="val macro-F1"
            )
        metric_ax.plot(
            d["eval_step"],
            d["val_accuracy"],
            "s--",
            color="tab:olive",
            label="val exact match" if generative else "val accuracy",
        )
    dotted = {"color": "0.3", "ls": (0, (1, 2)), "lw": 1.4, "zorder": 5}  # above the curves
    base = baseline or {}
    if "val_loss" in base:
        loss_ax.axhline(base["val_loss"], label="class-share loss", **dotted)
    floor = base.get("val_accuracy" if generative else "val_macro_f1")
    if floor is not None:
        name = "most common answer (exact match)" if generative else "majority class (macro-F1)"
        metric_ax.axhline(floor, label=name, **dotted)
    for i, step in enumerate(d["lr_change"]):
        label = "learning rate changed" if i == 0 else None
        loss_ax.axvline(step, color="tab:red", ls=":", lw=1, label=label)
    if log_scale:
        loss_ax.set_yscale("log")
    loss_ax.set(xlabel="optimizer step", ylabel="loss (cross-entropy)", title=title or "Loss")
    metric_ax.set(
        xlabel="optimizer step", ylabel="validation score (0–1)", title="Validation metric and LR"
    )
    extra: tuple[list[Any], list[str]] = ([], [])
    if d["step"]:
        lr_ax = metric_ax.twinx()
        lr_ax.plot(d["step"], d["lr"], color="tab:gray", lw=1, label="learning rate (right)")
        lr_ax.set_ylabel("learning rate")
        lr_ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        extra = lr_ax.get_legend_handles_labels()
        # the metric panel (its curves and legend) in front of the learning-rate line
        metric_ax.set_zorder(lr_ax.get_zorder() + 1)
        metric_ax.patch.set_visible(False)
    _room_below(metric_ax, floor)
    _room_below(loss_ax, base.get("val_loss"))
    for ax, (more_handles, more_labels) in ((loss_ax, ([], [])), (metric_ax, extra)):
        handles, labels = ax.get_legend_handles_labels()
        if handles:  # one legend per panel, the twin axis's learning rate included
            ax.legend(handles + more_handles, labels + more_labels, loc="best", fontsize=8)
        ax.grid(alpha=0.3)
    return fig, axes


def confusion_matrix_plot(
    matrix: list[list[int]], labels: list[str], ax: Any = None
) -> tuple[Any, Any]:
    """Counts with true labels on rows and predictions on columns."""
    if ax is None:
        fig, ax = new_figure(4.2, 3.6)
    else:
        fig = ax.figure
    m = np.asarray(matrix)
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels=labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels=labels)
    ax.set(xlabel="predicted", ylabel="true", title="Confusion matrix")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            color = "white" if m[i, j] > m.max() / 2 else "black"
            ax.text(j, i, str(m[i, j]), ha="center", va="center", color=color)
    return fig, ax


METRIC_NAMES = {
    "val_loss": "validation loss (cross-entropy)",
    "val_macro_f1": "validation macro-F1",
    "val_accuracy": "validation accuracy",
}


def _room_below(ax: Any, line: float | None) -> None:
    """Keep a baseline line at ``line`` off the panel's bottom edge, where it reads as the
    axis itself."""
    if line is None or not _finite(line) or ax.get_yscale() != "linear":
        return
    low, high = ax.get_ylim()
    if line - low < 0.04 * (high - low):
        lowest = min(line, low)
        ax.set_ylim(lowest - 0.08 * (high - lowest), high)


def majority_baseline(balance: dict[str, int] | None) -> dict[str, float]:
    """What a model that learned nothing scores on a split with these class counts.

    ``val_accuracy`` and ``val_macro_f1``: always answering the majority class (its share p;
    macro-F1 2p/(1+p) over the number of classes); ``val_loss``: the cross-entropy of
    answering the class shares themselves (their entropy, ln 3 for three balanced classes)
    — the loss a fresh head reaches once it has learned only how common each class is.
    Empty when the counts are unknown (a causal LM, or a run from before they were kept).
    """
    counts = [int(c) for c in (balance or {}).values() if int(c) > 0]
    if len(counts) < 2:
        return {}
    n = sum(counts)
    p = max(counts) / n
    return {
        "val_accuracy": p,
        "val_macro_f1": 2 * p / (1 + p) / len(balance or {}),
        "val_loss": float(-sum(c / n * np.log(c / n) for c in counts)),
    }


def summary_baseline(summary: dict[str, Any] | None) -> dict[str, float]:
    """What a model that learned nothing scores on a run's validation split, from its
    summary: :func:`majority_baseline` of a classifier's class counts; for a causal LM
    whose answers are a few labels, the exact match of always giving the most common one.
    """
    summary = summary or {}
    balance = (summary.get("balance") or {}).get("val")
    if balance:
        return majority_baseline(balance)
    answers = [int(c) for c in ((summary.get("answer_balance") or {}).get("val") or {}).values()]
    if len(answers) < 2:
        return {}
    return {"val_accuracy": max(answers) / sum(answers)}


#: Run curves closer than this share of their axis's span at every point are drawn as one
#: curve (a remedy that changes nothing visible must not hide the curve it coincides with).
SAME_CURVE = 0.005
#: The loss axis is clipped when one curve rises above ``CLIP_WHEN`` times the range the
#: others share (from the lowest loss to the second-highest peak), at ``CLIP_FACTOR`` times.
CLIP_WHEN = 3.0
CLIP_FACTOR = 1.6


def _series(events: list[dict[str, Any]], metric: str, x: str) -> dict[str, list[float]]:
    steps = [e for e in events if e["type"] == "step" and _finite(e.get("loss"))]
    evals = [e for e in events if e["type"] == "eval"]
    return {
        "x": [e[x] for e in steps],
        "loss": smooth([e["loss"] for e in steps]),
        "eval_x": [e[x] for e in evals],
        "val_loss": [e["val_loss"] for e in evals],
        "metric": [e.get(metric, float("nan")) for e in evals],
    }


def _tolerances(series: dict[str, dict[str, list[float]]]) -> dict[str, float]:
    """Per key, :data:`SAME_CURVE` of the span its axis shows (both losses share one)."""

    def span(keys: tuple[str, ...]) -> float:
        values = [v for d in series.values() for k in keys for v in d[k] if _finite(v)]
        return max(values) - min(values) if values else 0.0

    loss = max(SAME_CURVE * span(("loss", "val_loss")), 1e-9)
    x = max(SAME_CURVE * span(("x", "eval_x")), 1e-9)
    return {
        "x": x,
        "eval_x": x,
        "loss": loss,
        "val_loss": loss,
        "metric": max(SAME_CURVE * span(("metric",)), 1e-9),
    }


def _shared_until(
    a: dict[str, list[float]], b: dict[str, list[float]], tolerance: dict[str, float]
) -> float | None:
    """Where run ``a`` stops being drawn on top of run ``b``: ``inf`` when the curves
    coincide everywhere, the last shared x when one is a prefix of the other (a run that
    stopped early), None when they differ where both have points."""
    for key in ("x", "loss", "eval_x", "val_loss", "metric"):
        n = min(len(a[key]), len(b[key]))
        for u, v in zip(a[key][:n], b[key][:n], strict=True):
            if not (_finite(u) or _finite(v)):
                continue
            if not (_finite(u) and _finite(v)) or abs(u - v) > tolerance[key]:
                return None
    if not (a["x"] or a["eval_x"]):
        return None
    if len(a["x"]) == len(b["x"]) and len(a["eval_x"]) == len(b["eval_x"]):
        return float("inf")
    shorter = a if len(a["x"]) < len(b["x"]) else b
    ends = [xs[-1] for xs in (shorter["x"], shorter["eval_x"]) if xs]
    return max(ends) if ends else None


def plot_run_comparison(
    runs: Any,
    metric: str = "val_macro_f1",
    x: str = "step",
    axes: Any = None,
    title: str = "",
    baseline: dict[str, float] | None = None,
) -> tuple[Any, Any]:
    """Several runs overlaid, one colour per run, labelled by the caller's names.

    Left: training loss (smoothed, solid) and validation loss (dashed, dots). Right: the
    validation ``metric`` at each evaluation. ``runs`` maps a label (``"pretrained"``,
    ``"lr 1e-3"``) to that run's events. ``x`` is ``"step"`` (optimizer steps) or
    ``"epoch"`` (passes over the training set — fair when batch sizes differ).

    ``baseline`` (:func:`majority_baseline` of the validation split) draws what a model that
    learned nothing scores: a grey dotted line on both panels. A run whose curves coincide
    with an earlier run's (within 0.5 % of the axis) is drawn dotted with hollow markers and
    labelled "(same curve as …)", or "(same curve as … until step N)" when one of the two
    stopped early, so it does not vanish under the other. When one run's loss rises far above the
    rest (a learning rate that diverges), the loss axis is clipped so the others stay
    readable, and the figure says which run leaves it and how high it goes.
    """
    if x not in ("step", "epoch"):
        raise ValueError(f"x must be 'step' or 'epoch'; got {x!r}")
    if metric not in METRIC_NAMES:
        raise ValueError(f"metric must be one of {', '.join(METRIC_NAMES)}; got {metric!r}")
    if axes is None:
        fig, axes = new_figure(11.0, 3.8, ncols=2)
    else:
        fig = axes[0].figure
    loss_ax, metric_ax = axes
    series = {str(label): _series(events, metric, x) for label, events in dict(runs).items()}
    drawn: list[tuple[str, dict[str, list[float]]]] = []
    tolerance = _tolerances(series)
    for i, (label, d) in enumerate(series.items()):
        color = f"C{i % 10}"
        shared = ((o, _shared_until(d, od, tolerance)) for o, od in drawn)
        twin, until = next(((o, u) for o, u in shared if u is not None), (None, None))
        drawn.append((label, d))
        name = label
        if twin is not None:
            where = "" if until == float("inf") else f" until {x} {until:g}"
            name = f"{label} (same curve as {twin}{where})"
        # A coinciding run: thin dotted line, hollow markers on top of the other's.
        line = {"lw": 2} if twin is None else {"lw": 1.2, "ls": ":"}
        marker = {"ms": 4} if twin is None else {"ms": 7, "mfc": "none", "mew": 1.2}
        if d["x"]:
            loss_ax.plot(d["x"], d["loss"], color=color, label=name, **line)
        if d["eval_x"]:
            dashes = "--" if twin is None else ":"
            loss_ax.plot(
                d["eval_x"],
                d["val_loss"],
                marker="o",
                ls=dashes,
                color=color,
                label="_validation",
                **marker,
            )  # the style key below explains dashes once
            metric_ax.plot(
                d["eval_x"],
                d["metric"],
                marker="o",
                ls="-" if twin is None else ":",
                color=color,
                **marker,
            )
    base = baseline or {}
    for ax, key in ((loss_ax, "val_loss"), (metric_ax, metric)):
        if key in base:
            # above the curves: a run that learned nothing lies on it and must not hide it
            ax.axhline(base[key], color="0.3", ls=(0, (1, 2)), lw=1.4, label="_baseline", zorder=5)
    _clip_loss_axis(loss_ax, series, base.get("val_loss"))
    _room_below(metric_ax, base.get(metric))
    xlabel = "optimizer step" if x == "step" else "epoch (passes over the training set)"
    loss_ax.set(
        xlabel=xlabel,
        ylabel="loss (cross-entropy)",
        title=title or "Loss: training (smoothed, solid) and validation (dashed)",
    )
    metric_ax.set(xlabel=xlabel, ylabel=METRIC_NAMES[metric], title=METRIC_NAMES[metric])
    for ax in (loss_ax, metric_ax):
        ax.grid(alpha=0.3)
    # One legend under both panels: a colour per run, then what solid and dashed mean.
    # (Two entries per run inside a panel would cover the curves once there are six runs.)
    from matplotlib.lines import Line2D

    handles, labels = loss_ax.get_legend_handles_labels()
    if handles:
        handles += [
            Line2D([], [], color="black", lw=2),
            Line2D([], [], color="black", ls="--", marker="o", ms=4),
        ]
        labels += ["training loss (smoothed)", "validation"]
        if base:
            handles.append(Line2D([], [], color="0.3", ls=(0, (1, 2)), lw=1.4))
            labels.append("learned nothing (majority class; class-share loss)")
        wrapped, ncols = _legend_layout(labels, fig)
        fig.legend(handles, wrapped, ncols=ncols, loc="outside lower center", fontsize=8)
    return fig, axes


def _legend_layout(labels: list[str], fig: Any) -> tuple[list[str], int]:
    """Labels wrapped and a column count that keep a legend under the panels inside the
    figure: about 19 characters of 8-point text per inch, 4 columns at most."""
    import textwrap

    width = 34
    wrapped = [textwrap.fill(label, width) for label in labels]
    longest = max((len(line) for label in wrapped for line in label.splitlines()), default=1)
    room = int(fig.get_figwidth() * 19)
    ncols = max(1, min(4, len(labels), room // (longest + 6)))
    return wrapped, ncols


def _clip_loss_axis(
    ax: Any, series: dict[str, dict[str, list[float]]], floor: float | None
) -> None:
    """Clip the loss axis when one run's loss dwarfs the others', and say so on the axes."""
    peaks = {
        label: max([v for v in d["loss"] + d["val_loss"] if _finite(v)], default=float("nan"))
        for label, d in series.items()
    }
    peaks = {k: v for k, v in peaks.items() if _finite(v)}
    if len(peaks) < 2:
        return
    values = [v for d in series.values() for v in d["loss"] + d["val_loss"] if _finite(v)]
    low = min(values + ([floor] if floor is not None else []))
    # The top of what the runs have in common: the second-highest peak (or the class-share
    # loss, which every run starts near).
    ordered = sorted(peaks.values())
    common = max(ordered[-2], floor or 0.0)
    span = common - low if common > low else abs(common) or 1.0
    if max(peaks.values()) <= low + CLIP_WHEN * span:
        return
    limit = low + CLIP_FACTOR * span
    above = {k: v for k, v in peaks.items() if v > limit}
    ax.set_ylim(low - 0.05 * (limit - low), limit)
    note = "; ".join(f"{k} reaches {v:.3g}" for k, v in above.items())
    ax.text(
        0.99,
        0.98,
        f"axis clipped at {limit:.3g}: {note}",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=7,
        color="0.25",
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.8", "pad": 2},
    )


def plot_tradeoff(
    rows: list[dict[str, Any]],
    x: str = "trainable_parameters",
    y: str = "test_macro_f1",
    label: str = "run",
    ax: Any = None,
    title: str = "",
    baseline: float | None = None,
    baseline_label: str = "majority class (learned nothing)",
) -> tuple[Any, Any]:
    """One labelled point per row: e.g. trainable parameters (log scale) against held-out
    macro-F1, to see what each adaptation method buys for what it trains.

    ``baseline`` draws what a model that learned nothing scores on ``y`` (e.g. the test
    macro-F1 of always answering the majority class) as a grey dotted line, kept off the
    bottom edge."""
    if ax is None:
        fig, ax = new_figure(7.0, 4.0)
    else:
        fig = ax.figure
    points = [r for r in rows if _finite(r.get(x)) and _finite(r.get(y))]
    for i, row in enumerate(points):  # a legend, not text labels: close points overlap
        ax.scatter(
            [row[x]], [row[y]], color=f"C{i % 10}", s=50, zorder=3, label=str(row.get(label, i))
        )
    positive = [r[x] for r in points if r[x] > 0]
    if positive and max(positive) / min(positive) > 100:
        ax.set_xscale("log")
    names = {
        "trainable_parameters": "trainable parameters (count)",
        "test_macro_f1": "held-out test macro-F1",
        "test_accuracy": "held-out test accuracy",
        "wall_seconds": "wall time (s)",
        "memory_mb_estimate": "estimated training memory (MiB)",
        "train_samples_per_second": "training throughput (samples/s)",
    }
    title = title or f"{names.get(y, y)} vs {names.get(x, x)}"
    ax.set(xlabel=names.get(x, x), ylabel=names.get(y, y), title=title[:1].upper() + title[1:])
    if baseline is not None and _finite(baseline):
        ax.axhline(baseline, color="0.45", ls=(0, (1, 2)), lw=1.2, label=baseline_label)
        _room_below(ax, baseline)
    if points:
        ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    return fig, ax


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def plot_lr_schedules(
    total_steps: int = 100,
    warmup_fractions: tuple[float, ...] = (0.0, 0.1),
    schedulers: tuple[str, ...] = ("linear", "cosine", "constant"),
    peak_lr: float = 1e-4,
    ax: Any = None,
) -> tuple[Any, Any]:
    """The learning rate at every step for each schedule and warmup share — the very
    multiplier the training loop uses (``workbench.schedules.lr_lambda``)."""
    from workbench.schedules import lr_lambda

    if ax is None:
        fig, ax = new_figure(7.0, 3.4)
    else:
        fig = ax.figure
    steps = list(range(total_steps))
    styles = ["-", "--", ":", "-."]
    for i, scheduler in enumerate(schedulers):
        for j, fraction in enumerate(warmup_fractions):
            factor = lr_lambda(scheduler, int(fraction * total_steps), total_steps)
            ax.plot(
                steps,
                [peak_lr * factor(s) for s in steps],
                color=f"C{i % 10}",
                ls=styles[j % len(styles)],
                label=f"{scheduler}, warmup {fraction:.0%}",
            )
    ax.set(
        xlabel="optimizer step",
        ylabel="learning rate",
        title=f"Learning-rate schedules (peak {peak_lr:.0e}, {total_steps} steps)",
    )
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return fig, ax
