"""EvaluatePanel: how a finished run did on its held-out test split.

Everything comes from the run directory (CONVENTIONS rule 8): test metrics, the
per-class table and the confusion matrix from ``summary.json``, and the misclassified
examples — most confidently wrong first — from ``test_predictions.jsonl``. Texts and
labels are untrusted and escaped. A failed run shows its error; a stopped run says it
was stopped before testing.
"""

from __future__ import annotations

import heapq
import json
import threading
from pathlib import Path
from typing import Any

import ipywidgets as w

from widgets import html
from widgets.charts import png
from widgets.registry import resolve
from workbench.plots import confusion_matrix_plot

METRIC_KEYS = (
    "status",
    "test_accuracy",
    "test_macro_f1",
    "test_loss",
    "val_loss",
    "best_step",
    "steps",
    "trainable_parameters",
    "train_samples_per_second",
    "wall_seconds",
)


class EvaluatePanel(w.VBox):
    """Test metrics, per-class table, confusion matrix and misclassified examples.

    Parameters
    ----------
    run
        A RunHandle, run directory or ``workbench.runs.Run`` to show at once.
    max_examples
        Misclassified examples listed (the most confident mistakes).
    """

    def __init__(self, run: Any = None, *, max_examples: int = 50) -> None:
        self.max_examples = max_examples
        self.summary: dict[str, Any] = {}
        self.rows: list[dict[str, Any]] = []  # the misclassified examples shown
        self.message = w.HTML(html.note("no run shown yet: finish a run or call show(run)"))
        self.metrics = w.HTML()
        self.per_class = w.HTML()
        self.confusion = w.Image(format="png", layout=w.Layout(max_width="420px"))
        self.misclassified = w.HTML()
        self._lock = threading.Lock()  # show() may come from a click or a notebook cell
        super().__init__(
            [
                self.message,
                self.metrics,
                w.HBox([self.per_class, self.confusion]),
                w.HTML("<b>Misclassified test examples</b> (most confident first)"),
                self.misclassified,
            ]
        )
        if run is not None:
            self.show(run)

    def show(self, source: Any) -> None:
        """Show a run's test results (a live run: say they come when it ends)."""
        with self._lock:
            self._show(source)

    def _show(self, source: Any) -> None:
        try:
            view = resolve(source)
        except (ValueError, TypeError, OSError) as err:
            self.summary = {}
            self._clear(html.error(str(err)))
            return
        if view.live:
            self._clear(html.note("still training: test results appear when the run ends"))
            return
        summary = view.summary or {}
        self.summary = summary
        if view.status == "failed" or summary.get("error"):
            self._clear(html.error(f"run failed: {summary.get('error') or view.message}"))
            return
        if summary.get("test_accuracy") is None:
            self._clear(html.note(f"no test results: the run was {view.status} before testing"))
            return
        where = f" · {view.run_dir}" if view.run_dir else ""
        self.message.value = html.note(f"{view.status}{where}")
        self.metrics.value = html.table(
            [{"metric": k, "value": summary.get(k)} for k in METRIC_KEYS if k in summary]
        )
        per_class = summary.get("test_per_class") or {}
        self.per_class.value = html.table(
            [{"class": name, **scores} for name, scores in per_class.items()],
            ["class", "precision", "recall", "f1", "support"],
        )
        labels = [str(x) for x in summary.get("labels") or []]
        if summary.get("confusion_matrix"):
            fig, _ = confusion_matrix_plot(summary["confusion_matrix"], labels)
            self.confusion.value = png(fig)
        path = view.run_dir / "test_predictions.jsonl" if view.run_dir else None
        self.rows = most_confident_mistakes(path, self.max_examples) if path else []
        self.misclassified.value = (
            html.table(
                [{**r, "confidence": f"{r['confidence']:.1%}"} for r in self.rows],
                ["text", "label", "predicted", "confidence"],
            )
            if self.rows
            else html.note("none")
        )

    def _clear(self, message: str) -> None:
        self.rows = []
        self.message.value = message
        for widget in (self.metrics, self.per_class, self.misclassified):
            widget.value = ""
        self.confusion.value = b""


def most_confident_mistakes(path: Path, n: int) -> list[dict[str, Any]]:
    """The ``n`` misclassified predictions with the highest confidence, read line by line."""
    if not path.is_file():
        return []
    heap: list[tuple[float, int, dict[str, Any]]] = []  # bounded: n rows, not the file
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if row.get("label") == row.get("predicted"):
                continue
            item = (float(row.get("confidence", 0.0)), i, row)
            if len(heap) < n:
                heapq.heappush(heap, item)
            else:
                heapq.heappushpop(heap, item)
    return [
        {k: r.get(k) for k in ("text", "label", "predicted", "confidence")}
        for _, _, r in sorted(heap, reverse=True)
    ]
