"""A plain report of a run that survives any notebook export.

Widget views show up in a saved or exported notebook only when widget state was saved and
the viewer can load the widget manager (NOTEBOOK_FACTS.md). :func:`report` returns a
:class:`RunReport`: a PNG of the curves with the metrics table drawn beside them, and an
HTML rendering (the PNG inlined as base64 plus an escaped metrics table). It implements
``_repr_html_`` / ``_repr_png_`` only — no IPython import — so a notebook cell that ends
with ``report(run)`` stores plain outputs every exporter keeps.
"""

from __future__ import annotations

import base64
import html as _html
from pathlib import Path
from typing import Any

from widgets import html
from widgets.charts import png
from widgets.coach_panel import as_findings, finding_html
from workbench.plots import new_figure, plot_training_curves

METRICS = (
    "status",
    "test_accuracy",
    "test_macro_f1",
    "val_loss",
    "val_macro_f1",
    "best_step",
    "steps",
    "trainable_parameters",
    "total_parameters",
    "train_samples_per_second",
    "wall_seconds",
    "method",
    "lr",
)


class RunReport:
    """Curves PNG + metrics of one run; ``_repr_html_``, ``_repr_png_`` and ``save()``."""

    def __init__(
        self,
        title: str,
        png: bytes,
        metrics: dict[str, Any],
        message: str = "",
        findings: list[dict[str, Any]] | None = None,
    ):
        self.title = title
        self.png = png
        self.metrics = metrics
        self.message = message
        #: The coach's findings (summary.json), shown under the table in the HTML.
        self.findings = findings or []

    def _repr_png_(self) -> bytes:
        return self.png

    def _repr_html_(self) -> str:
        image = (
            f"<img src='data:image/png;base64,{base64.b64encode(self.png).decode()}' "
            f"alt='{_html.escape(self.title)}' style='max-width:100%'/>"
            if self.png
            else ""
        )
        rows = [{"metric": k, "value": v} for k, v in self.metrics.items()]
        message = html.error(self.message) if self.message else ""
        coach = "".join(finding_html(f) for f in as_findings(self.findings))
        return (
            f"<div><h4>{_html.escape(self.title)}</h4>{message}{image}"
            f"{html.table(rows, ['metric', 'value']) if rows else ''}{coach}</div>"
        )

    def save(self, path: str | Path) -> Path:
        """Write ``.png`` (the figure) or ``.html`` (self-contained page)."""
        p = Path(path)
        if p.suffix.lower() == ".png":
            p.write_bytes(self.png)
        else:
            p.write_text(self._repr_html_(), encoding="utf-8")
        return p


def report(source: Any) -> RunReport:
    """Report of a run: a RunHandle, a run directory or a ``workbench.runs.Run``."""
    from widgets.registry import resolve

    try:
        view = resolve(source)
    except (ValueError, TypeError, OSError) as err:
        return RunReport("no run", b"", {}, str(err))
    summary = view.summary or {}
    metrics = {k: summary[k] for k in METRICS if summary.get(k) is not None}
    metrics.setdefault("status", view.status)
    title = f"{view.run_dir.name if view.run_dir else 'run'} — {view.status}"
    fig, axes = new_figure(13.0, 3.6, ncols=3)
    plot_training_curves(view.events, axes=axes[:2], title=title)
    table_ax = axes[2]
    table_ax.axis("off")
    if metrics:
        cells = [[k, html.plain(v)] for k, v in metrics.items()]
        # Explicit widths inside the axes: automatic ones let long metric names spill out.
        table = table_ax.table(
            cellText=cells, colLabels=["metric", "value"], loc="center", colWidths=[0.62, 0.38]
        )
        table.auto_set_font_size(False)
        table.set_fontsize(9)
        table.scale(1.0, 1.2)
    message = str(summary.get("error") or view.message or "")
    return RunReport(title, png(fig, dpi=90), metrics, message, summary.get("findings"))
