"""Pinned examples during training, and the Explain view: pick, compute, compare, scrub, export.

One finished tiny run serves the module: the conftest's tiny BERT trained for one epoch on toy
data whose *labels* and some texts are hostile HTML, with three pinned texts (one of them
hostile too). Widgets are tested through their traits (CONVENTIONS): set a control, click,
wait for the view's worker thread, read the HTML it shows.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import toy_frame

from widgets import AttributionView, EvaluatePanel, Workbench
from workbench.attribution import Explanation
from workbench.attribution.compare import agreement, shared_scale
from workbench.attribution.html import comparison_html, explanation_html, render_comparison
from workbench.config import ConfigError, TrainConfig
from workbench.runs import load_run
from workbench.training.pinned import PinnedExamples, read_pinned

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
QUOTE = '" onmouseover="alert(1)'
TD = "</td><td>pwned"
LABELS = {"negative": SCRIPT, "neutral": f"neutral {QUOTE} {TD}", "positive": IMG}
PINNED = ("I love this great day", f"awful {SCRIPT} broken", "the table report")
RAW = ("<script", "<img", '" onmouseover="', "<td>pwned")  # a raw </td> would end a cell
PNG = b"\x89PNG\r\n\x1a\n"


def assert_escaped(page: str) -> None:
    """No hostile string survives raw; their escaped forms are there instead."""
    for raw in RAW:
        assert raw not in page, raw


def scales(page: str) -> list[str]:
    return re.findall(r'<section class="wb-attr" data-scale="([^"]+)"', page)


@pytest.fixture(scope="module")
def run_dir(tiny_bert_dir: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run with hostile labels and texts, 3 pinned texts, evaluations every 2 steps."""
    from workbench.runs import train

    frame = toy_frame(n_per_class=16)
    frame["label"] = frame["label"].map(LABELS)
    frame.loc[0, "text"] = f"{frame.loc[0, 'text']} {SCRIPT} {TD}"
    root = tmp_path_factory.mktemp("view-runs")
    config = TrainConfig().replace(
        model=tiny_bert_dir,
        dataset="toy",
        max_train_samples=None,
        max_eval_samples=None,
        epochs=1.0,
        batch_size=8,
        lr=1e-3,
        max_length=32,
        eval_every=2,
        device="cpu",
        out=str(root / "run"),
        runs_dir=str(root),
        pinned_texts=PINNED,
    )
    handle = train(config, data=frame, block=True)
    assert handle.error is None, handle.error
    return root / "run"


@pytest.fixture()
def view(run_dir: Path) -> AttributionView:
    v = AttributionView(run_dir)
    v.trust.value = False  # the randomization check is tested in test_attribution.py
    return v


def computed(v: AttributionView) -> AttributionView:
    v.compute()
    assert v.wait(300), "the view's worker did not finish"
    assert v.status.value.startswith("done"), v.message.value
    return v


# ----------------------------------------------------------------------------- pinned: engine
def test_pinned_texts_are_a_validated_config_list_and_a_repeatable_flag() -> None:
    from workbench.cli import build_parser, config_from_args

    args, _ = build_parser().parse_known_args(["train", "--pin", SCRIPT, "--pin", "a day"])
    config = config_from_args(args)
    assert config.run.pinned_texts == (SCRIPT, "a day")
    assert TrainConfig.from_dict(config.to_dict()) == config  # YAML-ready, hashable again
    with pytest.raises(ConfigError, match="pinned_texts holds at most 5 texts; got 6"):
        TrainConfig().replace(pinned_texts=["x"] * 6)
    with pytest.raises(ConfigError, match="pinned_texts must hold non-empty texts"):
        TrainConfig().replace(pinned_texts=["ok", "  "])
    with pytest.raises(ConfigError, match="pinned_texts must be a list of texts"):
        TrainConfig().replace(pinned_texts="one text")


def test_pinned_examples_are_explained_at_the_start_and_at_every_evaluation(
    run_dir: Path,
) -> None:
    run = load_run(run_dir)
    records = run.pinned_attributions()
    evals = [e["step"] for e in run.events if e["type"] == "eval"]
    assert len(evals) >= 2
    steps = sorted({r.step for r in records})
    assert steps == [0, *evals]  # the pretrained model first, then every evaluation
    for step in steps:
        at = [r for r in records if r.step == step]
        assert [r.text for r in at] == list(PINNED) and [r.example for r in at] == [0, 1, 2]
    e = records[-1].explanation
    assert e.method == "layer-ig" and e.delta is not None and len(e.words) == 3
    assert "comprehensiveness" in e.trust and "randomization" not in e.trust  # the cheap ones
    assert [r.best for r in records if r.kind == "eval"].count(True) >= len(PINNED)
    timed = [e for e in run.events if e["type"] == "attribution"]
    assert [t["step"] for t in timed] == steps and all(t["seconds"] > 0 for t in timed)


def test_recording_pinned_examples_leaves_training_state_alone(
    tiny_bert_dir: str, tmp_path: Path
) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from workbench.training.events import EventLog

    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir)
    model.train()
    model.bert.embeddings.eval()  # a mixed mode must come back as it was
    model.classifier.weight.requires_grad_(False)
    modes = [m.training for m in model.modules()]
    flags = [p.requires_grad for p in model.parameters()]
    accelerator = SimpleNamespace(
        is_main_process=True, device=torch.device("cpu"), unwrap_model=lambda m: m
    )
    session = SimpleNamespace(
        accelerator=accelerator,
        model=model,
        tokenizer=AutoTokenizer.from_pretrained(tiny_bert_dir),
        config=TrainConfig().replace(max_length=32),
        progress=SimpleNamespace(step=7),
    )
    log = EventLog()
    rng = torch.get_rng_state()
    PinnedExamples(["a fine day", "so bad"], tmp_path, log).record(session, best=True)
    assert torch.equal(torch.get_rng_state(), rng)  # training draws the same dropout masks
    assert [m.training for m in model.modules()] == modes
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())  # nothing leaked into .grad
    records = read_pinned(tmp_path)
    assert [(r.step, r.example, r.best) for r in records] == [(7, 0, True), (7, 1, True)]
    assert log.events[-1]["type"] == "attribution" and log.events[-1]["examples"] == 2
    accelerator.is_main_process = False  # another process of a multi-process run: no writes
    PinnedExamples(["again"], tmp_path, log).record(session)
    assert len(read_pinned(tmp_path)) == 2


def test_run_loads_its_model_and_last_checkpoint_publicly(run_dir: Path) -> None:
    from workbench.errors import RunError

    run = load_run(run_dir)
    model, tokenizer = run.load_model()
    assert run.load_model()[0] is model and not model.training
    last, _ = run.load_model("last")
    assert last is not model
    assert set(model.config.id2label.values()) == set(LABELS.values())
    with pytest.raises(RunError, match="has no checkpoint 'middle'"):
        run.load_model("middle")


def test_a_run_without_model_folder_is_explained_from_its_checkpoint(
    run_dir: Path, tmp_path: Path
) -> None:
    """A run stopped by an older version has no model/: its best checkpoint stands in."""
    import shutil

    old = tmp_path / "old-stopped"
    shutil.copytree(run_dir, old)
    shutil.rmtree(old / "model")
    summary = json.loads((old / "summary.json").read_text())
    (old / "summary.json").write_text(json.dumps({**summary, "status": "stopped"}))
    v = AttributionView(old)
    v.trust.value = False
    assert v.model_choice.value == "this run", v.message.value
    assert v.wait(60) and "checkpoint" in v.message.value and v.status.value == "idle"
    computed(v)


# ----------------------------------------------------------------------------- the view
def test_the_view_explains_a_picked_misclassified_example(view: AttributionView) -> None:
    assert view.pick.value == "misclassified" and view.rows
    wrong = [r for r in view.rows if r["label"] != r["predicted"]]
    assert wrong, "the tiny run made no mistakes to pick"
    assert view.text.value == max(wrong, key=lambda r: r["confidence"])["text"]
    assert view.model_choice.value == "this run"
    seen: list[tuple[str, str]] = []
    view.status.observe(
        lambda c: seen.append((c["new"], threading.current_thread().name)), names="value"
    )
    computed(view)
    assert seen[0] == ("computing…", "workbench-explain")  # off the kernel's thread
    assert {thread for _, thread in seen} == {"workbench-explain"}
    e = view.shown.explanations[0] if view.shown else None
    assert e is not None and e.text == view.text.value and e.method == "layer-ig"
    page = view.output.value
    assert "probability" in page and "(predicted)" in page  # prediction with probabilities
    assert "Completeness: the scores add up" in page  # convergence delta in plain words
    assert "true label:" in view.info.value
    assert_escaped(page + view.info.value)


def test_the_view_shows_trust_in_plain_words_and_errors_as_messages(
    view: AttributionView,
) -> None:
    view.method.value = "saliency"
    view.trust.value = True
    computed(view)
    page = view.output.value
    assert "Comprehensiveness:" in page and "Sanity check (cascading randomization" in page
    assert "control, nothing random 1.00/1.00" in page  # the positive control
    assert '<table class="wb-sanity">' in page  # the curve
    view.pick.value = "typed text"
    view.text.value = "   "
    view.compute()
    view.wait(60)
    assert view.status.value == "failed" and "no text to explain" in view.message.value


def test_compare_methods_uses_one_scale_per_unit_and_reports_agreement(
    view: AttributionView,
) -> None:
    """Signed methods (logits) share a scale; saliency (a gradient size) gets its own."""
    view.mode.value = "compare methods"
    view.methods.value = ("layer-ig", "saliency", "occlusion")
    computed(view)
    shown = view.shown
    assert shown is not None and [e.method for e in shown.explanations] == list(view.methods.value)
    ig, sal, occ = shown.explanations
    found = [float(s) for s in scales(view.output.value)]
    assert len(found) == 3 and found[0] == found[2] != found[1]
    assert found[0] == pytest.approx(shared_scale([ig, occ]), rel=1e-5)
    assert found[1] == pytest.approx(shared_scale([sal]), rel=1e-5)
    page = view.output.value
    assert "one scale shared by the panels in logits (layer-ig, occlusion)" in page
    assert "unsigned, one hue" in page and "Colour scales</b>, one per unit" in page
    assert "Agreement" in page and "Spearman" in page
    assert_escaped(page)
    # saliency's words are drawn in the one-sided purple, never in "raises the logit" blue
    blue, purple = "rgba(33,102,172,", "rgba(84,39,143,"
    panels = page.split('<div class="wb-cell">')[1:]
    assert purple in panels[1] and blue not in panels[1].split('class="legend"')[0]
    assert purple not in panels[0]


def test_snapshot_is_a_static_escaped_copy_of_what_the_view_shows(
    view: AttributionView,
) -> None:
    empty = view.snapshot()
    assert "computed nothing yet" in empty._repr_html_() and "computed nothing" in repr(empty)
    view.open_example(view.text.value)
    assert view.wait(300) and view.status.value.startswith("done"), view.message.value
    snap = view.snapshot()
    page = snap._repr_html_()
    assert "Static copy" in page and view.output.value in page and view.info.value in page
    assert "<script" not in page.replace("&lt;script", "") and "ipywidgets" not in page
    assert_escaped(page)
    e = view.shown.explanations[0] if view.shown else None
    assert e is not None and repr(snap).startswith("Attribution view:")
    assert e.top_words(1)[0][0] in repr(snap)
    view.mode.value = "compare methods"
    view.methods.value = ("layer-ig", "saliency")
    computed(view)
    both = view.snapshot()
    assert both._repr_html_().count('<section class="wb-attr" data-scale=') == 2
    assert "saliency" in repr(both) and "layer-ig" in repr(both)


def test_compare_models_sets_the_run_beside_its_last_checkpoint(view: AttributionView) -> None:
    view.mode.value = "compare models"
    assert "this run · last checkpoint" in view.other_model.options
    view.other_model.value = "this run · last checkpoint"
    computed(view)
    found = scales(view.output.value)
    assert len(found) == 2 and found[0] == found[1]


def test_the_step_slider_scrubs_through_the_pinned_explanations(view: AttributionView) -> None:
    view.mode.value = "pinned"
    view.pinned_example.value = 1  # the hostile pinned text
    steps = [value for _, value in view.step_slider.options]
    assert steps[0] == 0 and len(steps) >= 3
    view.wait(60)
    assert view.info.value.startswith("<div") and f"step {steps[-1]}" in view.info.value
    last_page = view.output.value
    assert len(scales(last_page)) == 2  # the first step beside the chosen one
    view.step_slider.value = 0
    view.wait(60)
    assert "step 0 (start" in view.info.value and view.output.value != last_page
    assert scales(view.output.value) == scales(last_page)[:1]  # one scale across all steps
    assert view.shown is not None and view.shown.explanations[0].text == PINNED[1]
    assert len(view.shown.explanations) == 1
    assert_escaped(view.output.value + view.info.value)


def test_export_writes_self_contained_html_and_a_png(view: AttributionView, tmp_path: Path) -> None:
    assert view.export("html") is None and "nothing to export" in view.export_message.value
    computed(view)
    single = view.export("png", tmp_path / "single")
    assert single == tmp_path / "single.png" and single.read_bytes().startswith(PNG)
    view.mode.value = "compare methods"
    view.methods.value = ("layer-ig", "occlusion")
    computed(view)
    view.export_path.value = str(tmp_path / "compare.html")
    page_path = view.export("html")
    png_path = view.export("png")
    assert page_path == tmp_path / "compare.html" and png_path == tmp_path / "compare.png"
    page = page_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert not re.search(r"<(img|script|link|iframe)\b", page)  # self-contained, no scripts
    assert len(set(scales(page))) == 1 and len(scales(page)) == 2
    assert png_path.read_bytes().startswith(PNG)
    assert f"wrote {png_path}" in view.export_message.value
    default = AttributionView(load_run(view.choices.run_dir)).export_path.value  # type: ignore[arg-type]
    assert default == str(view.choices.run_dir / "attributions" / "explanation")  # type: ignore[operator]


# ----------------------------------------------------------------------------- wiring
def test_explain_button_in_evaluate_opens_the_example_in_the_explain_tab(run_dir: Path) -> None:
    wb = Workbench(attach=run_dir)
    assert "Explain" in wb.tab.titles
    wb.select("Evaluate")
    panel = wb.evaluate_panel
    assert panel.rows and len(panel.explain_buttons) == len(panel.rows)
    assert {b.description for b in panel.explain_buttons} == {"Explain"}
    row = panel.rows[-1]
    wb.explain_view.trust.value = False
    panel.explain_buttons[-1].click()
    assert wb.tab.titles[wb.tab.selected_index] == "Explain"
    view = wb.explain_view
    assert view.text.value == row["text"] and view.mode.value == "single"
    assert view.wait(300) and view.status.value.startswith("done"), view.message.value
    assert view.shown is not None and view.shown.explanations[0].text == row["text"]


def test_a_standalone_evaluate_panel_opens_a_view_below_its_rows(run_dir: Path) -> None:
    panel = EvaluatePanel(run_dir)
    rows_html = panel.misclassified.value + "".join(
        box.children[1].value for box in panel.mistakes.children
    )
    assert_escaped(rows_html)
    assert "&lt;script&gt;" in rows_html or "&lt;img" in rows_html
    panel.explain(panel.rows[0])
    view = panel.explain_view
    assert isinstance(view, AttributionView) and panel.explain_tab in panel.children
    assert panel.explain_tab.view is view
    assert view.text.value == panel.rows[0]["text"]
    view.wait(300)


# ----------------------------------------------------------------------------- rendering
def hostile(method: str, scores: list[float]) -> Explanation:
    words = [SCRIPT, IMG, QUOTE, TD]
    text = " ".join(words)
    spans, pos = [], 0
    for word in words:
        start = text.index(word, pos)
        spans.append((start, start + len(word)))
        pos = start + len(word)
    return Explanation(
        text=text,
        words=words,
        word_scores=scores,
        word_spans=spans,
        tokens=words,
        token_scores=scores,
        target={"label": SCRIPT, "index": 0},
        predicted={"label": IMG, "index": 1},
        probs={SCRIPT: 0.3, IMG: 0.6, TD: 0.1},
        method=method,
        signed=True,
        logit=1.0,
        baseline_logit=0.2,
        delta=0.01,
        n_steps=50,
        notes=[f"note {QUOTE}"],
    )


def test_every_new_renderer_escapes_texts_labels_and_titles() -> None:
    a = hostile(f"layer-ig {SCRIPT}", [0.5, -0.2, 0.1, 0.0])
    b = hostile("saliency", [2.0, -1.0, 0.3, 0.1])
    pages = [
        comparison_html([a, b], [SCRIPT, TD]),
        render_comparison([a, b], [IMG, QUOTE], title=SCRIPT),
        explanation_html(a, scale=2.0),
    ]
    for page in pages:
        assert_escaped(page)
        assert "&lt;script&gt;" in page and "&lt;/td&gt;" in page
    assert scales(pages[0]) == ["2", "2"]  # b's largest |score| colours both panels
    assert agreement(a, b) == pytest.approx(1.0)


def test_comparison_png_is_labelled_on_one_scale(tmp_path: Path) -> None:
    from workbench.attribution.plot import plot_comparison, save_comparison_png

    a = hostile("layer-ig", [0.5, -0.2, 0.1, 0.0])
    b = hostile("occlusion", [2.0, -1.0, 0.3, 0.1])
    fig, axes = plot_comparison([a, b], ["$x$ layer-ig", "occlusion"])
    assert axes[0].get_xlim() == axes[1].get_xlim() == pytest.approx((-2.1, 2.1))
    assert "shared scale" in fig._suptitle.get_text()
    assert axes[0].get_title(loc="left").startswith(r"\$x\$")  # data never becomes mathtext
    path = save_comparison_png([a, b], ["layer-ig", "occlusion"], tmp_path / "c.png")
    assert path.read_bytes().startswith(PNG)


def test_comparison_png_gives_an_unsigned_method_its_own_one_hue_scale() -> None:
    from workbench.attribution.html import UNSIGNED
    from workbench.attribution.plot import plot_comparison

    a = hostile("layer-ig", [0.5, -0.2, 0.1, 0.0])
    b = hostile("occlusion", [0.8, -1.0, 0.3, 0.1])
    sal = replace(hostile("saliency", [9.0, 3.0, 0.3, 0.1]), signed=False)
    fig, axes = plot_comparison([a, sal, b], ["layer-ig", "saliency", "occlusion"])
    assert axes[0].get_xlim() == axes[2].get_xlim() == pytest.approx((-1.05, 1.05))
    assert axes[1].get_xlim() == pytest.approx((0.0, 9.45))  # its own scale, from 0
    purple = tuple(c / 255 for c in UNSIGNED)
    assert {tuple(bar.get_facecolor()[:3]) for bar in axes[1].patches} == {purple}
    assert purple not in {tuple(bar.get_facecolor()[:3]) for bar in axes[0].patches}
    caption = fig._suptitle.get_text()
    assert "layer-ig, occlusion: signed, in logits, one shared scale (±1)" in caption
    assert "saliency: unsigned gradient size, its own scale (0–9" in caption
    assert "no direction" in caption and "unsigned" in axes[1].get_xlabel()
    page = comparison_html([a, sal, b], ["layer-ig", "saliency", "occlusion"])
    assert [float(x) for x in scales(page)] == [1.0, 9.0, 1.0]
    assert "data-scale" not in page.split('<section class="wb-attr"')[0]  # no one scale


# ----------------------------------------------------------------------------- multi-process
@pytest.mark.slow  # one launch of 2 processes: ~1.5 minutes on 2 busy cores
def test_two_processes_write_one_record_per_step_and_example(
    tiny_bert_dir: str, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    toy_frame(n_per_class=16).to_csv(tmp_path / "toy.csv", index=False)
    run = tmp_path / "run"
    args = ["--model", tiny_bert_dir, "--dataset", str(tmp_path / "toy.csv"), "--epochs", "1"]
    args += ["--batch-size", "8", "--max-length", "32", "--device", "cpu", "--out", str(run)]
    args += ["--quiet", "--max-train-samples", "none", "--max-eval-samples", "none"]
    args += ["--eval-every", "2", "--pin", PINNED[0], "--pin", PINNED[1]]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node"]
    done = subprocess.run(
        [*launch, "2", "-m", "workbench", "train", *args],
        capture_output=True,
        text=True,
        timeout=400,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = load_run(run)
    evals = [e["step"] for e in loaded.events if e["type"] == "eval"]
    records = [(r.step, r.example) for r in loaded.pinned_attributions()]
    noted = [e for e in loaded.events if e["type"] == "attribution"]
    expected = [(step, i) for step in [0, *evals] for i in (0, 1)]
    assert records == expected, (noted, done.stderr[-2000:])  # main process only
