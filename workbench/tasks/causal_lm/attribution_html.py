"""A causal LM's attributions as HTML: prompt words × answer tokens heatmap plus totals.

Rows are the prompt's words, columns the answer's tokens; a cell's colour is that word's
contribution to that token's log-probability (blue raises it, red lowers it), and the last
column the word's total over the whole answer. Several explanations (base vs fine-tuned)
render side by side on **one shared scale**, so equal colours mean equal scores. Every
string — prompt words, answer tokens, labels, notes — is escaped: prompts and answers are
untrusted text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from workbench.attribution.html import STYLE, colour, esc
from workbench.tasks.causal_lm.attribution import LMExplanation

LM_STYLE = """
.wb-lm td.c{min-width:2.6em;text-align:right;font-variant-numeric:tabular-nums;font-size:.8em}
.wb-lm th.tok{font-family:ui-monospace,monospace;font-weight:normal;white-space:pre}
.wb-lm td.word{font-family:ui-monospace,monospace}
.wb-lm td.total{font-weight:600;border-left:2px solid #ccc}
"""


def shared_scale(explanations: Sequence[LMExplanation]) -> float:
    """Largest absolute cell over all explanations (the colour for full strength)."""
    return max((e.scale for e in explanations), default=0.0)


def heatmap_html(e: LMExplanation, scale: float | None = None) -> str:
    """One explanation as a table (a ``<section>`` with its ``data-scale``)."""
    scale = e.scale if scale is None else scale
    totals = e.totals
    total_scale = max((abs(t) for t in totals), default=0.0) if scale == e.scale else scale
    head = "".join(f'<th class="tok">{esc(t)}</th>' for t in e.answer_tokens)
    rows = []
    for j, word in enumerate(e.words):
        cells = "".join(
            f'<td class="c" style="background:{colour(e.matrix[i][j], scale)}" '
            f'title="{esc(f"{e.matrix[i][j]:+.4f}")}">{e.matrix[i][j]:+.2f}</td>'
            for i in range(len(e.answer_tokens))
        )
        total = (
            f'<td class="c total" style="background:{colour(totals[j], total_scale or scale)}">'
            f"{totals[j]:+.3f}</td>"
        )
        rows.append(f'<tr><td class="word">{esc(word)}</td>{cells}{total}</tr>')
    notes = "".join(f"<li>{esc(n)}</li>" for n in e.notes)
    return (
        f'<section class="wb-attr wb-lm" data-scale="{scale:.6g}">'
        f"<h3>{esc(e.model_label)}: {esc(e.method)}</h3>"
        f'<p>answer: <b>{esc(e.answer)}</b> <span class="muted">(scale ±{scale:.3g}; '
        "blue raises the answer's log-probability, red lowers it)</span></p>"
        f"<table><tr><th>prompt word</th>{head}<th>total</th></tr>{''.join(rows)}</table>"
        f"{f'<ul>{notes}</ul>' if notes else ''}</section>"
    )


def comparison_html(explanations: Sequence[LMExplanation]) -> str:
    """Side-by-side heatmaps (e.g. base vs fine-tuned) on one shared scale."""
    scale = shared_scale(explanations)
    cells = "".join(f'<div class="wb-cell">{heatmap_html(e, scale)}</div>' for e in explanations)
    return f'<div class="wb-compare" data-scale="{scale:.6g}">{cells}</div>'


def page(body: str, title: str = "Answer attribution") -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{STYLE}{LM_STYLE}</style></head><body>{body}</body></html>"
    )


def save_lm_html(explanations: Sequence[LMExplanation], path: Path) -> None:
    """Write a self-contained page with one or several explanations."""
    body = (
        heatmap_html(explanations[0]) if len(explanations) == 1 else comparison_html(explanations)
    )
    path.write_text(page(body), encoding="utf-8")
