"""Plot functions (workbench.plots): training curves, run comparisons, trade-offs, schedules;
drawn without pyplot, labelled by the caller's names."""

from __future__ import annotations

import pytest
from conftest import curve_events

from workbench.plots import (
    majority_baseline,
    plot_run_comparison,
    plot_tradeoff,
    plot_training_curves,
    smooth,
)


def test_plots_draw_the_curves_without_pyplot() -> None:
    import sys

    falling = [1.0 - 0.01 * i for i in range(60)]
    fig, (loss_ax, _) = plot_training_curves(curve_events([0.9, 0.7, 0.75, 0.8], falling))
    labels = [line.get_label() for line in loss_ax.get_lines()]
    assert {"train (raw)", "train (smoothed)", "validation"} <= set(labels)
    # pyplot is never needed (another test in this process may have loaded it via captum,
    # so check in a fresh interpreter)
    import subprocess

    code = (
        "import sys; from workbench.plots import plot_training_curves; "
        "plot_training_curves([{'type': 'step', 'step': 1, 'loss': 1.0, 'lr': 1e-3}]); "
        "print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
    assert smooth([1.0, 1.0, 1.0]) == [1.0, 1.0, 1.0]


def _run_events(losses: list[float], val: list[float], steps_per_epoch: int = 4) -> list[dict]:
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
        "pretrained": _run_events([1.1, 0.9, 0.7, 0.6] * 2, [0.8, 0.6]),
        "random init": _run_events([1.1, 1.1, 1.0, 1.0] * 2, [1.1, 1.0]),
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
    good = _run_events([1.1, 0.9, 0.7, 0.6] * 2, [0.8, 0.6])
    runs = {
        "good": good,
        "same": [dict(e) for e in good],  # identical curves: would vanish under "good"
        "diverges": _run_events([1.1, 3.0, 9.0, 40.0] * 2, [20.0, 30.0]),
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
    fig, (loss_ax, _) = plot_run_comparison({"good": good, "b": _run_events([1.2] * 8, [1.0, 1.0])})
    assert not loss_ax.texts and loss_ax.get_ylim()[1] >= 1.2


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

    events = _run_events([1.1, 1.0, 0.9, 0.8] * 2, [0.9, 0.8])
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
    good = _run_events([1.1, 0.9, 0.7, 0.6] * 2, [0.8, 0.6])
    hair = [{**e, "loss": e["loss"] + 1e-4} if e["type"] == "step" else dict(e) for e in good]
    stopped = [dict(e) for e in good if e.get("step", 0) <= 4]
    other = _run_events([1.1, 1.0, 0.95, 0.9] * 2, [0.9, 0.85])
    runs = {"none": good, "decay": hair, "early stop": stopped, "other": other}
    fig, _ = plot_run_comparison(runs)
    legend = [t.get_text().replace("\n", " ") for t in fig.legends[0].get_texts()]  # wrapped
    assert "decay (same curve as none)" in legend
    assert "early stop (same curve as none until step 4)" in legend
    assert "other" in legend and "none" in legend


def test_baselines_stay_off_the_bottom_edge_and_a_language_model_says_exact_match() -> None:
    from workbench.plots import plot_training_curves, summary_baseline

    events = _run_events([1.1, 1.0, 0.9, 0.8] * 2, [0.9, 0.8])
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
