"""Pure plot functions the panels need beyond :mod:`workbench.plots` (CONVENTIONS rule 7).

Data in, ``(fig, ax)`` out, on matplotlib's Agg canvas through
:func:`workbench.plots.new_figure` — never ``pyplot`` — so they work in panels, worker
threads, reports and tests alike. :func:`png` turns a figure into bytes for an
``ipywidgets.Image``.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from workbench.plots import curve_data, new_figure, smooth


def png(fig: Any, dpi: int = 80) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def class_balance_plot(
    balance: dict[str, dict[str, int]], labels: list[str], ax: Any = None
) -> tuple[Any, Any]:
    """Grouped bars: examples per class, one colour per split (train/val/test)."""
    if ax is None:
        fig, ax = new_figure(6.0, 2.8)
    else:
        fig = ax.figure
    splits = list(balance)
    x = np.arange(len(labels))
    width = 0.8 / max(1, len(splits))
    for i, split in enumerate(splits):
        counts = [balance[split].get(label, 0) for label in labels]
        ax.bar(x + (i - (len(splits) - 1) / 2) * width, counts, width, label=split)
    ax.set_xticks(x, labels=labels, rotation=20, ha="right")
    ax.set(ylabel="examples", title="Class balance")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig, ax


def lr_finder_plot(
    lrs: list[float],
    losses: list[float],
    smoothed: list[float],
    suggestion: float | None = None,
    ax: Any = None,
) -> tuple[Any, Any]:
    """Loss against learning rate (log x), raw and smoothed, with the suggestion marked."""
    if ax is None:
        fig, ax = new_figure(6.0, 3.0)
    else:
        fig = ax.figure
    ax.plot(lrs, losses, color="tab:blue", alpha=0.3, lw=1, label="loss")
    ax.plot(lrs, smoothed, color="tab:blue", lw=2, label="smoothed")
    if suggestion is not None:
        ax.axvline(suggestion, color="tab:red", ls="--", label=f"suggested {suggestion:.1e}")
    ax.set_xscale("log")
    finite = [v for v in smoothed if np.isfinite(v)]
    if finite:  # the tail explodes by design: keep the useful part in view
        ax.set_ylim(min(finite) * 0.95, min(max(finite), 4 * min(finite)) * 1.05)
    ax.set(xlabel="learning rate", ylabel="training loss", title="Learning-rate range test")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig, ax


def overlay_plot(
    runs: dict[str, list[dict[str, Any]]], ax: Any = None, max_points: int = 2000
) -> tuple[Any, Any]:
    """Several runs on one plot, one colour per run: smoothed training loss (solid) and
    validation loss (dashed, dots). ``runs`` maps a run name to its events."""
    if ax is None:
        fig, ax = new_figure(8.0, 3.4)
    else:
        fig = ax.figure
    colors = [f"C{i % 10}" for i in range(len(runs))]
    for (name, events), color in zip(runs.items(), colors, strict=True):
        d = curve_data(events)
        if d["step"]:
            stride = max(1, len(d["step"]) // max_points)  # bounded drawing for long runs
            ax.plot(d["step"][::stride], smooth(d["loss"])[::stride], color=color, label=name)
        if d["eval_step"]:
            ax.plot(d["eval_step"], d["val_loss"], "o--", color=color, ms=3, alpha=0.8)
    ax.set(xlabel="optimizer step", ylabel="loss", title="Runs: training (—) and validation (--)")
    if runs:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return fig, ax
