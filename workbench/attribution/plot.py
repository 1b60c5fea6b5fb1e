"""Word scores as a matplotlib figure (horizontal bars), for PNG export and notebooks.

Object-oriented matplotlib on the Agg canvas, never ``pyplot`` (CONVENTIONS rules 1 and 7):
``plot_word_scores(e, ax=None) -> (fig, ax)`` works in a worker thread, a widget or a test.
Words are drawn as literal text: ``$`` is escaped so that mathtext never interprets data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.attribution.explanation import Explanation
from workbench.attribution.html import POSITIVE, UNSIGNED, hue, panel_scales, unit


def literal(text: str) -> str:
    """Text that matplotlib shows as-is (``$…$`` would switch to mathtext)."""
    return text.replace("\\", "\\\\").replace("$", r"\$")


def plot_word_scores(
    e: Explanation, ax: Any = None, max_words: int = 40, scale: float | None = None
) -> tuple[Any, Any]:
    """Horizontal bar per word, in reading order (first word on top); blue up, red down.

    Unsigned methods (saliency) are drawn in one hue (purple) from 0: a size, no direction.
    ``scale``: fix the x-axis to ``±scale`` (``[0, scale]`` for magnitudes), so several
    plots can be read against one another.
    """
    words, scores = e.words[:max_words], e.word_scores[:max_words]
    if ax is None:
        from workbench.plots import new_figure

        fig, ax = new_figure(width=7.0, height=1.2 + 0.28 * max(len(words), 1))
    else:
        fig = ax.figure
    rows = list(range(len(words)))[::-1]
    colours = [tuple(c / 255 for c in hue(s, e.signed)) for s in scores]
    ax.barh(rows, scores, color=colours)
    ax.set_yticks(rows, [literal(w) for w in words])
    ax.axvline(0, color="#444", lw=0.8)
    prob = e.probs.get(e.target["label"], float("nan"))
    ax.set_title(literal(f"{e.method}: {e.explains} (p = {prob:.2f})"), fontsize=10, loc="left")
    ax.set_xlabel(
        "score in logits (blue raises the logit, red lowers it)"
        if e.signed
        else f"unsigned {unit(e)} (no direction)"
    )
    if scale is not None and scale > 0:
        ax.set_xlim(-1.05 * scale if e.signed else 0.0, 1.05 * scale)
    if len(e.words) > max_words:
        ax.text(
            1,
            -0.08,
            f"first {max_words} of {len(e.words)} words",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            color="#666",
        )
    return fig, ax


def plot_randomization(e: Explanation, ax: Any = None) -> tuple[Any, Any]:
    """The sanity check's cascade: ρ of signed and of absolute scores per stage.

    The first point is the positive control (nothing randomized, must be 1); then the stages
    of :mod:`workbench.attribution.sanity`, top of the model first. Needs an explanation made
    with ``trust=True``.
    """
    rand = e.trust.get("randomization")
    if not isinstance(rand, dict) or not rand.get("stages"):
        raise ValueError("this explanation has no randomization curve: explain with trust=True")
    points = [{"stage": "control", **rand["control"]}, *rand["stages"]]
    if ax is None:
        from workbench.plots import new_figure

        fig, ax = new_figure(width=7.0, height=3.0)
    else:
        fig = ax.figure
    xs = list(range(len(points)))
    for key, colour, style, name in (
        ("spearman", POSITIVE, "-", "signed scores"),
        ("spearman_abs", UNSIGNED, "--", "|scores|"),
    ):
        ys = [float("nan") if p[key] is None else p[key] for p in points]
        ax.plot(xs, ys, style, marker="o", color=tuple(c / 255 for c in colour), label=name)
    ax.set_xticks(xs, [literal(str(p["stage"])) for p in points], rotation=30, ha="right")
    ax.set_ylim(-1.05, 1.05)
    ax.axhline(0, color="#999", lw=0.6)
    ax.set_ylabel("Spearman ρ\nwith the real scores")
    ax.set_title(
        "sanity check: weights randomized from the top down (low is good; control must be 1)",
        fontsize=9,
        loc="left",
    )
    ax.legend(fontsize=8, loc="best")
    return fig, ax


def save_png(e: Explanation, path: str | Path, dpi: int = 120, scale: float | None = None) -> Path:
    """Write :func:`plot_word_scores` of ``e`` as a PNG file; return the path.

    When ``e`` carries the sanity check's cascade, its curve (:func:`plot_randomization`) is
    drawn below the word scores.
    """
    rand = e.trust.get("randomization")
    if isinstance(rand, dict) and rand.get("stages"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        n_words = min(len(e.words), 40)
        fig = Figure(figsize=(7.0, 1.2 + 0.28 * max(n_words, 1) + 2.8), layout="constrained")
        FigureCanvasAgg(fig)
        words_ax, curve_ax = fig.subplots(2, 1, height_ratios=[1.2 + 0.28 * max(n_words, 1), 2.6])
        plot_word_scores(e, ax=words_ax, scale=scale)
        plot_randomization(e, ax=curve_ax)
    else:
        fig, _ = plot_word_scores(e, scale=scale)
    out = Path(path)
    fig.savefig(out, dpi=dpi)
    return out


def plot_comparison(
    explanations: Sequence[Explanation],
    titles: Sequence[str],
    scale: float | None = None,
    max_words: int = 40,
) -> tuple[Any, Any]:
    """Explanations side by side, one panel each, one x-axis scale per unit.

    Panels in logits (every signed method) share one scale; an unsigned method (saliency: a
    gradient size) is in other units, so it gets its own scale and is drawn in one hue
    (:func:`~workbench.attribution.html.panel_scales`; ``scale``, when given, is the first
    panel's unit's scale). The figure's title says what the colours mean and which panels
    share a scale; for two or more panels of the same words each panel's title gives its
    Spearman agreement with the first.
    """
    from workbench.attribution.compare import agreement
    from workbench.plots import new_figure

    if not explanations or len(titles) != len(explanations):
        raise ValueError(f"{len(explanations)} explanations but {len(titles)} titles")
    scales = panel_scales(explanations, scale)
    n_words = min(max(len(e.words) for e in explanations), max_words)
    fig, axes = new_figure(
        width=min(4.2 * len(explanations), 16.0),
        height=1.9 + 0.28 * max(n_words, 1),
        ncols=len(explanations),
    )
    axes = list(axes) if len(explanations) > 1 else [axes]
    same_words = all(e.words == explanations[0].words for e in explanations)
    for i, (e, title, ax, s) in enumerate(zip(explanations, titles, axes, scales, strict=True)):
        plot_word_scores(e, ax=ax, max_words=max_words, scale=s)
        if i and same_words:
            ax.tick_params(labelleft=False)  # the first panel names the words for all
        rho = agreement(explanations[0], e) if i else None
        by_size = "" if explanations[0].signed and e.signed else " (by |score|)"
        extra = f"\nρ vs {_short(titles[0])}{by_size}: {rho:+.2f}" if rho is not None else ""
        prob = e.probs.get(e.target["label"], float("nan"))
        target = _short(str(e.target["label"]))
        method = "" if title == e.method else f"{e.method} "  # no "layer-ig / layer-ig"
        ax.set_title(
            literal(f"{_short(title)}\n{method}→ {target} (p = {prob:.2f}){extra}"),
            fontsize=9,
            loc="left",
        )
    fig.suptitle(literal(_caption(explanations, titles, scales)), fontsize=10)
    return fig, axes


def _caption(
    explanations: Sequence[Explanation], titles: Sequence[str], scales: Sequence[float]
) -> str:
    """What the colours mean and which panels share a scale, one line per unit."""
    units = [unit(e) for e in explanations]
    if len(set(units)) == 1:
        e = explanations[0]
        if e.signed:
            return (
                f"word scores on one shared scale (±{scales[0]:.3g} logits); "
                "blue raises the logit, red lowers it"
            )
        return (
            f"word scores on one shared scale (0–{scales[0]:.3g}, {units[0]}); unsigned: "
            "one hue, darker = larger, no direction"
        )
    lines = []
    for u in dict.fromkeys(units):
        names = ", ".join(_short(t) for t, v in zip(titles, units, strict=True) if v == u)
        s = scales[units.index(u)]
        if u == "logits":
            lines.append(
                f"{names}: signed, in logits, one shared scale (±{s:.3g}): "
                "blue raises the logit, red lowers it"
            )
        else:
            lines.append(
                f"{names}: unsigned {u}, its own scale (0–{s:.3g}, other units): "
                "purple, darker = larger, no direction"
            )
    return "\n".join(lines)


def _short(text: str, width: int = 28) -> str:
    """A label cut to fit above a narrow panel."""
    return text if len(text) <= width else text[: width - 1] + "…"


def save_comparison_png(
    explanations: Sequence[Explanation],
    titles: Sequence[str],
    path: str | Path,
    scale: float | None = None,
    dpi: int = 120,
) -> Path:
    """Write :func:`plot_comparison` as a PNG file; return the path."""
    fig, _ = plot_comparison(explanations, titles, scale)
    out = Path(path)
    fig.savefig(out, dpi=dpi)
    return out
