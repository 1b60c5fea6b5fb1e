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

from workbench.plots import new_figure, smooth


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


def chart_plot(
    panels: list[dict[str, Any]],
    series: list[dict[str, Any]],
    data: dict[str, list[list[float]]],
    smoothing: float = 0.6,
    axes: Any = None,
    x_max: float = 0.0,
) -> tuple[Any, Any]:
    """A static picture of a :class:`~widgets.live.live_chart.LiveChart`'s panels (same series,
    colours and smoothing): the fallback a notebook export shows where the live chart
    cannot render. Panels with no data are left out."""
    shown = [p for p in panels if any(data.get(s.get("smooth") or s["id"], [[]])[0]
                                      for s in series if s["panel"] == p["id"])]  # fmt: skip
    if axes is None:
        fig, axes = new_figure(4.2 * max(1, len(shown)), 3.0, ncols=max(1, len(shown)))
    axes = np.atleast_1d(axes)
    fig = axes[0].figure
    for ax, panel in zip(axes, shown, strict=False):
        for s in (s for s in series if s["panel"] == panel["id"]):
            xs, ys = data.get(s.get("smooth") or s["id"], [[], []])
            if not xs:
                continue
            ys = smooth(list(ys), smoothing) if s.get("smooth") and smoothing > 0 else ys
            ax.plot(
                xs,
                ys,
                marker="o" if s.get("points") else None,
                ls="--" if s.get("dash") else "-",
                color=s["color"],
                alpha=s.get("alpha", 1.0),
                ms=3,
                lw=s.get("width", 1.5),
                label=s["label"],
            )
        ax.set(title=panel.get("title", ""), xlabel="optimizer step")
        if x_max:
            ax.set_xlim(0, x_max)
        if panel.get("y_range"):
            ax.set_ylim(*panel["y_range"])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return fig, axes
