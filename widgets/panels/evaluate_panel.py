"""EvaluatePanel: how a finished run did on its held-out test split.

Everything comes from the run directory (CONVENTIONS rule 8): test metrics, the
per-class table and the confusion matrix from ``summary.json``, and the misclassified
examples — most confidently wrong first — from ``test_predictions.jsonl``. Texts and
labels are untrusted and escaped. Whatever cannot be shown (a failed run, a run still
training, a run that ended before testing) is said with what to do next.

The coach's findings for the run (``summary["findings"]``: the pre-flight checks and the
diagnosis of how it went) are shown under the metrics
(:class:`~widgets.panels.coach_panel.FindingsView`); with the Workbench's shared form (``form``)
each fix has an **Apply** button that sets those controls for the next **Train**, and the
form's notice below says what changed.

Each misclassified row has an **Explain** button. In the Workbench it opens that example in
the Explain tab (``on_explain``); a panel on its own opens the Explain view the run's task
asks for (:class:`~widgets.explain.explain_tab.ExplainTab`) below the rows. A task can add pictures
(``Task.evaluation_pictures``): an image run shows its misclassified test images as a grid.

Under the metrics, :class:`~widgets.panels.deploy_box.DeployBox` checks the run's exported copies
against the evaluated model in a fresh process (``export_report.json``) and exports ONNX.
"""

from __future__ import annotations

import heapq
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from widgets.app.registry import resolve
from widgets.form.form import ConfigForm
from widgets.panels.coach_panel import FindingsView
from widgets.panels.deploy_box import DeployBox
from widgets.render import html
from widgets.render.charts import png
from widgets.render.images import png_image
from workbench.plots import confusion_matrix_plot
from workbench.tasks import TASKS

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
    on_explain
        Called with ``(row, run)`` when a row's **Explain** button is clicked (the
        Workbench opens its Explain tab); default: an AttributionView opens in this panel.
    form
        The shared :class:`~widgets.form.form.ConfigForm` the findings' **Apply** buttons set
        (the Workbench passes its own); None shows the findings without buttons.
    """

    def __init__(
        self,
        run: Any = None,
        *,
        max_examples: int = 50,
        on_explain: Callable[[dict[str, Any], Any], None] | None = None,
        form: ConfigForm | None = None,
    ) -> None:
        self.max_examples = max_examples
        self.on_explain = on_explain
        self.source: Any = None  # the run shown (handed to the Explain view)
        self.summary: dict[str, Any] = {}
        self.rows: list[dict[str, Any]] = []  # the misclassified examples shown
        self.explain_buttons: list[w.Button] = []  # one per row, same order
        self.explain_tab: Any = None  # the Explain views a standalone panel opens below
        self.explain_view: Any = None  # … the one shown (words, or an image's pixels)
        self.message = w.HTML(html.note(NO_RUN))
        self.metrics = w.HTML()
        self.findings = FindingsView(form)  # the coach's findings (hidden when none)
        self.generations = w.HTML()  # causal-LM runs: answers before vs after fine-tuning
        self.try_it: Any = None  # causal-LM runs: a TryItBox generating from the run's model
        self.per_class = w.HTML()
        self.confusion = png_image(max_width="420px")  # hidden while empty
        self.pictures = w.VBox()  # the task's pictures (an image run: its mistakes)
        self.misclassified = w.HTML()  # the column header, or "none"
        self.mistakes = w.VBox()  # one row per mistake: Explain button + escaped cells
        self.deploy = DeployBox()  # the export check and ONNX export (hidden without a run)
        self._lock = threading.Lock()  # show() may come from a click or a notebook cell
        self._parts: list[w.Widget] = [
            self.message,
            self.metrics,
            self.findings,
            *([form.notice] if form is not None else []),  # what Apply changed
            self.generations,
            # side by side where they fit; the matrix goes below in a narrow notebook
            w.HBox([self.per_class, self.confusion], layout=w.Layout(flex_flow="row wrap")),
            self.deploy,  # above the long list of mistakes, where it is seen
            w.HTML("<b>Misclassified test examples</b> (most confident first)"),
            self.pictures,
            self.misclassified,
            self.mistakes,
        ]
        super().__init__(self._parts)
        if run is not None:
            self.show(run)

    def show(self, source: Any) -> None:
        """Show a run's test results (a live run: say they come when it ends)."""
        with self._lock:
            self._show(source)

    def _show(self, source: Any) -> None:
        self.source = source
        try:
            view = resolve(source)
        except (ValueError, TypeError, OSError) as err:
            self.summary = {}
            self._clear(html.error(f"{err}\n{OPEN_RUN}"))
            return
        if view.live:
            self._clear(html.note(STILL_TRAINING))
            return
        summary = view.summary or {}
        self.summary = summary
        if view.status == "failed" or summary.get("error"):
            error = summary.get("error") or view.message
            self._clear(html.error(f"run failed: {error}\n{FAILED_NEXT}"))
            self.findings.show(summary.get("findings") or [])  # a pre-flight error's fix
            return
        if summary.get("test_accuracy") is None:
            self._clear(html.note(untested(view)))
            self.findings.show(summary.get("findings") or [])
            return
        if summary.get("test_perplexity") is not None:  # a causal-LM run
            self._show_lm(view, summary)
            return
        where = f" · {view.run_dir}" if view.run_dir else ""
        self.message.value = html.note(f"{view.status}{where}")
        self.metrics.value = html.table(
            [{"metric": k, "value": summary.get(k)} for k in METRIC_KEYS if k in summary]
        )
        self.findings.show(summary.get("findings") or [])
        per_class = summary.get("test_per_class") or {}
        self.per_class.value = html.table(
            [{"class": name, **scores} for name, scores in per_class.items()],
            ["class", "precision", "recall", "f1", "support"],
        )
        labels = [str(x) for x in summary.get("labels") or []]
        self.confusion.value = b""  # (hidden while empty: no picture left from another run)
        if summary.get("confusion_matrix"):
            fig, _ = confusion_matrix_plot(summary["confusion_matrix"], labels)
            self.confusion.value = png(fig)
        self._show_pictures(view, summary)
        path = view.run_dir / "test_predictions.jsonl" if view.run_dir else None
        self.rows = most_confident_mistakes(path, self.max_examples) if path else []
        self._show_mistakes()
        self.deploy.show(view.run_dir)

    def _show_pictures(self, view: Any, summary: dict[str, Any]) -> None:
        """The pictures the run's task adds (the misclassified images of an image run)."""
        task = TASKS.get(view.config.model.task) if view.config is not None else None
        if task is None or view.run_dir is None:
            self.pictures.children = ()
            return
        parts: list[w.Widget] = []
        for title, picture in task.evaluation_pictures(view.run_dir, summary):
            image = png_image(max_width="720px")
            image.value = picture
            parts += [w.HTML(html.note(title)), image]
        self.pictures.children = tuple(parts)

    def _show_lm(self, view: Any, summary: dict[str, Any]) -> None:
        """Perplexity, exact match, and the greedy answers before vs after fine-tuning."""
        from workbench.tasks.causal_lm.runs import read_generations

        self._clear("")
        where = f" · {view.run_dir}" if view.run_dir else ""
        self.message.value = html.note(f"{view.status}{where}")
        self.metrics.value = html.table(
            [{"metric": k, "value": summary.get(k)} for k in LM_METRIC_KEYS if k in summary]
        )
        self.findings.show(summary.get("findings") or [])
        rows = read_generations(view.run_dir) if view.run_dir else []
        self.generations.value = generations_html(rows)
        per_class = summary.get("test_per_class") or {}
        self.per_class.value = html.table(
            [{"answer": name, **scores} for name, scores in per_class.items()],
            ["answer", "exact_match", "support"],
        )
        self.misclassified.value = html.note("see the answers before vs after above")
        if self.try_it is None:
            from widgets.panels.try_it import TryItBox

            self.try_it = TryItBox()
            self.set_trait("children", (*self.children, self.try_it))
        self.try_it.show(self.source)

    def _show_mistakes(self) -> None:
        """One row per mistake: an **Explain** button, then text, label, prediction."""
        self.explain_buttons = []
        rows = []
        for row in self.rows:
            button = w.Button(description="Explain", layout=w.Layout(width="96px"))
            button.on_click(lambda _, r=row: self.explain(r))
            self.explain_buttons.append(button)
            rows.append(w.HBox([button, w.HTML(_row_html(row))]))
        self.misclassified.value = _row_html(None) if self.rows else html.note("none")
        self.mistakes.children = rows

    def explain(self, row: dict[str, Any]) -> None:
        """Open ``row`` (a misclassified example) in the Explain view."""
        if self.on_explain is not None:
            self.on_explain(row, self.source)
            return
        if self.explain_tab is None:
            from widgets.explain.explain_tab import ExplainTab

            self.explain_tab = ExplainTab()
            self.set_trait("children", (*self._parts, self.explain_tab))
        self.explain_tab.open_example(row, self.source)
        self.explain_view = self.explain_tab.view

    def _clear(self, message: str) -> None:
        self.rows = []
        self.message.value = message
        for widget in (self.metrics, self.generations, self.per_class, self.misclassified):
            widget.value = ""
        self.mistakes.children = ()
        self.pictures.children = ()
        self.explain_buttons = []
        self.confusion.value = b""
        self.findings.show([])
        self.deploy.show(None)


CELL = "display:inline-block;vertical-align:top;padding:0 4px"

NO_RUN = (
    "no run shown yet: click Train in the Train tab, or show a finished run's folder "
    '(the Runs tab lists them): Workbench(attach="runs/NAME") or EvaluatePanel("runs/NAME")'
)
STILL_TRAINING = (
    "still training: the test results appear here when the run ends "
    "(click Stop in the Train tab to end it now; it is tested all the same)"
)
OPEN_RUN = "Give the folder of a run (the Runs tab lists them), or click Train (Train tab)."
FAILED_NEXT = "Fix what the message names, then click Train again (Train tab)."


def untested(view: Any) -> str:
    """What to do about a run without test metrics (it ended before its test split ran)."""
    if view.message:  # e.g. interrupted: the process ended mid-run; it says how to resume
        return str(view.message)
    where = f" {view.run_dir}" if view.run_dir else " DIR"
    return (
        f"no test results in this {view.status} run: it ended before its test split was "
        f"scored. Continue it with `workbench train --resume{where}`, or click Train for "
        "a new run (Train tab)"
    )


LM_METRIC_KEYS = (
    "status",
    "test_loss",
    "test_perplexity",
    "test_accuracy",
    "generations_before_exact_match",
    "generations_after_exact_match",
    "val_loss",
    "best_step",
    "steps",
    "trainable_parameters",
    "train_tokens_per_second",
    "wall_seconds",
)


def generations_html(rows: list[dict[str, Any]]) -> str:
    """Held-out prompts with the greedy answer before and after fine-tuning (escaped)."""
    if not rows:
        return html.note(
            "no generations.json in this run (it is written when the run ends): "
            "ask the model yourself in Try it below"
        )
    mark = {True: "✓", False: "✗"}
    prompts = [str(r.get("prompt", "")) for r in rows]
    shared = _shared_prefix(prompts)
    table = [
        {
            "prompt": prompt[len(shared) :],
            "reference": r.get("reference", ""),
            "before fine-tuning": f"{mark[bool(r.get('before_match'))]} {r.get('before', '')}",
            "after fine-tuning": f"{mark[bool(r.get('after_match'))]} {r.get('after', '')}",
        }
        for r, prompt in zip(rows, prompts, strict=True)
    ]
    head = "<b>Greedy answers to held-out prompts</b>"
    if shared:  # the instruction every prompt repeats, once above the table
        head += html.note(f"every prompt begins with: {shared.strip()} …")
    return head + html.table(table)


def _shared_prefix(texts: list[str], at_least: int = 20) -> str:
    """The words all ``texts`` begin with (cut after whitespace), if two or more texts share
    ``at_least`` characters; else ""."""
    if len(texts) < 2:
        return ""
    common = os.path.commonprefix(texts)
    cut = max(common.rfind(" "), common.rfind("\n")) + 1
    shared = common[:cut]
    return shared if len(shared.strip()) >= at_least else ""


def _row_html(row: dict[str, Any] | None) -> str:
    """Cells of one mistake (escaped), or the header when ``row`` is None."""
    widths = (("text", "28em"), ("label", "8em"), ("predicted", "8em"), ("confidence", "6em"))
    cells = []
    for key, width in widths:
        if row is None:
            value = f"<b>{html.cell(key)}</b>"
        elif key == "confidence":
            value = html.cell(f"{float(row.get(key) or 0.0):.1%}")
        elif key == "text" and "text" not in row:  # an image: where it comes from
            value = html.cell(f"image {row.get('image', '?')}")
        else:
            value = html.cell(row.get(key))
        cells.append(f"<span style='{CELL};width:{width}'>{value}</span>")
    indent = "<span style='display:inline-block;width:84px'></span>" if row is None else ""
    return f"<div style='font-size:12px'>{indent}{''.join(cells)}</div>"


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
    keys = ("text", "image", "index", "label", "predicted", "confidence")
    return [{k: r[k] for k in keys if k in r} for _, _, r in sorted(heap, reverse=True)]
