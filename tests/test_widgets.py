"""The notebook UI through its Python state: set controls, click buttons, watch the engine.

No browser here (CONVENTIONS: widgets are tested through their traits): ``button.click()``
runs the same callbacks a browser click does, and the assertions read widget traits and
the engine's run handle. Runs train the tiny BERT from conftest on a small toy set; runs
that only need to *exist* (Runs, Evaluate, reports, escaping) are written as plain run
directories, which is all those panels read.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest
from conftest import toy_frame

from widgets import (
    EXCLUDED,
    DataPanel,
    EvaluatePanel,
    HyperparametersPanel,
    LossCurvesPanel,
    ModelPanel,
    RunsPanel,
    TrainPanel,
    Workbench,
    report,
)
from widgets.form.controls import MAX_SLIDER_POSITIONS
from widgets.form.form import ConfigForm
from widgets.live.state import Downsampler, RunState
from widgets.panels.data_panel import SPLIT_FIELDS
from workbench import TrainConfig
from workbench.config import all_field_names, all_fields

PNG = b"\x89PNG\r\n\x1a\n"
SCRIPT = "<script>alert(1)</script>"
LABELS = ["negative", "neutral", "positive"]


def wait_until(predicate: Callable[[], bool], timeout: float = 120.0, what: str = "") -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or predicate}")


def is_png(value: Any) -> bool:
    return bytes(value).startswith(PNG)  # Image.value comes back as a memoryview


def steps_of(handle: Any) -> list[dict[str, Any]]:
    return [e for e in handle.history if e["type"] == "step"]


@pytest.fixture()
def config(tiny_bert_dir: str, tmp_path: Path) -> TrainConfig:
    """The tiny model on the toy set; runs go to a fresh runs_dir, no fixed --out."""
    return TrainConfig().replace(
        model=tiny_bert_dir,
        dataset="toy",
        max_train_samples=None,
        max_eval_samples=None,
        epochs=2.0,
        batch_size=16,
        lr=1e-2,
        max_length=32,
        device="cpu",
        runs_dir=str(tmp_path / "runs"),
    )


def small_frame() -> Any:
    return toy_frame(n_per_class=20)  # 60 rows: 3 optimizer steps per epoch at batch 16


def write_run(
    root: Path,
    name: str,
    lr: float,
    *,
    labels: list[str] = LABELS,
    text: str = "a fine day",
    steps: int = 40,
    finished: bool = True,
) -> Path:
    """A run directory as the engine leaves it (config, events, summary, predictions)."""
    path = root / name
    path.mkdir(parents=True)
    TrainConfig().replace(lr=lr, runs_dir=str(root)).save(path / "config.yaml")
    events: list[dict[str, Any]] = [
        {
            "type": "setup",
            "time": 0.0,
            "total_steps": steps,
            "steps_per_epoch": steps // 2,
            "device": "cpu",
            "labels": labels,
        },
    ]
    for i in range(1, steps + 1):
        events.append(
            {
                "type": "step",
                "time": float(i),
                "step": i,
                "epoch": i / (steps // 2),
                "loss": 1.1 * math.exp(-lr * 100 * i / steps),
                "lr": lr,
                "grad_norm": 1.0,
                "samples_per_s": 50.0,
                "memory_mb": 500.0,
            }
        )
        if i % (steps // 2) == 0:
            events.append(
                {
                    "type": "eval",
                    "time": float(i),
                    "step": i,
                    "epoch": 1.0,
                    "val_loss": 0.9,
                    "val_accuracy": 0.6,
                    "val_macro_f1": 0.5,
                    "best": True,
                    "metric": "val_macro_f1",
                }
            )
    summary = {
        "status": "completed",
        "test_accuracy": 0.5,
        "test_macro_f1": 0.4,
        "val_loss": 0.9,
        "labels": labels,
        "steps": steps,
        "trainable_parameters": 10,
        "total_parameters": 20,
        "wall_seconds": 1.0,
        "test_per_class": {
            x: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2} for x in labels
        },
        "confusion_matrix": [[2 if i == j else 0 for j in labels] for i in labels],
    }
    if finished:
        events.append(
            {"type": "end", "time": float(steps), "status": "completed", "summary": summary}
        )
        (path / "summary.json").write_text(json.dumps(summary))
    (path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    predictions = [
        {"text": text, "label": labels[0], "predicted": labels[1], "confidence": 0.9},
        {"text": "right", "label": labels[0], "predicted": labels[0], "confidence": 0.8},
        {"text": "less sure", "label": labels[2], "predicted": labels[0], "confidence": 0.6},
    ]
    (path / "test_predictions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in predictions))
    return path


# --------------------------------------------------------------------- no pyplot, ever
def test_the_ui_never_loads_pyplot_or_ipympl() -> None:
    """pyplot and ipympl are not thread-safe under JupyterLab >= 4.4 (NOTEBOOK_FACTS.md)."""
    probe = (
        "import sys, widgets\n"
        "wb = widgets.Workbench(attach=None)\n"
        "widgets.LossCurvesPanel([]); widgets.report([])\n"
        "print(sorted(m for m in sys.modules if m in ('matplotlib.pyplot', 'ipympl')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


# --------------------------------------------------------------------- generated controls
def test_controls_are_generated_for_every_config_field() -> None:
    wb_form = Workbench(attach=None).form
    # EXCLUDED holds only `out`: a fixed run directory would break the second Train click.
    assert {"out"} == EXCLUDED
    assert set(wb_form.controls) == set(all_field_names()) - EXCLUDED
    c = wb_form.controls
    assert isinstance(c["lr"].input, w.FloatLogSlider) and c["lr"].auto is not None
    assert isinstance(c["method"].input, w.Dropdown)
    methods = ["full", "head-only", "freeze", "bitfit", "lora", "ia3"]
    assert list(c["method"].input.options) == methods
    assert isinstance(c["strip_urls"].input, w.Checkbox)
    assert isinstance(c["weight_decay"].input, w.FloatSlider)
    assert c["weight_decay"].input.step == 0.01
    assert isinstance(c["freeze_layers"].input, w.IntSlider)
    assert isinstance(c["seed"].input, w.BoundedIntText)  # 2**31 positions: no slider
    assert isinstance(c["dropout"].input, w.FloatSlider) and c["dropout"].auto is not None
    assert c["dropout"].auto.description == "model default"
    assert isinstance(c["max_train_samples"].input, w.BoundedIntText)
    assert c["max_train_samples"].auto.description == "all"
    assert isinstance(c["text_column"].input, w.Combobox)  # optional str: empty means auto
    assert isinstance(c["model"].input, w.Text)
    for _section, field, tp in all_fields():
        if field.name in EXCLUDED:
            continue
        control = c[field.name]
        assert control.input.tooltip == field.metadata["help"], field.name
        meta = field.metadata
        if tp is int and "min" in meta and isinstance(control.input, w.IntSlider):
            assert (meta["max"] - meta["min"]) / meta.get("step", 1) <= MAX_SLIDER_POSITIONS


def test_controls_round_trip_a_config(config: TrainConfig) -> None:
    changed = config.replace(
        method="lora",
        lora_r=4,
        lora_alpha=32,
        dropout=0.2,
        max_train_samples=None,
        text_column="body",
        weight_decay=0.05,
        scheduler="cosine",
        early_stopping=2,
        strip_urls=False,
        label_smoothing=0.1,
    )
    panel = TrainPanel(changed)
    assert panel.form.config() == changed.replace(out=None)


def test_moving_the_lr_slider_chooses_it_and_the_method_default_shows_otherwise() -> None:
    panel = HyperparametersPanel(TrainConfig())
    form = panel.form
    assert form.config().optim.lr is None  # "method default" ticked
    form.set("method", "lora")
    assert panel.lr.value == pytest.approx(1e-3)  # shows LoRA's default, still auto
    assert form.config().optim.lr is None
    panel.lr.value = 3e-4  # the user moves the slider
    assert form.controls["lr"].auto.value is False
    assert form.config().optim.lr == 3e-4


def test_an_invalid_combination_is_explained_in_red_not_raised(config: TrainConfig) -> None:
    panel = TrainPanel(config, data=small_frame())
    panel.form.controls["val_fraction"].input.value = 0.5
    panel.form.controls["test_fraction"].input.value = 0.45
    assert "val_fraction + test_fraction" in panel.form.error.value
    assert "color:#c62828" in panel.form.error.value
    panel.train_button.click()  # must not raise
    assert panel.handle is None
    assert "val_fraction + test_fraction" in panel.form.notice.value
    panel.form.controls["test_fraction"].input.value = 0.1
    assert panel.form.error.value == ""


# --------------------------------------------------------------------- training
def test_train_uses_exactly_the_settings_shown_and_the_widgets_follow_the_run(
    config: TrainConfig,
) -> None:
    wb = Workbench(config, data=small_frame(), attach=None)
    c = wb.form.controls
    wb.hyperparameters_panel.lr.value = 5e-3
    c["weight_decay"].input.value = 0.05
    c["label_smoothing"].input.value = 0.1
    c["dropout"].input.value = 0.2  # unticks "model default"
    expected = wb.config()
    assert (expected.optim.lr, expected.regularization.dropout) == (5e-3, 0.2)
    assert expected.regularization.label_smoothing == 0.1

    tp = wb.train_panel
    writers: dict[str, set[str]] = {}
    for name, widget in [
        ("status", tp.status_label),
        ("progress", tp.progress),
        ("chart", tp.curves.chart),
        ("pause", tp.pause_button),
    ]:
        widget.observe(
            lambda _, n=name: writers.setdefault(n, set()).add(threading.current_thread().name)
        )
    seen: set[str] = set()
    progress: set[int] = set()
    tp.train_button.click()
    handle = wb.handle
    assert handle is not None and handle.config == expected
    assert handle.status in ("running", "completed")  # Train returned without blocking

    def finished() -> bool:
        seen.add(tp.status_label.value)
        progress.add(tp.progress.value)
        return tp.status_label.value == "completed" and not tp.pump.alive

    wait_until(finished, what="status completed")
    assert handle.status == "completed" and "running" in seen
    total = handle.summary["total_steps"]
    assert tp.progress.value == tp.progress.max == total
    assert len(progress) > 1  # it advanced while training
    assert tp.curves.curve_points() == len(steps_of(handle)) == total
    assert "step" in tp.progress_text.value and "samples/s" in tp.progress_text.value
    assert tp.device_label.value.startswith("device cpu") and "MB" in tp.device_label.value
    assert tp.train_button.disabled is False and tp.stop_button.disabled is True
    # one pump thread wrote the live widgets; the main thread never did
    assert all(threads == {"workbench-pump"} for threads in writers.values()), writers
    assert tp.pump.errors == []

    wb.tab.selected_index = 4  # Evaluate shows the finished run
    assert wb.evaluate_panel.summary["test_accuracy"] == handle.summary["test_accuracy"]
    assert is_png(wb.evaluate_panel.confusion.value)
    rep = wb.report()
    assert is_png(rep._repr_png_())
    assert "data:image/png;base64," in rep._repr_html_()
    assert rep.metrics["test_accuracy"] == handle.summary["test_accuracy"]
    # re-running the cell shows the same run
    again = Workbench()
    assert again.handle is handle and again.train_panel.status_label.value == "completed"
    assert again.config().optim.lr == 5e-3
    # from disk, the same curve
    assert LossCurvesPanel(handle.run_dir).curve_points() == total


def test_pause_resume_live_lr_restart_notice_and_stop(config: TrainConfig) -> None:
    wb = Workbench(config.replace(epochs=100.0), data=small_frame(), attach=None)
    tp = wb.train_panel
    tp.train_button.click()
    handle = wb.handle
    try:
        wait_until(lambda: tp.progress.value >= 1 and tp.status_label.value == "running")
        tp.pause_button.click()
        # the pump writes the label, then the button: wait for both
        wait_until(
            lambda: tp.status_label.value == "paused" and tp.pause_button.description == "Resume",
            10,
        )
        n = len(steps_of(handle))
        time.sleep(0.8)
        assert len(steps_of(handle)) <= n + 1  # at most the step in flight
        tp.pause_button.click()
        wait_until(
            lambda: tp.status_label.value == "running" and tp.pause_button.description == "Pause",
            10,
        )

        wb.hyperparameters_panel.lr.value = 2e-3  # moved during the run
        assert "applied from the next step" in wb.form.notice.value
        wait_until(
            lambda: any(e["type"] == "lr_change" and e["lr"] == 2e-3 for e in handle.history),
            what="lr_change event",
        )
        wb.form.controls["batch_size"].input.value = 8
        assert "batch_size takes effect on the next run (restart needed)" in wb.form.notice.value

        wait_until(lambda: handle.run_dir is not None)
        follower = LossCurvesPanel(handle.run_dir)  # same run dir: follows live
        assert follower.pump is not None and follower.pump.alive
        again = Workbench()  # re-running the cell
        assert again.handle is handle and again.train_panel.pump.alive

        tp.stop_button.click()
        wait_until(lambda: tp.status_label.value == "stopped" and not tp.pump.alive, 60)
        assert handle.status == "stopped"
        assert tp.pause_button.disabled and tp.stop_button.disabled
        assert not tp.train_button.disabled
        wait_until(lambda: not follower.pump.alive, 10)
        # each view's own pump sees the end on its next tick
        wait_until(lambda: again.train_panel.status_label.value == "stopped", 10)
        assert follower.curve_points() > 0
    finally:
        handle.stop()
        handle.wait(60)


def test_a_failed_run_shows_its_error_not_a_traceback(config: TrainConfig) -> None:
    panel = TrainPanel(config.replace(text_column="no_such_column"), data=small_frame())
    panel.train_button.click()
    # it may fail before Train returns: then it is drawn at once, with no pump to wait for
    wait_until(
        lambda: (
            panel.status_label.value == "failed" and (panel.pump is None or not panel.pump.alive)
        )
    )
    assert "no_such_column" in panel.message.value
    assert "color:#c62828" in panel.message.value
    assert "Traceback" not in panel.message.value


# --------------------------------------------------------------------- live drawing
def test_downsampling_keeps_plot_data_bounded_and_faithful() -> None:
    d = Downsampler(max_points=100)
    for x in range(1, 50_001):
        d.add(x, 2.0 * x)
    xs, ys = d.points()
    assert len(xs) <= 100 and d.count == 50_000
    assert all(y == pytest.approx(2 * x) for x, y in zip(xs, ys, strict=True))  # bucket means
    assert xs[-1] > 49_000

    events = [{"type": "setup", "total_steps": 50_000, "time": 0.0}] + [
        {"type": "step", "step": i, "epoch": 1.0, "loss": 1.0 / i, "lr": 1e-3, "time": i * 0.1}
        for i in range(1, 50_001)
    ]
    panel = LossCurvesPanel(events, max_points=2000)
    assert 0 < panel.curve_points() <= 2000
    assert panel.chart.x_max == 50_000  # the x axis is fixed to the planned steps
    xs, ys = panel.chart.data["loss"]  # the synced snapshot a page (re)load draws
    assert len(xs) <= 2000 and xs[-1000:] == list(range(49_001, 50_001))  # newest exact
    state = RunState()
    state.consume(events[:1001])
    assert state.eta_seconds() == pytest.approx((50_000 - 1000) * 0.1)


def test_a_finished_run_is_drawn_from_its_directory_into_the_synced_chart(tmp_path: Path) -> None:
    run = write_run(tmp_path, "run-a", 1e-3)
    panel = LossCurvesPanel(run)
    assert panel.curve_points() == 40 and len(panel.chart.data["loss"][0]) == 40
    assert panel.chart.data["val_loss"][0]  # evaluations on the same chart
    assert "completed" in panel.caption.value


def test_overfitting_is_flagged_with_suggestions() -> None:
    events: list[dict[str, Any]] = [{"type": "setup", "total_steps": 30, "time": 0.0}]
    for i in range(1, 31):
        events.append({"type": "step", "step": i, "loss": 1.0 / i, "lr": 1e-3, "time": 1.0 * i})
        if i % 10 == 0:  # validation loss rises while training loss falls
            events.append(
                {
                    "type": "eval",
                    "step": i,
                    "val_loss": 0.3 + i / 100,
                    "val_accuracy": 0.7,
                    "val_macro_f1": 0.6,
                    "time": 1.0 * i,
                }
            )
    panel = LossCurvesPanel(events)
    assert "Overfitting" in panel.overfitting.value and "since step 10" in panel.overfitting.value
    assert "<li>" in panel.overfitting.value  # the suggestions
    assert LossCurvesPanel(events[:12]).overfitting.value == ""


# --------------------------------------------------------------------- data and model
def test_data_panel_previews_escaped_cleans_and_splits(config: TrainConfig) -> None:
    frame = small_frame().rename(columns={"text": SCRIPT})
    frame.loc[0, SCRIPT] = f"hello {SCRIPT} world"
    panel = DataPanel(config.replace(text_column=SCRIPT, label_column="label"), data=frame)
    panel.load().join(60)
    assert panel.message.value == "", panel.message.value
    assert panel.status.value.startswith("loaded")
    for view in (panel.preview.value, panel.splits.value):
        assert "<script>" not in view
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in panel.preview.value
    assert SCRIPT in panel.columns and SCRIPT in panel.form.controls["text_column"].input.options
    assert "drop duplicates" in panel.cleaning.value
    assert panel.data is not None and panel.labels == LABELS
    sizes = len(panel.data.train) + len(panel.data.val) + len(panel.data.test)
    assert sizes == 60 and f">{len(panel.data.train)}<" in panel.splits.value
    assert is_png(panel.balance_image.value)


def test_data_panel_shows_a_bad_file_as_a_message(tmp_path: Path) -> None:
    panel = DataPanel(TrainConfig().replace(dataset=str(tmp_path / "missing.csv")))
    panel.load().join(30)
    assert "data file not found" in panel.message.value and panel.status.value == "failed"


# ------------------------------------------------------------------ data panel: causal-lm
def instruct_config(**flat: Any) -> TrainConfig:
    return TrainConfig().replace(task="causal-lm", model="some/lm", **flat)


def write_pairs(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_data_panel_shows_the_instruct_builtin_as_escaped_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workbench import cache
    from workbench.data.sources.builtin import TweetsSentiment
    from workbench.tasks.causal_lm.data import InstructData
    from workbench.training.session import prepare_task_data

    real = TweetsSentiment.read

    def hostile_sample(self: Any, spec: Any) -> Any:  # the real file, cut for speed
        frame, description = real(self, spec)
        frame = frame.sample(600, random_state=0)
        frame["text"] = frame["text"].astype(str) + " " + SCRIPT
        return frame, description

    monkeypatch.setattr(TweetsSentiment, "read", hostile_sample)
    monkeypatch.setattr(cache, "_entries", {})  # the cut file must not reach other tests
    panel = DataPanel(
        instruct_config(
            dataset="tweets-sentiment-instruct", max_train_samples=40, max_eval_samples=10
        )
    )
    assert panel.builtin.value == "tweets-sentiment-instruct"
    panel.load().join(120)
    assert panel.message.value == "", panel.message.value
    assert isinstance(panel.data, InstructData)
    assert panel.status.value.startswith("loaded tweets-sentiment-instruct")
    views = (panel.preview, panel.summary, panel.cleaning, panel.splits, panel.lengths)
    for view in views:
        assert "<script>" not in view.value
    assert "Classify the sentiment of this tweet" in panel.preview.value
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in panel.preview.value
    assert f"<td>{panel.data.train.responses[0]}</td>" in panel.preview.value
    assert (len(panel.data.train), len(panel.data.val), len(panel.data.test)) == (40, 10, 10)
    assert "train pairs" in panel.splits.value and ">40<" in panel.splits.value
    assert "negative, neutral, positive" in panel.splits.value
    assert "Splits:   train 40 · val 10 · test 10" in panel.summary.value
    assert "drop duplicates" in panel.cleaning.value
    assert (
        "prompt (words)" in panel.lengths.value and "response (characters)" in panel.lengths.value
    )
    assert panel.balance_image.layout.display == "none" and bytes(panel.balance_image.value) == b""
    assert panel.summary.layout.display == "" and panel.lengths.layout.display == ""
    # Derived from a classification set: cleaned like it, but no columns to pick.
    assert {"text_column", "label_column"}.isdisjoint(panel.fields_shown())
    assert "strip_urls" in panel.fields_shown()
    # Prepared once: Train finds the same object in the engine's cache.
    assert prepare_task_data(panel.form.config()) is panel.data


def test_data_panel_shows_user_pairs_shortened_and_escaped(tmp_path: Path) -> None:
    rows = [
        {"instruction": f"Reply {i} {SCRIPT}", "input": "long " * 80, "output": f"answer {i}"}
        for i in range(30)
    ]
    panel = DataPanel(instruct_config(dataset=write_pairs(tmp_path / "pairs.jsonl", rows)))
    assert panel.fields_shown() == ["dataset", "drop_duplicates", *SPLIT_FIELDS]
    assert panel.balance_image.layout.display == "none"
    panel.load().join(60)
    assert panel.message.value == "", panel.message.value
    assert panel.data is not None and panel.data.labels == []
    assert (len(panel.data.train), len(panel.data.val), len(panel.data.test)) == (24, 3, 3)
    assert "<script>" not in panel.preview.value + panel.summary.value
    assert "Reply" in panel.preview.value and "&lt;script&gt;alert(1)&lt;/script&gt;" in (
        panel.preview.value
    )
    assert "answer " in panel.preview.value and "…" in panel.preview.value  # shortened prompt
    assert "long " * 80 not in panel.preview.value
    assert ">24<" in panel.splits.value and "free text" in panel.splits.value
    assert "response from &#x27;output&#x27;" in panel.summary.value
    assert "prompt (words)" in panel.lengths.value and ">83<" in panel.lengths.value


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([{"text": f"t{i}", "label": "a"} for i in range(10)], "needs instruction/input/output"),
        ([{"messages": "not json"}] * 5, "is not a JSON list of messages"),
    ],
    ids=["missing columns", "bad messages"],
)
def test_data_panel_shows_bad_pair_files_in_red(
    rows: list[dict[str, Any]], expected: str, tmp_path: Path
) -> None:
    panel = DataPanel(instruct_config(dataset=write_pairs(tmp_path / "bad.jsonl", rows)))
    panel.load().join(60)
    assert panel.status.value == "failed" and panel.data is None
    assert expected in panel.message.value and "color:#c62828" in panel.message.value
    assert panel.preview.value == "" and panel.lengths.value == ""


def test_data_panel_switching_the_task_back_shows_the_class_balance(tmp_path: Path) -> None:
    rows = [{"prompt": f"question {i}", "response": f"reply {i}"} for i in range(20)]
    panel = DataPanel(instruct_config(dataset=write_pairs(tmp_path / "pairs.jsonl", rows)))
    panel.load().join(60)
    assert panel.data is not None and panel.balance_image.layout.display == "none"
    csv = tmp_path / "classes.csv"
    small_frame().to_csv(csv, index=False)
    panel.form.set("task", "text-classification")
    assert panel.data is None and panel.preview.value == "" and panel.lengths.value == ""
    assert panel.status.value == "not loaded for text-classification yet"
    assert "text_column" in panel.fields_shown() and "strip_urls" in panel.fields_shown()
    # no chart yet: hidden, not a broken-image icon; it shows once the data is loaded
    assert panel.lengths.layout.display == "none" and panel.balance_image.layout.display == "none"
    panel.form.set("dataset", str(csv))
    panel.load().join(60)
    assert panel.message.value == "", panel.message.value
    assert panel.labels == LABELS and "classes" in panel.splits.value
    assert is_png(panel.balance_image.value) and panel.lengths.value == ""
    assert panel.balance_image.layout.display == ""
    assert "first rows" in panel.preview.value


def test_data_panel_follows_the_model_panels_task_switch() -> None:
    form = ConfigForm()
    data = DataPanel(form=form)
    ModelPanel(form=form, count_now=False)
    form.set("task", "causal-lm")  # the Model panel swaps in the task's built-in dataset
    assert data.builtin.value == "tweets-sentiment-instruct"
    assert "text_column" not in data.fields_shown() and "strip_urls" in data.fields_shown()
    # nothing loaded yet: the views the task fills stay hidden until Load data fills them
    assert data.balance_image.layout.display == "none" and data.lengths.layout.display == "none"
    form.set("task", "text-classification")
    assert data.builtin.value == "tweets-sentiment" and "text_column" in data.fields_shown()
    assert data.balance_image.layout.display == "none"  # nothing loaded: no chart to show


def test_model_panel_shows_only_the_methods_knobs_and_counts_parameters(
    config: TrainConfig,
) -> None:
    panel = ModelPanel(config)
    assert panel.knobs_shown() == []  # full fine-tune has no knobs
    assert "minilm-l6" in panel.catalog.value and "available offline" in panel.catalog.value
    panel.probe.wait_idle(60)
    full = panel.counts
    assert full is not None and full[0] == full[1]
    assert "trainable parameters" in panel.trainable.value
    panel.form.set("method", "freeze")
    assert panel.knobs_shown() == ["freeze_layers"]
    panel.form.set("method", "ia3")
    assert panel.knobs_shown() == ["target_modules"]
    panel.form.set("method", "lora")
    assert panel.knobs_shown() == ["lora_r", "lora_alpha", "lora_dropout", "target_modules"]
    panel.probe.wait_idle(60)
    assert panel.counts is not None and 0 < panel.counts[0] < full[0]


def test_find_lr_shows_the_curve_and_use_suggested_sets_the_slider(config: TrainConfig) -> None:
    panel = HyperparametersPanel(config, data=small_frame(), lr_find_steps=12)
    finder = panel.lr_finder
    finder.find_button.click()
    finder._thread.join(120)
    assert finder.message.value == "", finder.message.value
    assert finder.result is not None and finder.progress.value == len(finder.result.lrs) > 0
    assert is_png(finder.plot.value)
    suggestion = finder.result.suggestion
    assert suggestion is not None and not finder.use_button.disabled
    finder.use_button.click()
    assert panel.lr.value == pytest.approx(suggestion)
    assert panel.form.config().optim.lr == pytest.approx(suggestion)


# --------------------------------------------------------------------- evaluate, runs, report
def test_evaluate_panel_escapes_texts_and_labels_and_lists_mistakes(tmp_path: Path) -> None:
    labels = [SCRIPT, "neutral", "positive"]
    run = write_run(tmp_path, "run-x", 1e-3, labels=labels, text=f"bad {SCRIPT}")
    panel = EvaluatePanel(run)
    rows = "".join(box.children[1].value for box in panel.mistakes.children)
    shown = panel.per_class.value + panel.misclassified.value + panel.metrics.value + rows
    assert "<script>" not in shown and "&lt;script&gt;" in rows
    assert [b.description for b in panel.explain_buttons] == ["Explain", "Explain"]
    assert [r["confidence"] for r in panel.rows] == [0.9, 0.6]  # mistakes, most confident first
    assert is_png(panel.confusion.value)


def test_an_image_without_a_png_is_hidden_not_a_broken_icon(
    config: TrainConfig, tmp_path: Path
) -> None:
    # An ipywidgets.Image with an empty value renders as a broken-image icon in the browser.
    images = {
        "class balance": DataPanel(config).balance_image,
        "confusion matrix": EvaluatePanel().confusion,
        "lr finder": HyperparametersPanel(config).lr_finder.plot,
    }
    for name, image in images.items():
        assert bytes(image.value) == b"" and image.layout.display == "none", name
    images["lr finder"].value = PNG
    assert images["lr finder"].layout.display == ""
    panel = EvaluatePanel(write_run(tmp_path, "run-a", 1e-3))
    assert is_png(panel.confusion.value) and panel.confusion.layout.display == ""
    untested = write_run(tmp_path, "run-stopped-early", 1e-3)
    summary = json.loads((untested / "summary.json").read_text())
    summary.update(status="stopped", test_accuracy=None, confusion_matrix=None)
    (untested / "summary.json").write_text(json.dumps(summary))
    panel.show(untested)  # no test results: the previous run's matrix must not stay
    assert bytes(panel.confusion.value) == b"" and panel.confusion.layout.display == "none"
    # ... and the message says what to do next
    assert "--resume" in panel.message.value and "Train" in panel.message.value


def test_evaluate_and_explain_follow_the_run_of_the_train_tab(config: TrainConfig) -> None:
    runs = Path(config.run.runs_dir)
    older_lm = write_run(runs, "20000101-000000-older-lm", 1e-3)  # older, and another task
    lm = instruct_config(dataset="tweets-sentiment-instruct", runs_dir=str(runs))
    lm.save(older_lm / "config.yaml")
    older = write_run(runs, "20000101-000001-older-classifier", 1e-3)
    for run in (older_lm, older):  # exported models, as far as listing them goes
        (run / "model").mkdir()
        (run / "model" / "config.json").write_text("{}")
    wb = Workbench(config, data=small_frame(), attach=None)
    tp, explain = wb.train_panel, wb.explain_view

    # 1. A run that completes while another tab is open: both tabs point at it at once.
    tp.train_button.click()
    first = wb.handle
    assert first is not None
    wait_until(lambda: first.done and not tp.pump.alive, what="first run done")
    wait_until(  # handed over in a worker thread, not when a tab is opened
        lambda: wb.evaluate_panel.source is first and explain.source is first, 30, "hand-over"
    )
    wait_until(lambda: explain.model_choice.value == "this run", 30, "this run selected")
    assert wb.evaluate_panel.summary["test_accuracy"] == first.summary["test_accuracy"]
    assert f"run {older.name}" in explain.model_choice.options  # a classifier to compare with
    assert not any(older_lm.name in name for name in explain.model_choice.options)

    # 2. Explain opened while the next run trains; the run ends with Stop.
    tp.form.set("epochs", 100.0)
    tp.train_button.click()
    second = wb.handle
    assert second is not None and second is not first
    try:
        wait_until(
            lambda: tp.status_label.value == "running" and tp.progress.value >= 1,
            what="second run running",
        )
        wb.select("Explain")
        assert explain.source is second and explain.model_choice.value is None  # nothing yet
        assert explain.wait(30) and "still training" in explain.message.value
        assert explain.status.value == "waiting for the run"  # a note, not a failure
        tp.stop_button.click()
        wait_until(lambda: second.done and not tp.pump.alive, 60, "second run stopped")
    finally:
        second.stop()
        second.wait(60)
    wait_until(
        lambda: explain.source is second and explain.model_choice.value == "this run",
        30,
        "the stopped run selected in Explain",
    )
    assert not any(older_lm.name in name for name in explain.model_choice.options)
    assert wb.evaluate_panel.source is second

    # 3. A run the user opens in Evaluate stays there when the tab is opened again.
    wb.evaluate_panel.show(older)
    wb.select("Train")
    wb.select("Evaluate")
    assert wb.evaluate_panel.source is older


def test_explain_never_picks_another_runs_model_for_the_user(tmp_path: Path) -> None:
    from widgets import AttributionView

    older = write_run(tmp_path, "20000101-older", 1e-3)
    (older / "model").mkdir()
    (older / "model" / "config.json").write_text("{}")
    failed = write_run(tmp_path, "20000102-failed", 1e-3)
    error = "column 'x' not found; choose one of text, label"
    (failed / "summary.json").write_text(json.dumps({"status": "failed", "error": error}))
    view = AttributionView(failed)
    assert view.wait(30)
    assert f"run {older.name}" in view.model_choice.options  # offered, not chosen
    assert view.model_choice.value is None
    assert "failed before its model was exported" in view.message.value
    assert "click Train again" in view.message.value


def test_interrupted_and_missing_runs_are_explained(tmp_path: Path) -> None:
    run = write_run(tmp_path, "run-cut", 1e-3, finished=False)
    wb = Workbench(attach=run)
    assert wb.train_panel.status_label.value == "stopped"
    assert "--resume" in wb.train_panel.message.value
    missing = Workbench(attach=tmp_path / "nope")
    header = "".join(str(getattr(c, "value", "")) for c in missing.children)  # lesson note first
    assert "run directory not found" in header
    assert "run directory not found" in report(tmp_path / "nope")._repr_html_()


def test_workbench_attached_to_a_run_directory_shows_it(tmp_path: Path) -> None:
    run = write_run(tmp_path, "run-a", 3e-4)
    wb = Workbench(attach=run)
    titles = ("Data", "Model", "Hyperparameters", "Train", "Evaluate", "Explain", "Runs", "Sweep")
    assert wb.tab.titles == titles
    assert wb.config().optim.lr == 3e-4
    assert wb.train_panel.status_label.value == "completed"
    assert wb.train_panel.curves.curve_points() == 40
    wb.tab.selected_index = 4
    assert wb.evaluate_panel.summary["test_accuracy"] == 0.5
    rep = wb.report()
    assert rep.metrics["test_accuracy"] == 0.5 and is_png(rep.png)
    saved = rep.save(tmp_path / "report.html")
    assert "data:image/png;base64," in saved.read_text()


def test_runs_panel_lists_runs_overlays_and_diffs(tmp_path: Path) -> None:
    a = write_run(tmp_path, "20240101-a", 1e-3)
    b = write_run(tmp_path, "20240102-b", 5e-4)
    odd = write_run(tmp_path, "20240103-<img src=x onerror=alert(1)>", 2e-4)
    panel = RunsPanel(tmp_path)
    assert list(panel.selector.options) == [odd.name, b.name, a.name]  # newest first
    assert "<img" not in panel.table.value and "&lt;img src=x" in panel.table.value
    panel.selector.value = (a.name, b.name)
    assert panel.compared == [b.name, a.name]
    assert panel.differences == {"lr": [5e-4, 1e-3]}
    labels = {s["label"]: s["color"] for s in panel.overlay.series}
    assert {f"{b.name} train", f"{a.name} train"} <= set(labels)
    assert labels[f"{b.name} train"] != labels[f"{a.name} train"]  # one colour per run
    assert panel.overlay.points("r0_loss") == 40 and panel.overlay.layout.display != "none"
    assert "Settings that differ" in panel.differences_html.value
    panel.selector.value = (a.name,)
    assert panel.compared == [] and "two or more" in panel.message.value
    assert panel.overlay.layout.display == "none" and panel.overlay.data == {}


def test_evaluation_report_keeps_the_evaluate_tab_in_a_static_copy(tmp_path: Path) -> None:
    """Per-class table, confusion matrix and the mistakes, most confident first, as plain
    escaped HTML: what a shared or exported notebook still shows without widget state."""
    from widgets.render.report import evaluation_report

    run = write_run(tmp_path, "run", 1e-3, labels=["neg", "<i>neu</i>", "pos"], text="<b>x</b>")
    rep = evaluation_report(run, mistakes=1)
    page = rep._repr_html_()
    assert type(rep).__module__ == "widgets.render.report" and not hasattr(rep, "_ipython_display_")
    assert "Per class" in page and "precision" in page and "&lt;i&gt;neu&lt;/i&gt;" in page
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page  # the top mistake
    assert "less sure" not in page and "(1 shown)" in page  # only the most confident one
    assert "90.0%" in page and "data:image/png;base64," in page  # confidence; confusion PNG
    assert is_png(rep.confusion_png)
    # A causal-LM run: the answers before vs after fine-tuning instead.
    lm = tmp_path / "lm"
    lm.mkdir()
    TrainConfig().replace(
        task="causal-lm", model="some/lm", dataset="tweets-sentiment-instruct"
    ).save(lm / "config.yaml")
    summary = {
        "status": "completed",
        "test_accuracy": 0.5,
        "test_perplexity": 1.5,
        "test_per_class": {"negative": {"exact_match": 0.5, "support": 2}},
    }
    (lm / "summary.json").write_text(json.dumps(summary))
    (lm / "events.jsonl").write_text(json.dumps({"type": "end", "status": "completed"}) + "\n")
    row = {"prompt": "p", "reference": "negative", "before": "<s>Negative</s>", "after": "negative"}
    (lm / "generations.json").write_text(json.dumps([{**row, "after_match": True}]))
    page = evaluation_report(lm)._repr_html_()
    assert "before fine-tuning" in page and "&lt;s&gt;Negative&lt;/s&gt;" in page
    assert "Exact match per answer" in page and "test_perplexity" in page
    # Nothing to show: said, as the Evaluate tab says it.
    assert "no run" in evaluation_report(tmp_path / "missing")._repr_html_()


def test_report_is_a_plain_object_with_png_and_escaped_html(tmp_path: Path) -> None:
    run = write_run(tmp_path, "run-<b>", 1e-3)
    rep = report(run)
    assert is_png(rep._repr_png_())
    html_text = rep._repr_html_()
    assert "run-&lt;b&gt;" in html_text and "<b>" not in html_text
    assert type(rep).__module__ == "widgets.render.report"
    assert is_png(rep.save(tmp_path / "r.png").read_bytes())


def test_answers_table_shows_the_instruction_every_prompt_repeats_once() -> None:
    from widgets.panels.evaluate_panel import generations_html

    instruction = "Classify the sentiment of this tweet. Answer with one word.\n\nTweet: "
    rows = [
        {"prompt": instruction + t, "reference": "x", "before": "y", "after": "x"}
        for t in ("good day", "bad day")
    ]
    shown = generations_html(rows)
    assert shown.count("Classify the sentiment") == 1
    assert "good day" in shown and "bad day" in shown
    alone = generations_html(rows[:1])
    assert alone.count("Classify the sentiment") == 1
