"""Pure plot functions of the Sweep tab (CONVENTIONS rule 7): data in, ``(fig, axes)`` out.

:func:`sweep_analysis_plot` draws what a sweep has learnt so far: the parameter
importances Optuna computes (:func:`optuna.importance.get_param_importances`, fANOVA) as
bars, and a *slice* per varying setting — each finished trial's score against the value
it tried, coloured by trial number, pruned trials as hollow marks at their last score —
so one can see where the good region lies, not only which setting matters. Drawn with the
object-oriented Agg API (:func:`workbench.plots.new_figure`), never ``pyplot``: the
Sweep tab's pump thread calls it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from workbench.plots import new_figure

MAX_SLICES = 4  # more panels get too narrow to read


def sweep_analysis_plot(
    trials: Sequence[Any],
    importances: dict[str, float],
    names: Sequence[str],
    objective: str,
    axes: Any = None,
) -> tuple[Any, Any]:
    """Importance bars, then one slice panel per setting (the most important first).

    ``trials`` are :class:`~workbench.sweeps.TrialRecord`-like (``number``, ``state``,
    ``value``, ``params``, ``curve``); ``names`` the varying settings.
    """
    order = sorted(names, key=lambda n: -importances.get(n, 0.0))[:MAX_SLICES]
    if axes is None:
        _, axes = new_figure(3.0 * (1 + len(order)), 2.8, ncols=1 + len(order))
    axes = list(axes) if isinstance(axes, (list, tuple)) or hasattr(axes, "__len__") else [axes]
    importance_plot(importances, ax=axes[0])
    for ax, name in zip(axes[1:], order, strict=False):
        slice_plot(trials, name, objective, ax=ax)
    return axes[0].figure, axes


def importance_plot(importances: dict[str, float], ax: Any = None) -> tuple[Any, Any]:
    """Horizontal bars: the share of the objective's variance each setting explains."""
    if ax is None:
        fig, ax = new_figure(3.2, 2.8)
    else:
        fig = ax.figure
    if importances:
        names = sorted(importances, key=lambda n: importances[n])
        ax.barh(names, [importances[n] for n in names], color="#1f77b4")
        ax.set_xlim(0, 1)
    else:
        ax.text(
            0.5,
            0.5,
            "needs 2+ finished trials\nwith different settings",
            ha="center",
            va="center",
            fontsize=8,
            transform=ax.transAxes,
        )
        ax.set_yticks([])
    ax.set(title="Importance (fANOVA)", xlabel="share of variance")
    ax.grid(axis="x", alpha=0.3)
    return fig, ax


def slice_plot(trials: Sequence[Any], name: str, objective: str, ax: Any = None) -> tuple[Any, Any]:
    """Score against the value of ``name`` tried, one mark per trial."""
    if ax is None:
        fig, ax = new_figure(3.0, 2.8)
    else:
        fig = ax.figure
    done = [t for t in trials if t.state == "complete" and name in t.params and t.value is not None]
    pruned = [t for t in trials if t.state == "pruned" and name in t.params and t.curve]
    values = [t.params[name] for t in done + pruned]
    numeric = all(_is_number(v) for v in values)
    labels = sorted({str(v) for v in values})  # a choice's position: its rank among these

    def x(value: Any) -> float:
        return float(value) if numeric else float(labels.index(str(value)))

    if done:
        ax.scatter(
            [x(t.params[name]) for t in done],
            [t.value for t in done],
            c=[t.number for t in done],
            cmap="viridis",
            s=22,
            label="finished",
        )
    if pruned:
        ax.scatter(
            [x(t.params[name]) for t in pruned],
            [t.curve[-1][1] for t in pruned],
            facecolors="none",
            edgecolors="#999",
            s=22,
            label="pruned (last score)",
        )
    if numeric and values and min(values) > 0 and max(values) / min(values) > 50:
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(range(len(labels)), labels=labels, rotation=20, fontsize=7)
        ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set(title=name, xlabel=name, ylabel=objective)
    ax.grid(alpha=0.3)
    return fig, ax


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
