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

from widgets.panels.coach_panel import as_findings, finding_html
from widgets.render import html
from widgets.render.charts import png
from workbench.plots import new_figure, plot_training_curves, summary_baseline
from workbench.tasks import TASKS

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
    from widgets.app.registry import resolve

    try:
        view = resolve(source)
    except (ValueError, TypeError, OSError) as err:
        return RunReport("no run", b"", {}, str(err))
    summary = view.summary or {}
    metrics = {k: summary[k] for k in METRICS if summary.get(k) is not None}
    metrics.setdefault("status", view.status)
    title = f"{view.run_dir.name if view.run_dir else 'run'} — {view.status}"
    fig, axes = new_figure(13.0, 3.6, ncols=3)
    plot_training_curves(view.events, axes=axes[:2], baseline=summary_baseline(summary))
    fig.suptitle(title, fontsize=10)  # across the figure: a long run name is not clipped
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


class EvaluationReport:
    """A static copy of what the Evaluate tab shows for a run: plain HTML (and the confusion
    matrix as a PNG) that any notebook export or shared copy keeps."""

    def __init__(
        self,
        title: str,
        parts: list[str],
        confusion_png: bytes = b"",
        pictures: list[tuple[str, bytes]] | None = None,
    ) -> None:
        self.title = title
        self.parts = parts
        self.confusion_png = confusion_png
        #: ``(caption, PNG)`` the run's task adds (an image run: its misclassified images)
        self.pictures = list(pictures or [])

    def _repr_html_(self) -> str:
        picture = _img(self.confusion_png, "confusion matrix") if self.confusion_png else ""
        extra = "".join(
            f"<div>{html.note(caption)}{_img(data, caption)}</div>"
            for caption, data in self.pictures
        )
        body = "".join(self.parts)
        return f"<div><h4>{_html.escape(self.title)}</h4>{body}{picture}{extra}</div>"

    def save(self, path: str | Path) -> Path:
        """Write a self-contained ``.html`` page."""
        p = Path(path)
        p.write_text(self._repr_html_(), encoding="utf-8")
        return p


def evaluation_report(source: Any, mistakes: int = 8) -> EvaluationReport:
    """The Evaluate tab of a finished run as static HTML, for a copy that teaches when shared.

    A classifier: the test metrics, the per-class table, the confusion matrix and the
    ``mistakes`` most confidently wrong test examples. A causal LM: the test metrics, the
    greedy answers to held-out prompts before and after fine-tuning, and exact match per
    answer. Every text from the data is escaped. A run that failed, still trains or has no
    test results says so, as the Evaluate tab does.
    """
    from widgets.app.registry import resolve
    from widgets.panels.evaluate_panel import (
        LM_METRIC_KEYS,
        METRIC_KEYS,
        generations_html,
        most_confident_mistakes,
        untested,
    )
    from workbench.plots import confusion_matrix_plot

    try:
        view = resolve(source)
    except (ValueError, TypeError, OSError) as err:
        return EvaluationReport("no run", [html.error(str(err))])
    name = view.run_dir.name if view.run_dir else "run"
    summary = view.summary or {}
    title = f"Evaluation on the test split — {name}"
    if view.live:
        return EvaluationReport(title, [html.note("still training: no test results yet")])
    if view.status == "failed" or summary.get("error"):
        error = summary.get("error") or view.message
        return EvaluationReport(title, [html.error(f"run failed: {error}")])
    if summary.get("test_accuracy") is None:
        return EvaluationReport(title, [html.note(untested(view))])
    coach = "".join(finding_html(f) for f in as_findings(summary.get("findings") or []))
    lm = summary.get("test_perplexity") is not None
    keys = LM_METRIC_KEYS if lm else METRIC_KEYS
    metrics = html.table([{"metric": k, "value": summary.get(k)} for k in keys if k in summary])
    per_class = summary.get("test_per_class") or {}
    if lm:
        from workbench.tasks.causal_lm.runs import read_generations

        rows = read_generations(view.run_dir) if view.run_dir else []
        answers = html.table(
            [{"answer": k, **v} for k, v in per_class.items()], ["answer", "exact_match", "support"]
        )
        parts = [metrics, generations_html(rows), "<b>Exact match per answer</b>", answers, coach]
        return EvaluationReport(title, parts)
    classes = html.table(
        [{"class": k, **v} for k, v in per_class.items()],
        ["class", "precision", "recall", "f1", "support"],
    )
    confusion = b""
    if summary.get("confusion_matrix"):
        labels = [str(x) for x in summary.get("labels") or []]
        fig, _ = confusion_matrix_plot(summary["confusion_matrix"], labels)
        confusion = png(fig, dpi=80)
    path = view.run_dir / "test_predictions.jsonl" if view.run_dir else None
    wrong = most_confident_mistakes(path, mistakes) if path else []
    for row in wrong:
        row["confidence"] = f"{float(row.get('confidence') or 0.0):.1%}"
    what = "text" if not wrong or "text" in wrong[0] else "image"  # an image run: its file
    mistakes_html = (
        html.table(wrong, [what, "label", "predicted", "confidence"])
        if wrong
        else html.note("no misclassified test examples")
    )
    task = TASKS.get(view.config.model.task) if view.config is not None else None
    pictures = (
        task.evaluation_pictures(view.run_dir, summary)
        if task is not None and view.run_dir is not None
        else []
    )
    parts = [
        metrics,
        coach,
        "<b>Per class</b>",
        classes,
        f"<b>Most confident mistakes</b> ({len(wrong)} shown)",
        mistakes_html,
    ]
    return EvaluationReport(title, parts, confusion, pictures)


def _img(data: bytes, alt: str) -> str:
    """An inline PNG (``alt`` escaped)."""
    return (
        f"<img src='data:image/png;base64,{base64.b64encode(data).decode()}' "
        f"alt='{_html.escape(alt, quote=True)}' style='max-width:100%'/>"
    )
