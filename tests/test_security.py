"""Untrusted strings, untrusted models, untrusted paths, and no network when told so.

* **HTML**: a dataset's texts, labels and column names are untrusted (PRODUCT.md, quality
  bar). A property test (hypothesis) feeds arbitrary text — and known injection payloads —
  through every HTML renderer and view of the project and parses the output: the tags and
  attributes must be exactly those the renderer makes for a harmless string of the same
  shape, and never a script, an event handler or a ``javascript:`` link.
* **Models**: ``trust_remote_code`` is off unless the user turns it on (then with a
  warning); weights load from safetensors or ``torch.load(weights_only=True)`` — a pickled
  checkpoint that runs code on load is refused.
* **Paths**: run names built from user strings (model ids) and names looked up in a runs
  folder cannot escape it.
* **Offline**: with ``HF_HUB_OFFLINE=1`` resolving or training an unknown model fails at
  once without opening a single socket.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import re
import socket
import subprocess
import sys
import urllib.request
import warnings
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.config import TrainConfig
from workbench.errors import ModelError, RunError

ROOT = Path(__file__).resolve().parents[1]
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "' onmouseover='alert(1)' x='",
    "</style><script>alert(1)</script>",
    "</td></tr></table><iframe src=//evil.example>",
    '<a href="javascript:alert(1)">click</a>',
    "<!-- -->",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<b onclick=alert(1)>bold</b>",
]
# Text that hypothesis varies freely, or a payload with random text around it.
untrusted = st.one_of(
    st.text(max_size=40),
    st.sampled_from(PAYLOADS),
    st.builds(
        lambda a, p, b: a + p + b,
        st.text(max_size=8),
        st.sampled_from(PAYLOADS),
        st.text(max_size=8),
    ),
)
SPECIAL = str.maketrans({"<": "x", ">": "x", "&": "x", '"': "x", "'": "x"})
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}
FORBIDDEN_TAGS = {"script", "iframe", "svg", "object", "embed", "a", "form", "input", "link"}


class Structure(HTMLParser):
    """The tags and attribute names of an HTML string, in order (text content ignored)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, tuple[str, ...]]] = []
        self.values: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.items.append((tag, tuple(name for name, _ in attrs)))
        self.values.extend((name, v or "") for name, v in attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def structure(markup: str) -> Structure:
    parser = Structure()
    parser.feed(markup)
    parser.close()
    return parser


def assert_inert(markup: str) -> None:
    """No script, no event handler, no javascript: URL anywhere in ``markup``."""
    s = structure(markup)
    tags = {tag for tag, _ in s.items}
    assert not tags & FORBIDDEN_TAGS, tags & FORBIDDEN_TAGS
    names = {name for _, attrs in s.items for name in attrs}
    assert not [n for n in names if n.startswith("on")], names
    urls = [v for name, v in s.values if name in URL_ATTRIBUTES]
    assert not [v for v in urls if v.strip().lower().startswith(("javascript:", "data:text"))]


def assert_escaped(render: Any, *strings: str) -> None:
    """``render(*strings)`` has the same tags and attributes as for harmless strings of the
    same length and words (special characters replaced by ``x``), and is inert."""
    markup = render(*strings)
    harmless = render(*(s.translate(SPECIAL) for s in strings))
    assert structure(markup).items == structure(harmless).items, markup
    assert_inert(markup)


# ----------------------------------------------------------------------------- renderers
def _explanation(text: str, label: str, method: str, note: str) -> Any:
    from workbench.attribution.explanation import Explanation

    words = text.split() or [text]
    scores = [((i % 3) - 1) * 0.5 for i in range(len(words))]
    return Explanation(
        text=text,
        words=words,
        word_scores=scores,
        word_spans=[(-1, -1)] * len(words),
        tokens=words,
        token_scores=scores,
        target={"label": label, "index": 0},
        predicted={"label": label, "index": 0},
        probs={label: 0.7, label + "2": 0.3},
        method=method,
        signed=True,
        logit=1.0,
        baseline_logit=0.2,
        delta=0.01,
        notes=[note],
        trust=_trust(label, note),
    )


def _trust(stage: str, other: str) -> dict[str, Any]:
    """Faithfulness numbers and a randomization cascade (stage names are layer names)."""
    cascade = [
        {"stage": stage, "randomized": 0.1, "spearman": 0.4, "spearman_abs": -0.2},
        {"stage": other, "randomized": 1.0, "spearman": None, "spearman_abs": 0.0},
    ]
    return {
        "k": 0.2,
        "k_words": 1,
        "comprehensiveness": 0.3,
        "random_comprehensiveness": 0.1,
        "sufficiency": 0.05,
        "random_sufficiency": 0.2,
        "randomization": {
            "control": {"spearman": 1.0, "spearman_abs": 1.0},
            "stages": cascade,
            "attributions": 3,
        },
    }


def _lm_explanation(prompt: str, answer: str, label: str) -> Any:
    from workbench.tasks.causal_lm.attribution import LMExplanation

    words = prompt.split() or [prompt]
    tokens = answer.split() or [answer]
    matrix = [[0.1 * (i - j) for j in range(len(words))] for i in range(len(tokens))]
    return LMExplanation(
        prompt, words, answer, tokens, matrix, method=label, model_label=label, notes=[label]
    )


def render_widget_table(a: str, b: str, c: str) -> str:
    from widgets.render import html

    return html.table([{a: b, "other": c}], [a, "other"])


def render_frame_table(a: str, b: str, c: str) -> str:
    from widgets.render import html

    return html.frame_table(pd.DataFrame([[b, c]], columns=[a, a + "_2"]))


def render_messages(a: str, b: str, c: str) -> str:
    from widgets.render import html

    return html.error(a) + html.note(b) + html.cell(c) + html.pre(f"{a}\n  {b}")


def render_report(a: str, b: str, c: str) -> str:
    from widgets.render.report import RunReport

    return RunReport(a, b"\x89PNG", {b: c, "f1": 0.5}, message=c)._repr_html_()


def render_finding(a: str, b: str, c: str) -> str:
    """A coach finding as the Train/Evaluate tabs and the report show it (all user strings:
    a label or column name can end up in a message, a setting value in ``changes``)."""
    from widgets.panels.coach_panel import finding_html
    from workbench.coach import Finding

    finding = Finding(a or "check", "warning", b, c, fix=a, changes={"text_column": c, "lr": 0.1})
    return finding_html(finding)


def render_report_findings(a: str, b: str, c: str) -> str:
    from widgets.render.report import RunReport
    from workbench.coach import Finding

    finding = Finding("chance", "error", a, b, fix=c, changes={"label_column": b})
    return RunReport("r", b"", {}, findings=[finding.to_dict()])._repr_html_()


def render_comparison_widget(a: str, b: str, c: str) -> str:
    from widgets.panels.compare import Comparison, Picture

    return Comparison(Picture(b"\x89PNG", a), [{"run": b, "model": c}], title=a)._repr_html_()


def render_mistake_row(a: str, b: str, c: str) -> str:
    from widgets.panels.evaluate_panel import _row_html

    return _row_html({"text": a, "label": b, "predicted": c, "confidence": 0.9})


def render_overfitting(a: str, b: str, c: str) -> str:
    from widgets.panels.curves_panel import overfitting_html

    flag = {"since_step": 3, "val_loss_min": 0.1, "val_loss_now": 0.3, "suggestions": [a, b, c]}
    return overfitting_html(flag)


def render_runs_table(a: str, b: str, c: str) -> str:
    from widgets.render import html
    from workbench.runs import Run, runs_table

    name = a.replace("/", "_").replace("\0", "") or "run"
    config = TrainConfig().replace(model=b if b.strip() else "m")
    run = Run(Path("runs") / name, config, {"status": c, "test_macro_f1": 0.5})
    return html.table(runs_table([run]))


def render_explanation(a: str, b: str, c: str) -> str:
    from workbench.attribution.html import explanation_html, render_html

    e = _explanation(a, b, c, a)
    return explanation_html(e) + render_html([e], title=c)


def render_attribution_comparison(a: str, b: str, c: str) -> str:
    from workbench.attribution.html import comparison_html, render_comparison

    es = [_explanation(a, b, "ig", c), _explanation(c, b, "saliency", a)]
    return comparison_html(es, [b, c]) + render_comparison(es, [a, b], title=c)


def render_lm_heatmap(a: str, b: str, c: str) -> str:
    from workbench.tasks.causal_lm import attribution_html as llm_html

    es = [_lm_explanation(a, b, c), _lm_explanation(b, a, c)]
    return llm_html.page(llm_html.comparison_html(es), title=c)


def render_try_it_answer(a: str, b: str, c: str) -> str:
    from widgets.panels.try_it import _answer_html

    return _answer_html(a, False) + _answer_html(b + c, True)


def render_generations(a: str, b: str, c: str) -> str:
    """Causal-LM answers before/after fine-tuning: prompts and answers are data and model
    output."""
    from widgets.panels.evaluate_panel import generations_html

    row = {"prompt": a, "reference": b, "before": c, "after": a + b, "after_match": True}
    return generations_html([row, {"prompt": c, "reference": a, "before": b, "after": c}])


def render_model_panel(a: str, b: str, c: str) -> str:
    """The Model tab: catalog table (names, descriptions, the method in a header) and the
    trainable-parameter line (a typed model id or folder, a problem, a loading error)."""
    from widgets.panels.model_panel import catalog_html, trainable_html
    from workbench.errors import ModelError

    row = {
        "name": a,
        "available": True,
        "parameters": 22_700_000,
        "memory_bytes": {c: 2**30},
        "description": b,
    }
    table = catalog_html([row, {**row, "name": b, "available": False}], c, 16, 64)
    counts = trainable_html((1_000, 22_700_000), c, a)
    failures = trainable_html(b) + trainable_html(ModelError(c)) + trainable_html(OSError(a))
    return table + counts + failures


def render_lr_finder_message(a: str, b: str, c: str) -> str:
    from widgets.panels.lr_finder_panel import failure_html
    from workbench.errors import DataError

    return failure_html(a) + failure_html(DataError(b)) + failure_html(KeyError(c))


def render_deploy_box(a: str, b: str, c: str) -> str:
    """The Evaluate tab's export check: artifact names, loaders, errors and the run's path
    come from export_report.json (a file anyone may have edited)."""
    from widgets.panels.deploy_box import DeployBox

    box = _one(DeployBox)
    failed = {"loader": c, "loaded": False, "error": a, "passed": False, "path": b}
    worse = {
        "loader": a,
        "loaded": True,
        "passed": False,
        "examples": 3,
        "agreement": 0.5,
        "max_abs_logit_diff": 2.0,
        "max_abs_prob_diff": 0.5,
        "path": c,
        "tolerance": {"max_abs_logit_diff": 1e-3, "min_agreement": 0.99},
    }
    box._show_report(
        {
            "checked": True,
            "passed": False,
            "run": b,
            "finished": c,
            "artifacts": {a: failed, b: worse},
        }
    )
    checked = box.status.value + box.table.value + _findings_html(box.findings)
    box._show_report({"checked": False, "passed": None, "reason": a, "finished": b})
    return checked + box.status.value + _findings_html(box.findings)


def _findings_html(view: Any) -> str:
    return "".join(
        getattr(w, "value", "")
        for row in view.children
        for w in (row, *getattr(row, "children", ()))
    )


@functools.cache
def _one(cls: type) -> Any:
    """One instance of ``cls`` for all examples (a widget is slow to build)."""
    return cls()


def render_form_messages(a: str, b: str, c: str) -> str:
    """The form's notice (a note or an error; e.g. "task → causal-lm: implied by dataset
    '<the path typed>'") and its validation line, after a user string went into a setting."""
    from widgets.form.form import ConfigForm

    form = _one(ConfigForm)
    form.set("text_column", c if c.strip() else "text")
    form.say(a)
    note = form.notice.value
    form.say(b, is_error=True)
    return note + form.notice.value + form.error.value


def render_lesson(a: str, b: str, c: str) -> str:
    """A lesson's title, goal and fixed values: a lesson arrives as a pasted state string."""
    from widgets.app.lesson import Lesson
    from widgets.app.workbench import _lesson_html

    lesson = Lesson(title=a, goal=b, fixed={"text_column": c, "epochs": 2.0})
    return _lesson_html(lesson, lesson.apply(TrainConfig()))


def render_attribution_snapshot(a: str, b: str, c: str) -> str:
    """The static copy of the attribution view a lesson leaves in a shared notebook: its
    title, the example's labels and the heatmaps."""
    from widgets.explain.attribution_export import Shown
    from widgets.explain.attribution_view import AttributionView

    view = _one(AttributionView)
    assert view.wait(60)  # its start-up work is done: nothing resets what is shown below
    view.rows = [{"text": a, "label": b, "predicted": c, "confidence": 0.5}]
    pair = [_explanation(a, b, "ig", c), _explanation(c, b, "saliency", a)]
    view._present(Shown(pair, [b, c], 1.0, a))
    return view.snapshot().html


def render_evaluation_report(a: str, b: str, c: str) -> str:
    """evaluation_report of a classifier run (per-class table, findings, mistakes) and of a
    causal-LM run (answers before/after, exact match per answer): data and model output."""
    import json
    import tempfile

    from widgets.app.registry import RunView
    from widgets.render.report import evaluation_report
    from workbench.coach import Finding

    finding = Finding("chance", "warning", a, b, fix=c, changes={"label_column": b}).to_dict()
    scores = {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 3}
    classifier = {
        "test_accuracy": 0.5,
        "test_macro_f1": 0.5,
        "test_per_class": {a + "1": scores, b + "2": scores},
        "labels": ["x", "y"],
        "confusion_matrix": [[2, 1], [1, 2]],
        "findings": [finding],
    }
    lm = {
        "test_accuracy": 0.5,
        "test_perplexity": 3.0,
        "test_per_class": {c + "1": {"exact_match": 0.5, "support": 2}},
    }
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder) / "run"
        run_dir.mkdir()
        row = {"text": a, "label": b + "1", "predicted": c + "2", "confidence": 0.9}
        (run_dir / "test_predictions.jsonl").write_text(json.dumps(row) + "\n")
        answer = {"prompt": a, "reference": b, "before": c, "after": b, "after_match": True}
        (run_dir / "generations.json").write_text(json.dumps([answer]))
        shown = [
            evaluation_report(RunView([], "finished", None, run_dir, None, summary))
            for summary in (classifier, lm)
        ]
        return "".join(report._repr_html_() for report in shown)


def render_image_explanation(a: str, b: str, c: str) -> str:
    """The pixel view's prediction, trust table, randomization curve and messages: class
    names come from the user's folders or label column, file names from an upload."""
    import numpy as np

    from widgets.explain.image_explain_view import ImageExplainView, prediction_html, trust_html
    from workbench.tasks.image_classification import ImageExplanation

    curve = {
        "deletion": {"auc": 0.2, "random_auc": 0.3},
        "insertion": {"auc": 0.5, "random_auc": 0.4},
    }
    rho = {"spearman": 0.1, "spearman_abs": 0.2}
    e = ImageExplanation(
        method="integrated-gradients",
        target=b,
        target_index=1,
        predicted=a,
        probs={a: 0.6, b: 0.3, c: 0.1},
        scores=np.zeros((4, 4), dtype=np.float32),
        image=np.zeros((4, 4, 3), dtype=np.uint8),
        signed=True,
        baseline="black",
        gap=1.0,
        delta=0.01,
        trust={
            **curve,
            "randomization": {"control": rho, "stages": [{"stage": c, "randomized": 1.0, **rho}]},
        },
        notes=[c],
    )
    view = _one(ImageExplainView)
    view._on_upload({"new": ({"name": f"{a}.png", "content": b"not an image"},)})
    return prediction_html(e, c) + trust_html(e) + view.message.value


RENDERERS = {
    "widgets.render.html.table": render_widget_table,
    "widgets.render.html.frame_table": render_frame_table,
    "widgets.render.html.error/note/cell/pre": render_messages,
    "widgets.render.report.RunReport": render_report,
    "widgets.render.report.RunReport findings": render_report_findings,
    "widgets.panels.coach_panel finding": render_finding,
    "widgets.panels.deploy_box report": render_deploy_box,
    "widgets.panels.compare.Comparison": render_comparison_widget,
    "widgets.panels.evaluate_panel mistakes": render_mistake_row,
    "widgets.panels.evaluate_panel generations": render_generations,
    "widgets.panels.model_panel catalog + trainable": render_model_panel,
    "widgets.panels.lr_finder_panel message": render_lr_finder_message,
    "widgets.form.form notice + error": render_form_messages,
    "widgets.app.workbench lesson header": render_lesson,
    "widgets.panels.curves_panel overfitting": render_overfitting,
    "runs table": render_runs_table,
    "attribution explanation + page": render_explanation,
    "attribution comparison + page": render_attribution_comparison,
    "causal-LM heatmap comparison + page": render_lm_heatmap,
    "widgets.explain.attribution_view snapshot": render_attribution_snapshot,
    "widgets.render.report evaluation_report": render_evaluation_report,
    "widgets.explain.image_explain_view prediction + trust": render_image_explanation,
}
if importlib.util.find_spec("widgets.panels.try_it") is not None:  # the causal-LM "try it" box
    RENDERERS["widgets.panels.try_it answer"] = render_try_it_answer


@pytest.mark.parametrize("name", list(RENDERERS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=untrusted, b=untrusted, c=untrusted)
def test_every_html_renderer_escapes_untrusted_strings(name: str, a: str, b: str, c: str) -> None:
    assert_escaped(RENDERERS[name], a, b, c)


# How each module that writes HTML is covered: the RENDERERS above that run its code on
# injection payloads, or why it needs none (only fixed markup; strings reach HTML only
# through helpers that a renderer covers, or through a test of its own).
HTML_WRITERS: dict[str, tuple[str, ...] | str] = {
    "widgets/render/html.py": (
        "widgets.render.html.table",
        "widgets.render.html.frame_table",
        "widgets.render.html.error/note/cell/pre",
    ),
    "widgets/render/report.py": (
        "widgets.render.report.RunReport",
        "widgets.render.report.RunReport findings",
        "widgets.render.report evaluation_report",
    ),
    "widgets/panels/compare.py": ("widgets.panels.compare.Comparison",),
    "widgets/panels/evaluate_panel.py": (
        "widgets.panels.evaluate_panel mistakes",
        "widgets.panels.evaluate_panel generations",
    ),
    "widgets/panels/curves_panel.py": ("widgets.panels.curves_panel overfitting",),
    "widgets/panels/coach_panel.py": ("widgets.panels.coach_panel finding",),
    "widgets/panels/try_it.py": ("widgets.panels.try_it answer",),
    "widgets/panels/deploy_box.py": ("widgets.panels.deploy_box report",),
    "widgets/panels/model_panel.py": ("widgets.panels.model_panel catalog + trainable",),
    "widgets/panels/lr_finder_panel.py": ("widgets.panels.lr_finder_panel message",),
    "widgets/form/form.py": ("widgets.form.form notice + error",),
    "widgets/app/workbench.py": ("widgets.app.workbench lesson header",),
    "workbench/attribution/html.py": (
        "attribution explanation + page",
        "attribution comparison + page",
    ),
    "workbench/tasks/causal_lm/attribution_html.py": ("causal-LM heatmap comparison + page",),
    "widgets/panels/runs_panel.py": "fixed <b> title; run names and settings go through html.table "
    "(the 'runs table' and 'widgets.render.html.table' renderers)",
    "widgets/panels/data_panel.py": "fixed <b> titles; texts, labels and columns go through "
    "html.frame_table/table/pre/error: test_data_panel_shows_untrusted_columns_texts_and_labels",
    "widgets/panels/train_panel.py": "fixed <b> title; run errors and messages through "
    "html.error/note",
    "widgets/panels/hyperparameters_panel.py": "fixed <b> section titles; check errors through "
    "html.error/note, findings through coach_panel.finding_html",
    "widgets/explain/attribution_view.py": ("widgets.explain.attribution_view snapshot",),
    "widgets/explain/image_explain_view.py": (
        "widgets.explain.image_explain_view prediction + trust",
    ),
    "widgets/sweep/sweep_panel.py": "fixed <b> section titles; messages, run folders and trial "
    "settings go through html.note/error/plain, the trials table through html.table",
    "workbench/config.py": "not HTML: <slug> and <timestamp> are placeholders in help text",
    "workbench/deploy/parity.py": "not HTML: <run> is a placeholder in the loader descriptions",
    "workbench/cli/export.py": "not HTML: <run> is a placeholder in help text",
}
# An opening or closing tag: ``<b>``, ``<p style=…>``, ``</h3>``, ``<br/>``; not ``a < b``.
TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)(?=[\s/>])")
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _has_tag(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and TAG.search(node.value) is not None
    )


def _markup(node: ast.AST, docstrings: set[int]) -> tuple[set[str], bool]:
    """The tags ``node`` itself writes, and whether it puts a value into markup."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if id(node) in docstrings:
            return set(), False
        return {t.lower() for t in TAG.findall(node.value)}, False
    if isinstance(node, ast.JoinedStr):  # f"<h3>{title}</h3>"; f"<{tag}>" reads as <x>
        text = "".join(p.value if isinstance(p, ast.Constant) else "x" for p in node.values)
        tags = {t.lower() for t in TAG.findall(text)}
        return tags, bool(tags) and any(isinstance(p, ast.FormattedValue) for p in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        # "<p>" + goal; "<b>%s</b>" % name. Markup joined to a helper's result
        # ("<b>T</b>" + html.table(rows)) is not a value put in by hand.
        by_hand = any(
            _has_tag(markup)
            and (
                not isinstance(other, (ast.Constant, ast.Call))
                or (isinstance(node.op, ast.Mod) and markup is node.left)
            )
            for markup, other in ((node.left, node.right), (node.right, node.left))
        )
        return set(), by_hand
    if isinstance(node, ast.Call):
        func = node.func
        tags = set()
        if getattr(func, "attr", getattr(func, "id", "")) in ("HTML", "HTMLMath"):
            tags.add("*")  # an HTML widget shows whatever string it is given
        if any(k.arg == "description_allow_html" for k in node.keywords):
            tags.add("*")
        by_hand = isinstance(func, ast.Attribute) and func.attr == "format"
        return tags, by_hand and _has_tag(func.value)  # "<b>{}</b>".format(name)
    return set(), False


def html_writing(source: str) -> tuple[set[str], set[str]]:
    """What a module's code (not its docstrings) writes as HTML: the tags in its string
    literals, f-strings included (``f"<{tag}>"`` counts, as ``x``; an HTML widget, a
    ``_repr_html_`` or ``description_allow_html`` counts as ``*``), and the qualified names
    of the functions that put values into markup themselves (with an f-string, ``+``, ``%``
    or ``.format`` on a string holding a tag; ``<module>`` for module-level code)."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, *DEFINITIONS))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    tags: set[str] = set()
    functions: set[str] = set()

    def visit(node: ast.AST, qualname: str, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, DEFINITIONS):
                inner = child.name if not qualname else f"{qualname}.{child.name}"
                if in_function:
                    inner = f"{qualname}.<locals>.{child.name}"
                if child.name == "_repr_html_":
                    tags.add("*")
                visit(child, inner, not isinstance(child, ast.ClassDef))
                continue
            found, by_hand = _markup(child, docstrings)
            tags.update(found)
            if by_hand:
                functions.add(qualname if in_function else "<module>")
            visit(child, qualname, in_function)

    visit(tree, "", False)
    return tags, functions


def html_writers() -> dict[str, tuple[set[str], set[str]]]:
    """``{module path: (tags, functions putting values into markup)}`` for every module of
    ``widgets`` and ``workbench`` that writes HTML."""
    found = {}
    for folder in ("widgets", "workbench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tags, functions = html_writing(path.read_text(encoding="utf-8"))
            if tags:
                found[str(path.relative_to(ROOT))] = (tags, functions)
    return found


@pytest.mark.parametrize(
    ("source", "tags", "functions"),
    [
        ('def f(title):\n    return f"<h3>{title}</h3>"', {"h3"}, {"f"}),
        ('def f(goal):\n    return "<p>" + goal + "</p>"', {"p"}, {"f"}),
        ('def f(n):\n    return "<b>%s</b>" % n', {"b"}, {"f"}),
        ('class C:\n    def f(self, n):\n        return "<b>{}</b>".format(n)', {"b"}, {"C.f"}),
        ('def f(rows):\n    return "<b>Runs</b>" + html.table(rows)', {"b"}, set()),
        ('x = "<b>fixed</b><i>a</i><br/><img src=x>"', {"b", "i", "br", "img"}, set()),
        (
            "def f(t, c):\n    return f'<pre style=\"a\">{t}</pre><code>{c}</code>'",
            {"pre", "code"},
            {"f"},
        ),
        (
            'def f(u):\n    def g(t):\n        return f"<a href={u}>{t}</a>"\n    return g',
            {"a"},
            {"f.<locals>.g"},
        ),
        ('x = f"<{tag}>{t}</{tag}>"', {"x"}, {"<module>"}),
        ("box = w.HTML(value)", {"*"}, set()),
        ("b = w.Button(description=v, description_allow_html=True)", {"*"}, set()),
        ("class R:\n    def _repr_html_(self):\n        return self.s", {"*"}, set()),
        ('"""Docs may say <b>bold</b>."""\nx = f"a < {b} and c > d"', set(), set()),
        ('x = "<unk>"; y = "a<b"', {"unk"}, set()),
    ],
)
def test_the_html_scan_sees_every_kind_of_markup(
    source: str, tags: set[str], functions: set[str]
) -> None:
    assert html_writing(source) == (tags, functions)


def test_the_renderer_list_covers_every_module_that_writes_html() -> None:
    """A module writing HTML must join HTML_WRITERS: with RENDERERS that run its code
    (required when it puts values into markup itself), or with why it needs none."""
    writers = html_writers()
    assert {
        "widgets/app/workbench.py",
        "widgets/panels/model_panel.py",
        "widgets/panels/lr_finder_panel.py",
        "widgets/form/form.py",
    } <= set(writers), "the scan is blind to HTML widgets"
    assert set(writers) - set(HTML_WRITERS) == set(), "HTML written in modules not in HTML_WRITERS"
    assert set(HTML_WRITERS) - set(writers) == set(), "HTML_WRITERS names modules that write none"
    for module, covered in HTML_WRITERS.items():
        dotted = module.removesuffix(".py").replace("/", ".")
        package, _, name = dotted.rpartition(".")
        if isinstance(covered, str):
            assert covered.strip(), module
            assert not writers[module][1], f"{module} puts values into markup: add a renderer"
            continue
        assert set(covered) <= set(RENDERERS), set(covered) - set(RENDERERS)
        sources = [inspect.getsource(RENDERERS[r]) for r in covered]
        assert any(dotted in src or f"from {package} import {name}" in src for src in sources), (
            f"no renderer listed for {module} calls its code"
        )


def test_every_function_that_puts_values_into_markup_runs_under_the_property_test() -> None:
    """Function by function: each one that builds markup around a value by hand is reached
    by some renderer, so the property test above feeds it the injection payloads."""
    wanted = {
        (module, function)
        for module, (_, functions) in html_writers().items()
        for function in functions - {"<module>"}
    }
    assert len(wanted) > 10, "the scan found too few markup functions: it is broken"
    files = {str((ROOT / module).resolve()): module for module, _ in wanted}
    called: set[tuple[str, str]] = set()

    def profile(frame: Any, event: str, arg: Any) -> None:
        module = files.get(frame.f_code.co_filename)
        if event == "call" and module is not None:
            called.add((module, frame.f_code.co_qualname))

    sys.setprofile(profile)
    try:
        for render in RENDERERS.values():
            render("one two", "three", "four")
    finally:
        sys.setprofile(None)
    assert sorted(wanted - called) == []


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(column=untrusted, text=untrusted, label=untrusted)
def test_data_panel_shows_untrusted_columns_texts_and_labels_inertly(
    column: str, text: str, label: str
) -> None:
    from widgets import DataPanel

    column = column if column.strip() and column != "label" else "text column"
    rows = [(f"{text} {i}", label if i % 2 else "other") for i in range(30)]
    frame = pd.DataFrame(rows, columns=[column, "label"])
    panel = DataPanel(TrainConfig().replace(text_column=column, label_column="label"), data=frame)
    thread = panel.load()
    assert thread is not None
    thread.join(60)
    for view in (
        panel.preview.value,
        panel.splits.value,
        panel.cleaning.value,
        panel.message.value,
    ):
        assert_inert(view)


# ----------------------------------------------------------------------------- models
def test_trust_remote_code_is_off_unless_asked_and_warns_when_on(
    tiny_bert_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transformers

    from workbench.models import load_classifier, resolve_model

    assert TrainConfig().model.trust_remote_code is False
    seen: list[Any] = []
    real = transformers.AutoModelForSequenceClassification.from_pretrained

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained", spy)
    source = resolve_model(tiny_bert_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when it is off
        load_classifier(source, ["a", "b"])
    assert seen[-1]["trust_remote_code"] is False
    assert seen[-1]["weights_only"] is True
    with pytest.warns(UserWarning, match="trust_remote_code is on"):
        load_classifier(source, ["a", "b"], trust_remote_code=True)
    assert seen[-1]["trust_remote_code"] is True


def test_every_torch_load_in_the_project_uses_weights_only() -> None:
    calls = []
    for folder in ("workbench", "widgets", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "load"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "torch"
                ):
                    flags = {k.arg: k.value for k in node.keywords}
                    ok = (
                        isinstance(flags.get("weights_only"), ast.Constant)
                        and flags["weights_only"].value is True
                    )
                    calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", ok))
    assert calls, "found no torch.load at all: the scan is broken"
    assert [where for where, ok in calls if not ok] == []


class _Exploit:
    """A pickle that runs code when loaded without weights_only."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.write_text, (self.marker, "pwned"))


def test_a_pickled_checkpoint_that_runs_code_is_refused(tiny_bert_dir: str, tmp_path: Path) -> None:
    import torch

    from workbench.models import load_classifier, resolve_model

    marker = tmp_path / "pwned.txt"
    folder = tmp_path / "evil-model"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        if (Path(tiny_bert_dir) / name).is_file():
            (folder / name).write_bytes((Path(tiny_bert_dir) / name).read_bytes())
    torch.save(
        {"bert.embeddings.word_embeddings.weight": _Exploit(marker)}, folder / "pytorch_model.bin"
    )
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do; the point is the marker
        load_classifier(resolve_model(str(folder)), ["a", "b"])
    assert not marker.exists(), "loading the checkpoint ran code from it"
    from workbench.training.checkpoint import load_checkpoint

    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    from safetensors.torch import save_file

    save_file({"w": torch.ones(1)}, str(ckpt / "trainable.safetensors"))
    (ckpt / "state.json").write_text("{}")
    torch.save({"state": _Exploit(marker)}, ckpt / "optimizer.pt")
    with pytest.raises(Exception):  # noqa: B017
        load_checkpoint(ckpt)
    assert not marker.exists()


# ----------------------------------------------------------------------------- paths
EVIL_NAMES = [
    "../../escape",
    "/etc/passwd",
    "..",
    ".",
    "a/../../b",
    "..\\..\\win",
    "x\0y",
    "~/home",
]


@pytest.mark.parametrize("model", EVIL_NAMES)
def test_a_run_directory_named_after_a_model_id_stays_in_the_runs_folder(
    model: str, tmp_path: Path
) -> None:
    from workbench.runs.directory import create_run_dir

    runs = tmp_path / "runs"
    cfg = TrainConfig().replace(model=model, runs_dir=str(runs))
    path = create_run_dir(cfg)
    assert path.resolve().parent == runs.resolve(), path
    assert list(tmp_path.iterdir()) == [runs]


@pytest.mark.parametrize("name", EVIL_NAMES + ["", "   "])
def test_run_names_cannot_escape_the_runs_folder(name: str, tmp_path: Path) -> None:
    from workbench.runs.directory import run_path

    with pytest.raises(RunError, match="run name"):
        run_path(tmp_path / "runs", name)


def test_a_plain_run_name_resolves_inside_the_runs_folder(tmp_path: Path) -> None:
    from workbench.runs.directory import run_path

    assert (
        run_path(tmp_path / "runs", "20261122-minilm-lora")
        == tmp_path / "runs" / "20261122-minilm-lora"
    )


def test_a_symlinked_run_pointing_outside_is_refused(tmp_path: Path) -> None:
    from workbench.runs.directory import run_path

    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "link").symlink_to(outside)
    with pytest.raises(RunError, match="outside"):
        run_path(tmp_path / "runs", "link")


# ----------------------------------------------------------------------------- offline
# Every test runs under conftest's offline guard (``offline_guard``, autouse): a connection
# to a host other than this machine raises NetworkBlocked and fails the test at teardown,
# caught or not. The tests below prove the guard, then use it.
@pytest.fixture()
def empty_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Offline, with an empty Hugging Face cache: no hub model can be "already downloaded",
    so a model this machine happens to have cached cannot make a test pass by accident."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def _connect(family: int, address: tuple[Any, ...], ex: bool = False) -> Any:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        return sock.connect_ex(address) if ex else sock.connect(address)


def _sendto(address: tuple[Any, ...]) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        return sock.sendto(b"\0" * 12, address)


INTERNET_ATTEMPTS = {
    "create_connection": lambda: socket.create_connection(("example.com", 80), timeout=2),
    "getaddrinfo": lambda: socket.getaddrinfo("huggingface.co", 443),
    "gethostbyname": lambda: socket.gethostbyname("example.com"),
    "connect to an address": lambda: _connect(socket.AF_INET, ("93.184.215.14", 80)),
    "connect_ex": lambda: _connect(socket.AF_INET, ("1.1.1.1", 443), ex=True),
    "connect, IPv6": lambda: _connect(socket.AF_INET6, ("2606:4700:4700::1111", 443)),
    "connect, IPv4-mapped IPv6": lambda: _connect(socket.AF_INET6, ("::ffff:1.1.1.1", 443)),
    "UDP sendto (a DNS query)": lambda: _sendto(("8.8.8.8", 53)),
    "urllib": lambda: urllib.request.urlopen("http://example.com/", timeout=2),
}


@pytest.mark.parametrize("how", list(INTERNET_ATTEMPTS))
def test_the_offline_guard_refuses_every_way_out(how: str, offline_guard: Any) -> None:
    from conftest import NetworkBlocked

    with pytest.raises(OSError) as raised:  # urllib wraps it in a URLError (an OSError)
        INTERNET_ATTEMPTS[how]()
    blocked = getattr(raised.value, "reason", raised.value)  # URLError(reason=...)
    assert isinstance(blocked, NetworkBlocked), repr(raised.value)
    assert len(offline_guard.attempts) == 1, offline_guard.attempts
    offline_guard.attempts.clear()  # made on purpose: this test passes


def test_a_swallowed_network_attempt_still_fails_the_test(offline_guard: Any) -> None:
    """The old guard's hole: code that catches the error must not let the test pass. The
    project's own hub probe does (``except OSError: return False``), as does every HTTP
    library's retry loop."""
    from workbench.models.loading import hub_reachable

    assert hub_reachable(timeout=2) is False
    with pytest.raises(pytest.fail.Exception, match="huggingface.co"):
        offline_guard.check()  # what the fixture runs at teardown
    assert offline_guard.attempts == []


def test_a_swallowed_attempt_fails_a_real_pytest_run(tmp_path: Path) -> None:
    """End to end, in a child pytest with this conftest: the test that swallows the error
    is reported as an error at its teardown; the loopback test passes."""
    (tmp_path / "conftest.py").write_text(
        (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "test_child.py").write_text(
        "import socket\n"
        "def test_swallows():\n"
        "    try:\n"
        "        socket.getaddrinfo('example.com', 80)\n"
        "    except OSError:\n"
        "        pass\n"
        "def test_loopback():\n"
        "    with socket.create_server(('127.0.0.1', 0)) as server:\n"
        "        socket.create_connection(server.getsockname()).close()\n",
        encoding="utf-8",
    )
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = child.stdout + child.stderr
    assert child.returncode == 1, out
    assert "2 passed, 1 error" in out, out  # test_swallows: passed its call, failed teardown
    assert "ERROR at teardown of test_swallows" in out, out
    assert "getaddrinfo('example.com', 80)" in out, out


def test_the_offline_guard_lets_loopback_and_local_sockets_through(
    offline_guard: Any, tmp_path: Path
) -> None:
    """What the JupyterLab browser test, jupyter_client and torch's gloo need: 127.0.0.1,
    ``::1``, ``localhost`` and AF_UNIX."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        for host in ("127.0.0.1", "localhost"):
            socket.create_connection((host, port), timeout=2).close()
        assert socket.getaddrinfo("localhost", port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(b"x", ("127.0.0.1", port))
    try:
        server6 = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:  # no IPv6 loopback in this container: nothing to connect to
        server6 = None
    if server6 is not None:
        with server6:
            socket.create_connection(("::1", server6.getsockname()[1]), timeout=2).close()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix_server:
        path = str(tmp_path / "s")
        unix_server.bind(path)
        unix_server.listen()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
    for end in socket.socketpair():
        end.close()
    assert offline_guard.attempts == []


@pytest.mark.parametrize("model", ["no-such-org/no-such-model", "bert-base-uncased", "gpt2"])
def test_offline_an_unknown_model_fails_without_touching_the_network(
    model: str, empty_hf_cache: Path, offline_guard: Any
) -> None:
    from workbench.models import resolve_model

    with pytest.raises(ModelError, match="HF_HUB_OFFLINE"):
        resolve_model(model)
    assert offline_guard.attempts == []


def test_offline_training_an_unknown_model_fails_fast_without_the_network(
    empty_hf_cache: Path, offline_guard: Any, tmp_path: Path
) -> None:
    from conftest import toy_frame

    from workbench import train

    cfg = TrainConfig().replace(
        model="someone/not-downloaded", dataset="frame", device="cpu", runs_dir=str(tmp_path)
    )
    handle = train(cfg, data=toy_frame(10), block=True)
    assert handle.status == "failed"
    assert isinstance(handle.error, ModelError), handle.error
    assert "HF_HUB_OFFLINE" in str(handle.error)
    assert offline_guard.attempts == []


def test_offline_loading_local_and_packaged_models_uses_no_network(
    empty_hf_cache: Path, offline_guard: Any, tiny_bert_dir: str, minilm_dir: str
) -> None:
    from workbench.models import load_classifier, load_tokenizer, resolve_model

    for name in (tiny_bert_dir, "minilm-l6"):
        source = resolve_model(name)
        load_tokenizer(source)
        load_classifier(source, ["a", "b", "c"])
    assert offline_guard.attempts == []


def test_online_an_unreachable_hub_is_reported_not_hung(
    empty_hf_cache: Path, offline_guard: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without HF_HUB_OFFLINE the resolver probes the hub once; with no network (here: the
    guard) it says so instead of handing a hub id to a download that would hang."""
    from workbench.models import resolve_model

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ModelError, match="unreachable"):
        resolve_model("no-such-org/no-such-model")
    assert len(offline_guard.attempts) == 1 and "huggingface.co" in offline_guard.attempts[0]
    offline_guard.attempts.clear()  # the one probe, on purpose
