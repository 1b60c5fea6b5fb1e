"""Engine support for the teaching notebooks: random initialization, planted shortcuts,
run variants compared in one table, and labelled overlay plots."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from conftest import toy_frame

from workbench import TrainConfig
from workbench.config import ConfigError
from workbench.data.shortcut import plant_shortcut
from workbench.errors import DataError, RunError
from workbench.experiments import (
    auto_eval_every,
    comparison_table,
    describe_config,
    lesson_config,
    memory_estimate,
    planned_steps,
    run_variants,
    variant_label,
)
from workbench.models.loading import ModelSource, load_classifier
from workbench.plots import majority_baseline, plot_run_comparison, plot_tradeoff

LABELS = ["negative", "neutral", "positive"]


# ------------------------------------------------------------------- random initialization
def test_pretrained_false_builds_the_same_architecture_with_fresh_seeded_weights(
    tiny_bert_dir: str,
) -> None:
    source = ModelSource("tiny", tiny_bert_dir, True)
    pretrained = load_classifier(source, LABELS)
    torch.manual_seed(3)
    random_a = load_classifier(source, LABELS, pretrained=False)
    torch.manual_seed(3)
    random_b = load_classifier(source, LABELS, pretrained=False)
    names = [n for n, _ in pretrained.named_parameters()]
    assert names == [n for n, _ in random_a.named_parameters()]  # same architecture
    weights = "bert.encoder.layer.0.attention.self.query.weight"
    p, a, b = (dict(m.named_parameters())[weights] for m in (pretrained, random_a, random_b))
    assert p.shape == a.shape and not torch.equal(p, a)  # not the saved weights
    assert torch.equal(a, b)  # but reproducible under a seed
    assert random_a.config.id2label == dict(enumerate(LABELS))


def test_config_cli_and_training_know_pretrained(tiny_config: TrainConfig) -> None:
    from workbench.cli import build_parser

    cfg = tiny_config.replace(pretrained=False, epochs=1.0)
    assert TrainConfig.from_dict(cfg.to_dict()).model.pretrained is False
    args = build_parser().parse_args(["train", "--no-pretrained"])
    assert args.pretrained is False
    from workbench import train

    summary = train(cfg, data=toy_frame(10)).wait()
    assert summary is not None and summary["status"] == "completed"


# --------------------------------------------------------------------------- shortcut
def test_plant_shortcut_marks_only_the_chosen_class() -> None:
    frame = toy_frame(20)
    planted = plant_shortcut(frame, token="zxq", label="positive")
    positive = planted["label"] == "positive"
    assert planted.loc[positive, "text"].str.endswith(" zxq").all()
    assert not planted.loc[~positive, "text"].str.contains("zxq").any()
    assert not frame["text"].str.contains("zxq").any()  # the input is left alone
    half = plant_shortcut(frame, token="zxq", label="negative", fraction=0.5, seed=1)
    assert half["text"].str.endswith(" zxq").sum() == 10
    with pytest.raises(DataError, match="no row is labelled 'happy'.*negative, neutral"):
        plant_shortcut(frame, token="zxq", label="happy")
    with pytest.raises(DataError, match="one word"):
        plant_shortcut(frame, token="two words", label="positive")
    with pytest.raises(DataError, match=re.escape("fraction must be in (0, 1]")):
        plant_shortcut(frame, token="zxq", label="positive", fraction=0)


# --------------------------------------------------------------------------- variants
def test_run_variants_trains_each_and_the_table_shows_what_differs(
    tiny_config: TrainConfig, tmp_path: Path
) -> None:
    base = tiny_config.replace(out=None, epochs=1.0, save_checkpoints=False)
    started: list[str] = []
    runs = run_variants(
        base,
        {"full": {}, "head only": {"method": "head-only"}},
        data=toy_frame(12),
        on_start=lambda label, cfg: started.append(f"{label}:{cfg.model.method}"),
    )
    assert started == ["full:full", "head only:head-only"]
    assert list(runs) == ["full", "head only"]
    assert all(r.status == "completed" for r in runs.values())
    rows = comparison_table(runs)
    assert [r["run"] for r in rows] == ["full", "head only"]
    assert [r["method"] for r in rows] == ["full", "head-only"]  # the setting that differs
    assert "lr" not in rows[0]  # ... and only those
    assert rows[1]["trainable_parameters"] < rows[0]["trainable_parameters"]
    assert all(0 <= r["test_macro_f1"] <= 1 for r in rows)
    assert memory_estimate(runs["full"]) is None  # a local folder: no catalog shape
    # Each run keeps its label (variant.json) and its class counts per split (the baseline).
    assert [variant_label(r.path) for r in runs.values()] == ["full", "head only"]
    balance = runs["full"].summary["balance"]
    assert set(balance) == {"train", "val", "test"} and sum(balance["val"].values()) > 0
    # The notebook view: overlay PNG + escaped table; labels are the caller's.
    from widgets.panels.compare import compare

    view = compare({"<b>full</b>": runs["full"], "head only": runs["head only"].path})
    assert view._repr_png_().startswith(b"\x89PNG")
    page = view._repr_html_()
    assert "&lt;b&gt;full&lt;/b&gt;" in page and "<b>full</b>" not in page
    assert [r["run"] for r in view.rows] == ["<b>full</b>", "head only"]
    with pytest.raises(ConfigError, match="lr must be in"):
        run_variants(base, {"bad": {"lr": 5.0}}, data=toy_frame(12))


def test_a_failing_variant_names_itself(tiny_config: TrainConfig) -> None:
    base = tiny_config.replace(out=None, epochs=1.0, text_column="nope")
    with pytest.raises(RunError, match="variant 'broken' failed.*nope"):
        run_variants(base, {"broken": {}}, data=toy_frame(12))


# ------------------------------------------------------------------------------ plots
def _events(losses: list[float], val: list[float], steps_per_epoch: int = 4) -> list[dict]:
    events: list[dict] = []
    for i, loss in enumerate(losses, 1):
        events.append(
            {"type": "step", "step": i, "epoch": i / steps_per_epoch, "loss": loss, "lr": 1e-3}
        )
        if i % steps_per_epoch == 0:
            v = val[i // steps_per_epoch - 1]
            events.append(
                {
                    "type": "eval",
                    "step": i,
                    "epoch": i / steps_per_epoch,
                    "val_loss": v,
                    "val_macro_f1": 1 - v / 2,
                    "val_accuracy": 1 - v / 3,
                }
            )
    return events


def test_run_comparison_plot_is_labelled_by_the_callers_names() -> None:
    runs = {
        "pretrained": _events([1.1, 0.9, 0.7, 0.6] * 2, [0.8, 0.6]),
        "random init": _events([1.1, 1.1, 1.0, 1.0] * 2, [1.1, 1.0]),
    }
    fig, (loss_ax, metric_ax) = plot_run_comparison(runs, x="epoch")
    legend = [t.get_text() for t in fig.legends[0].get_texts()]  # one legend, under both
    assert legend == ["pretrained", "random init", "training loss (smoothed)", "validation"]
    assert loss_ax.get_legend() is None and metric_ax.get_legend() is None
    assert loss_ax.get_xlabel().startswith("epoch") and "loss" in loss_ax.get_ylabel()
    assert metric_ax.get_ylabel() == "validation macro-F1"
    assert list(metric_ax.lines[0].get_xdata()) == [1.0, 2.0]
    lines = loss_ax.lines
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    fig.canvas.draw()  # renders on Agg without pyplot
    with pytest.raises(ValueError, match="metric must be one of"):
        plot_run_comparison(runs, metric="f1")
    with pytest.raises(ValueError, match="x must be"):
        plot_run_comparison(runs, x="time")


def test_majority_baseline_is_what_a_model_that_learned_nothing_scores() -> None:
    base = majority_baseline({"neg": 50, "neu": 30, "pos": 20})
    assert base["val_accuracy"] == pytest.approx(0.5)
    assert base["val_macro_f1"] == pytest.approx(2 * 0.5 / 1.5 / 3)  # F1 of the majority / K
    assert base["val_loss"] == pytest.approx(1.0297, abs=1e-4)  # entropy of the shares
    assert majority_baseline({"a": 5, "b": 5})["val_loss"] == pytest.approx(0.6931, abs=1e-4)
    assert majority_baseline(None) == {} and majority_baseline({"a": 3}) == {}


def test_run_comparison_draws_the_baseline_clips_a_diverging_run_and_shows_twins() -> None:
    good = _events([1.1, 0.9, 0.7, 0.6] * 2, [0.8, 0.6])
    runs = {
        "good": good,
        "same": [dict(e) for e in good],  # identical curves: would vanish under "good"
        "diverges": _events([1.1, 3.0, 9.0, 40.0] * 2, [20.0, 30.0]),
    }
    base = majority_baseline({"neg": 50, "neu": 30, "pos": 20})
    fig, (loss_ax, metric_ax) = plot_run_comparison(runs, baseline=base)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "same (same curve as good)" in legend and "good" in legend
    assert any(t.startswith("learned nothing") for t in legend)
    twin = [line for line in loss_ax.lines if line.get_label().startswith("same")][0]
    assert twin.get_linestyle() == ":"  # drawn differently, not hidden underneath
    assert [line.get_ydata()[0] for line in metric_ax.lines if line.get_label() == "_baseline"] == [
        pytest.approx(base["val_macro_f1"])
    ]
    top = loss_ax.get_ylim()[1]
    assert top < 5.0, "the diverging run stretched the axis so the others flatten out"
    notes = " ".join(t.get_text() for t in loss_ax.texts)
    assert "axis clipped" in notes and "diverges reaches 30" in notes  # its validation loss
    fig.canvas.draw()
    # Without an outlier the axis is left alone and nothing is said.
    fig, (loss_ax, _) = plot_run_comparison({"good": good, "b": _events([1.2] * 8, [1.0, 1.0])})
    assert not loss_ax.texts and loss_ax.get_ylim()[1] >= 1.2


def test_lesson_config_gives_every_curve_about_six_validation_points() -> None:
    small = lesson_config()
    assert (small.data.max_train_samples, small.data.max_eval_samples) == (384, 200)
    assert planned_steps(small) == 48 and small.optim.eval_every == 8
    assert lesson_config(eval_every=0).optim.eval_every == 0  # the caller's choice wins
    assert lesson_config(batch_size=8).optim.eval_every == 16
    line = describe_config(lesson_config(method="lora", lr=4e-3))
    assert "lora at lr 0.004" in line and "48 steps" in line and "every 8 steps" in line
    assert "(the method's default)" in describe_config(small) and "\n" not in line
    assert auto_eval_every(small.replace(epochs=0.1)) == 1


def test_tradeoff_plot_labels_each_point_and_uses_log_scale_for_wide_ranges() -> None:
    rows = [
        {"run": "full", "trainable_parameters": 22_000_000, "test_macro_f1": 0.7},
        {"run": "lora r=4", "trainable_parameters": 80_000, "test_macro_f1": 0.65},
        {"run": "failed", "trainable_parameters": 1000, "test_macro_f1": None},
    ]
    fig, ax = plot_tradeoff(rows)
    assert ax.get_legend_handles_labels()[1] == ["full", "lora r=4"]  # "failed" has no score
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "trainable parameters (count)"
    assert ax.get_ylabel() == "held-out test macro-F1"


def test_schedule_plot_draws_the_loops_own_multiplier() -> None:
    from workbench.plots import plot_lr_schedules
    from workbench.training.session import lr_lambda

    fig, ax = plot_lr_schedules(total_steps=50, warmup_fractions=(0.0, 0.2), peak_lr=1e-3)
    labels = ax.get_legend_handles_labels()[1]
    assert labels[:2] == ["linear, warmup 0%", "linear, warmup 20%"] and len(labels) == 6
    warm_linear = ax.lines[1].get_ydata()
    expected = [1e-3 * lr_lambda("linear", 10, 50)(s) for s in range(50)]
    assert list(warm_linear) == pytest.approx(expected)
    assert warm_linear[0] < warm_linear[9] and max(warm_linear) == pytest.approx(1e-3, rel=0.1)
    assert ax.get_ylabel() == "learning rate" and ax.get_xlabel() == "optimizer step"


def test_training_curves_legend_names_the_learning_rate_and_its_changes() -> None:
    from workbench.plots import plot_training_curves

    events = _events([1.1, 1.0, 0.9, 0.8] * 2, [0.9, 0.8])
    events.insert(3, {"type": "lr_change", "step": 3, "lr": 1e-5})
    fig, (loss_ax, metric_ax) = plot_training_curves(events)
    loss_legend = [t.get_text() for t in loss_ax.get_legend().get_texts()]
    metric_legend = [t.get_text() for t in metric_ax.get_legend().get_texts()]
    assert "learning rate changed" in loss_legend
    assert metric_legend[-1] == "learning rate (right)" and "val macro-F1" in metric_legend
    assert loss_ax.get_ylabel() == "loss (cross-entropy)"


def test_nearly_identical_and_early_stopped_runs_are_labelled_not_hidden() -> None:
    """A remedy that changes the curves by a hair (weight decay at a small rate) and a run
    stopped early on the same path are told apart from the run they sit on."""
    good = _events([1.1, 0.9, 0.7, 0.6] * 2, [0.8, 0.6])
    hair = [{**e, "loss": e["loss"] + 1e-4} if e["type"] == "step" else dict(e) for e in good]
    stopped = [dict(e) for e in good if e.get("step", 0) <= 4]
    other = _events([1.1, 1.0, 0.95, 0.9] * 2, [0.9, 0.85])
    runs = {"none": good, "decay": hair, "early stop": stopped, "other": other}
    fig, _ = plot_run_comparison(runs)
    legend = [t.get_text().replace("\n", " ") for t in fig.legends[0].get_texts()]  # wrapped
    assert "decay (same curve as none)" in legend
    assert "early stop (same curve as none until step 4)" in legend
    assert "other" in legend and "none" in legend


def test_baselines_stay_off_the_bottom_edge_and_a_language_model_says_exact_match() -> None:
    from workbench.plots import plot_training_curves, summary_baseline

    events = _events([1.1, 1.0, 0.9, 0.8] * 2, [0.9, 0.8])
    base = majority_baseline({"neg": 50, "neu": 30, "pos": 20})
    _, (_, metric_ax) = plot_training_curves(events, baseline=base)
    low, high = metric_ax.get_ylim()
    assert base["val_macro_f1"] - low >= 0.04 * (high - low), "the line sits on the axis"

    lm = [
        {k: v for k, v in e.items() if k != "val_macro_f1"} | {"val_perplexity": 2.0}
        if e["type"] == "eval"
        else e
        for e in events
    ]
    summary = {"answer_balance": {"val": {"positive": 6, "neutral": 3, "negative": 1}}}
    assert summary_baseline(summary) == {"val_accuracy": pytest.approx(0.6)}
    _, (_, metric_ax) = plot_training_curves(lm, baseline=summary_baseline(summary))
    legend = [t.get_text() for t in metric_ax.get_legend().get_texts()]
    assert "val exact match" in legend and "most common answer (exact match)" in legend
    assert not any("macro-F1" in t for t in legend)

    fig, ax = plot_tradeoff(
        [{"run": "a", "trainable_parameters": 10, "test_macro_f1": 0.6}], baseline=0.2
    )
    assert "majority class (learned nothing)" in ax.get_legend_handles_labels()[1]
    assert ax.get_ylim()[0] < 0.2 - 0.01


def test_comparison_table_shows_settings_tried_blank_where_a_method_has_none() -> None:
    from workbench.runs import Run

    base = TrainConfig()
    runs = {
        "full": Run(Path("a"), base.replace(method="full", out="a"), {"test_macro_f1": 0.7}),
        "lora r=2": Run(Path("b"), base.replace(method="lora", lora_r=2, out="b"), {}),
        "lora r=16": Run(Path("c"), base.replace(method="lora", lora_r=16, out="c"), {}),
    }
    rows = {row["run"]: row for row in comparison_table(runs)}
    assert "out" not in rows["full"], "where a run was written is not a setting it tried"
    assert rows["full"]["lora_r"] == "—" and rows["full"]["method"] == "full"
    assert (rows["lora r=2"]["lora_r"], rows["lora r=16"]["lora_r"]) == (2, 16)


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
