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
import importlib.util
import socket
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
    )


def _lm_explanation(prompt: str, answer: str, label: str) -> Any:
    from workbench.attribution.llm import LMExplanation

    words = prompt.split() or [prompt]
    tokens = answer.split() or [answer]
    matrix = [[0.1 * (i - j) for j in range(len(words))] for i in range(len(tokens))]
    return LMExplanation(
        prompt, words, answer, tokens, matrix, method=label, model_label=label, notes=[label]
    )


def render_widget_table(a: str, b: str, c: str) -> str:
    from widgets import html

    return html.table([{a: b, "other": c}], [a, "other"])


def render_frame_table(a: str, b: str, c: str) -> str:
    from widgets import html

    return html.frame_table(pd.DataFrame([[b, c]], columns=[a, a + "_2"]))


def render_messages(a: str, b: str, c: str) -> str:
    from widgets import html

    return html.error(a) + html.note(b) + html.cell(c) + html.pre(f"{a}\n  {b}")


def render_report(a: str, b: str, c: str) -> str:
    from widgets.report import RunReport

    return RunReport(a, b"\x89PNG", {b: c, "f1": 0.5}, message=c)._repr_html_()


def render_finding(a: str, b: str, c: str) -> str:
    """A coach finding as the Train/Evaluate tabs and the report show it (all user strings:
    a label or column name can end up in a message, a setting value in ``changes``)."""
    from widgets.coach_panel import finding_html
    from workbench.coach import Finding

    finding = Finding(a or "check", "warning", b, c, fix=a, changes={"text_column": c, "lr": 0.1})
    return finding_html(finding)


def render_report_findings(a: str, b: str, c: str) -> str:
    from widgets.report import RunReport
    from workbench.coach import Finding

    finding = Finding("chance", "error", a, b, fix=c, changes={"label_column": b})
    return RunReport("r", b"", {}, findings=[finding.to_dict()])._repr_html_()


def render_comparison_widget(a: str, b: str, c: str) -> str:
    from widgets.compare import Comparison, Picture

    return Comparison(Picture(b"\x89PNG", a), [{"run": b, "model": c}], title=a)._repr_html_()


def render_mistake_row(a: str, b: str, c: str) -> str:
    from widgets.evaluate_panel import _row_html

    return _row_html({"text": a, "label": b, "predicted": c, "confidence": 0.9})


def render_overfitting(a: str, b: str, c: str) -> str:
    from widgets.curves_panel import overfitting_html

    flag = {"since_step": 3, "val_loss_min": 0.1, "val_loss_now": 0.3, "suggestions": [a, b, c]}
    return overfitting_html(flag)


def render_runs_table(a: str, b: str, c: str) -> str:
    from widgets import html
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
    from workbench.attribution import llm_html

    es = [_lm_explanation(a, b, c), _lm_explanation(b, a, c)]
    return llm_html.page(llm_html.comparison_html(es), title=c)


def render_try_it_answer(a: str, b: str, c: str) -> str:
    from widgets.try_it import _answer_html

    return _answer_html(a, False) + _answer_html(b + c, True)


RENDERERS = {
    "widgets.html.table": render_widget_table,
    "widgets.html.frame_table": render_frame_table,
    "widgets.html.error/note/cell/pre": render_messages,
    "widgets.report.RunReport": render_report,
    "widgets.report.RunReport findings": render_report_findings,
    "widgets.coach_panel finding": render_finding,
    "widgets.compare.Comparison": render_comparison_widget,
    "widgets.evaluate_panel mistakes": render_mistake_row,
    "widgets.curves_panel overfitting": render_overfitting,
    "runs table": render_runs_table,
    "attribution explanation + page": render_explanation,
    "attribution comparison + page": render_attribution_comparison,
    "causal-LM heatmap comparison + page": render_lm_heatmap,
}
if importlib.util.find_spec("widgets.try_it") is not None:  # the causal-LM "try it" box
    RENDERERS["widgets.try_it answer"] = render_try_it_answer


@pytest.mark.parametrize("name", list(RENDERERS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=untrusted, b=untrusted, c=untrusted)
def test_every_html_renderer_escapes_untrusted_strings(name: str, a: str, b: str, c: str) -> None:
    assert_escaped(RENDERERS[name], a, b, c)


def test_the_renderer_list_covers_every_module_that_writes_html() -> None:
    """A new module building HTML from strings must join RENDERERS above (or say why not)."""
    covered = {
        "widgets/html.py",
        "widgets/report.py",
        "widgets/compare.py",
        "widgets/evaluate_panel.py",
        "widgets/curves_panel.py",
        "widgets/runs_panel.py",  # html.table(runs_table(...)): "runs table"
        "widgets/data_panel.py",  # html.frame_table/table/error: the DataPanel test below
        "widgets/train_panel.py",  # html.error/note of run messages
        "widgets/hyperparameters_panel.py",  # fixed section titles only
        "widgets/attribution_view.py",  # html.note/error + attribution renderers
        "workbench/attribution/html.py",
        "workbench/attribution/llm_html.py",
        "widgets/try_it.py",
        "widgets/coach_panel.py",  # finding_html: "widgets.coach_panel finding"
    }
    writers = set()
    for folder in ("widgets", "workbench"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if any(
                tag in text for tag in ("<div", "<span", "<table", "<td", "<li>", "_repr_html_")
            ):
                writers.add(str(path.relative_to(ROOT)))
    assert writers <= covered, (
        f"HTML written in modules the property test does not cover: {writers - covered}"
    )


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
    from workbench.training.rundir import create_run_dir

    runs = tmp_path / "runs"
    cfg = TrainConfig().replace(model=model, runs_dir=str(runs))
    path = create_run_dir(cfg)
    assert path.resolve().parent == runs.resolve(), path
    assert list(tmp_path.iterdir()) == [runs]


@pytest.mark.parametrize("name", EVIL_NAMES + ["", "   "])
def test_run_names_cannot_escape_the_runs_folder(name: str, tmp_path: Path) -> None:
    from workbench.training.rundir import run_path

    with pytest.raises(RunError, match="run name"):
        run_path(tmp_path / "runs", name)


def test_a_plain_run_name_resolves_inside_the_runs_folder(tmp_path: Path) -> None:
    from workbench.training.rundir import run_path

    assert (
        run_path(tmp_path / "runs", "20261122-minilm-lora")
        == tmp_path / "runs" / "20261122-minilm-lora"
    )


def test_a_symlinked_run_pointing_outside_is_refused(tmp_path: Path) -> None:
    from workbench.training.rundir import run_path

    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "link").symlink_to(outside)
    with pytest.raises(RunError, match="outside"):
        run_path(tmp_path / "runs", "link")


# ----------------------------------------------------------------------------- offline
class NetworkUsed(AssertionError):
    pass


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and refuse) every attempt to resolve a host or open a connection."""
    attempts: list[str] = []

    def refuse(what: str) -> Any:
        def guard(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{what}{args[:2]}")
            raise NetworkUsed(f"network used offline: {what}{args[:2]}")

        return guard

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    return attempts


@pytest.mark.parametrize("model", ["no-such-org/no-such-model", "bert-base-uncased", "gpt2"])
def test_offline_an_unknown_model_fails_without_touching_the_network(
    model: str, no_network: list[str]
) -> None:
    from workbench.models import resolve_model

    try:
        resolve_model(model)
    except ModelError as err:
        assert "HF_HUB_OFFLINE" in str(err)
    assert no_network == []


def test_offline_training_an_unknown_model_fails_fast_without_the_network(
    no_network: list[str], tmp_path: Path
) -> None:
    from conftest import toy_frame

    from workbench import train

    cfg = TrainConfig().replace(
        model="someone/not-downloaded", dataset="frame", device="cpu", runs_dir=str(tmp_path)
    )
    handle = train(cfg, data=toy_frame(10), block=True)
    assert handle.status == "failed"
    assert isinstance(handle.error, ModelError), handle.error
    assert no_network == []


def test_offline_loading_local_and_packaged_models_uses_no_network(
    no_network: list[str], tiny_bert_dir: str, minilm_dir: str
) -> None:
    from workbench.models import load_classifier, load_tokenizer, resolve_model

    for name in (tiny_bert_dir, "minilm-l6"):
        source = resolve_model(name)
        load_tokenizer(source)
        load_classifier(source, ["a", "b", "c"])
    assert no_network == []
