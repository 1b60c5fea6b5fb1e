"""Word scores as a matplotlib figure (horizontal bars), for PNG export and notebooks.

Object-oriented matplotlib on the Agg canvas, never ``pyplot`` (CONVENTIONS rules 1 and 7):
``plot_word_scores(e, ax=None) -> (fig, ax)`` works in a worker thread, a widget or a test.
Words are drawn as literal text: ``$`` is escaped so that mathtext never interprets data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.attribution.explanation import Explanation
from workbench.attribution.html import NEGATIVE, POSITIVE


def literal(text: str) -> str:
    """Text that matplotlib shows as-is (``$…$`` would switch to mathtext)."""
    return text.replace("\\", "\\\\").replace("$", r"\$")


def plot_word_scores(e: Explanation, ax: Any = None, max_words: int = 40) -> tuple[Any, Any]:
    """Horizontal bar per word, in reading order (first word on top); blue up, red down."""
    words, scores = e.words[:max_words], e.word_scores[:max_words]
    if ax is None:
        from workbench.plots import new_figure

        fig, ax = new_figure(width=7.0, height=1.2 + 0.28 * max(len(words), 1))
    else:
        fig = ax.figure
    rows = list(range(len(words)))[::-1]
    colours = [
        tuple(c / 255 for c in (POSITIVE if s >= 0 or not e.signed else NEGATIVE)) for s in scores
    ]
    ax.barh(rows, scores, color=colours)
    ax.set_yticks(rows, [literal(w) for w in words])
    ax.axvline(0, color="#444", lw=0.8)
    prob = e.probs.get(e.target["label"], float("nan"))
    ax.set_title(literal(f"{e.method}: {e.explains} (p = {prob:.2f})"), fontsize=10, loc="left")
    ax.set_xlabel("score (contribution to the logit)" if e.signed else "score (magnitude)")
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


def save_png(e: Explanation, path: str | Path, dpi: int = 120) -> Path:
    """Write :func:`plot_word_scores` of ``e`` as a PNG file; return the path."""
    fig, _ = plot_word_scores(e)
    out = Path(path)
    fig.savefig(out, dpi=dpi)
    return out
