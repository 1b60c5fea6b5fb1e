"""Side-by-side views of finished runs for notebooks: an overlay plot and a table in one cell.

:func:`compare` takes ``{label: run}`` (run objects from
:func:`workbench.experiments.run_variants`, run directories or run handles) and returns a
:class:`Comparison`: the runs' curves overlaid in one labelled figure
(:func:`workbench.plots.plot_run_comparison`) above a table of the settings that differ and
the held-out numbers (:func:`workbench.experiments.comparison_table`). Like
:class:`~widgets.render.report.RunReport` it is a plain object with ``_repr_html_`` and
``_repr_png_`` — no IPython import — so its output survives any notebook export.
:func:`figure` does the same for any figure a plot function returns.
"""

from __future__ import annotations

import base64
import html as _html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from widgets.render import html
from widgets.render.charts import png
from workbench.experiments import comparison_table
from workbench.plots import plot_run_comparison, summary_baseline
from workbench.runs import Run, load_run


class Picture:
    """A rendered figure: shows as a PNG in a notebook; ``save(path)`` writes it."""

    def __init__(self, png_bytes: bytes, title: str = "") -> None:
        self.png = png_bytes
        self.title = title

    def _repr_png_(self) -> bytes:
        return self.png

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_bytes(self.png)
        return p


def figure(fig: Any, dpi: int = 90) -> Picture:
    """Show a matplotlib figure from :mod:`workbench.plots` in a notebook cell."""
    return Picture(png(fig, dpi=dpi))


class Comparison:
    """Overlay figure + table of several runs; ``rows`` is the table as dicts."""

    def __init__(self, picture: Picture, rows: list[dict[str, Any]], title: str = "") -> None:
        self.picture = picture
        self.rows = rows
        self.title = title

    def _repr_png_(self) -> bytes:
        return self.picture.png

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.picture.png).decode()
        title = f"<h4>{_html.escape(self.title)}</h4>" if self.title else ""
        return (
            f"<div>{title}<img src='data:image/png;base64,{data}' "
            f"alt='{_html.escape(self.title or 'run comparison')}' style='max-width:100%'/>"
            f"{html.table(self.rows)}</div>"
        )


def compare(
    runs: Mapping[str, Any], metric: str = "val_macro_f1", x: str = "step", title: str = ""
) -> Comparison:
    """Overlay the curves of ``{label: run}`` and tabulate what differs and what they scored;
    a dotted line marks what a model that learned nothing scores on their validation split."""
    loaded = {label: _as_run(run) for label, run in runs.items()}
    fig, _ = plot_run_comparison(
        {label: run.events for label, run in loaded.items()},
        metric=metric,
        x=x,
        title=title,
        baseline=baseline_of(loaded.values()),
    )
    return Comparison(Picture(png(fig, dpi=90)), comparison_table(loaded), title)


def _as_run(run: Any) -> Run:
    if isinstance(run, Run):
        return run
    folder = getattr(run, "run_dir", run)  # a RunHandle knows its directory
    if folder is None:
        raise ValueError("this run has no directory yet: wait for it to start")
    return load_run(folder)


def baseline_of(runs: Any) -> dict[str, float]:
    """The majority-class baseline of the runs' validation split (the first run that
    recorded its class or answer counts; runs of one comparison share their data)."""
    for run in runs:
        found = summary_baseline(run.summary)
        if found:
            return found
    return {}
