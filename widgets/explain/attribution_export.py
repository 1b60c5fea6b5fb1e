"""Exporting what the Explain view shows: a self-contained HTML page or a PNG.

A :class:`Shown` is one view's content — one explanation, or several side by side — with the
one colour scale they share, so the file looks like the view: the same panels, the same scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.attribution import Explanation
from workbench.attribution.html import render_comparison, render_html
from workbench.attribution.plot import save_comparison_png, save_png


@dataclass
class Shown:
    """What the view shows now: one or more explanations on one scale (for export)."""

    explanations: list[Explanation]
    titles: list[str]
    scale: float
    title: str


def write_view(shown: Shown, kind: str, path: Path) -> None:
    """Write ``shown`` to ``path`` as ``kind`` (``html``: escaped, no scripts; ``png``)."""
    many = len(shown.explanations) > 1
    if kind == "html":
        page = (
            render_comparison(shown.explanations, shown.titles, shown.title, shown.scale)
            if many
            else render_html(shown.explanations, shown.title, shown.scale)
        )
        path.write_text(page, encoding="utf-8")
    elif kind == "png":
        if many:
            save_comparison_png(shown.explanations, shown.titles, path, shown.scale)
        else:
            save_png(shown.explanations[0], path, scale=shown.scale)
    else:
        raise ValueError(f"unknown export format {kind!r}; choose html or png")
