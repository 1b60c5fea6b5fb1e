"""LR range test, overfitting diagnostics, caching and plots: the engine pieces the UI reads."""

from __future__ import annotations

import math

from workbench.config import TrainConfig
from workbench.diagnostics import detect_overfitting
from workbench.lr_find import find_lr, suggest_lr
from workbench.plots import plot_training_curves, smooth


def test_lr_range_test_grows_lr_exponentially_and_suggests_a_value(
    tiny_config: TrainConfig, toy_data
) -> None:  # type: ignore[no-untyped-def]
    seen: list[float] = []
    result = find_lr(
        tiny_config,
        data=toy_data,
        num_steps=30,
        end_lr=10.0,
        on_step=lambda i, lr, loss: seen.append(lr),
    )
    assert seen == result.lrs
    ratios = {round(b / a, 6) for a, b in zip(result.lrs, result.lrs[1:], strict=False)}
    assert len(ratios) == 1  # a constant factor per step: exponential growth
    assert result.suggestion is not None
    assert result.lrs[0] < result.suggestion < result.lrs[-1]


def test_suggestion_is_the_steepest_fall() -> None:
    lrs = [10 ** (-7 + i * 0.1) for i in range(60)]
    # flat, then a steep fall centred on index 30, then flat
    losses = [2.0 - 1.5 / (1 + math.exp(-(i - 30))) for i in range(60)]
    s = suggest_lr(lrs, losses)
    assert s is not None and abs(math.log10(s) - math.log10(lrs[30])) < 0.25


def _events(val_losses: list[float], train_losses: list[float]) -> list[dict]:  # type: ignore[type-arg]
    ev = [
        {"type": "step", "step": i + 1, "loss": v, "lr": 1e-3} for i, v in enumerate(train_losses)
    ]
    per = len(train_losses) // len(val_losses)
    ev += [
        {
            "type": "eval",
            "step": (i + 1) * per,
            "val_loss": v,
            "val_macro_f1": 0.5,
            "val_accuracy": 0.5,
        }
        for i, v in enumerate(val_losses)
    ]
    return sorted(ev, key=lambda e: e["step"])


def test_overfitting_flag_needs_rising_val_and_falling_train_loss() -> None:
    falling = [1.0 - 0.01 * i for i in range(60)]
    flagged = detect_overfitting(_events([0.9, 0.7, 0.75, 0.8], falling), TrainConfig())
    assert flagged is not None
    assert any("weight decay" in s for s in flagged["suggestions"])
    assert any("early stopping" in s for s in flagged["suggestions"])
    assert detect_overfitting(_events([0.9, 0.8, 0.7, 0.6], falling)) is None
    flat = [1.0] * 60
    assert detect_overfitting(_events([0.9, 0.7, 0.75, 0.8], flat)) is None


def test_plots_draw_the_curves_without_pyplot() -> None:
    import sys

    falling = [1.0 - 0.01 * i for i in range(60)]
    fig, (loss_ax, _) = plot_training_curves(_events([0.9, 0.7, 0.75, 0.8], falling))
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


def test_second_run_with_same_data_and_model_skips_loading(tiny_bert_dir: str, tmp_path) -> None:  # type: ignore[no-untyped-def]

    import workbench.cache as cache
    from workbench import train

    csv = tmp_path / "d.csv"
    from conftest import toy_frame

    toy_frame().to_csv(csv, index=False)
    cfg = TrainConfig().replace(
        model=tiny_bert_dir,
        dataset=str(csv),
        max_train_samples=None,
        max_eval_samples=None,
        epochs=0.2,
        batch_size=16,
        max_length=32,
        device="cpu",
        save_checkpoints=False,
        lr=1e-3,
    )
    cache.clear()
    first = train(cfg.replace(out=str(tmp_path / "a")), block=True)
    second = train(cfg.replace(out=str(tmp_path / "b")), block=True)
    assert first.status == second.status == "completed"
    # same config, cached or not: identical training
    la = [e["loss"] for e in first.history if e["type"] == "step"]
    lb = [e["loss"] for e in second.history if e["type"] == "step"]
    assert la == lb


def test_overfitting_advice_is_sized_for_the_run() -> None:
    """Lesson 03's measured run: 32 steps at a peak of 4e-4, validation loss lowest at step 8.
    L2-SP gets α ≈ 1/8 rounded up (0.2: it stopped the rise, 0.05 only delayed it); weight
    decay cannot act (even 1.0 takes 0.64 % off in 32 such steps); a long run at a higher
    rate gets a weight decay that acts instead."""
    from workbench.diagnostics import suggested_changes, weight_decay_to_act

    def run(steps: int, peak: float, evals: list[float]) -> list[dict]:
        ev: list[dict] = [{"type": "setup", "total_steps": steps}]
        for i in range(1, steps + 1):
            lr = peak * (1 - (i - 1) / steps)  # a linear decay
            ev.append({"type": "step", "step": i, "loss": 1.1 - i / (steps + 1), "lr": lr})
            every = steps // len(evals)
            if i % every == 0:
                ev.append({"type": "eval", "step": i, "val_loss": evals[i // every - 1]})
        return ev

    short = run(32, 4e-4, [1.0, 0.95, 1.03, 1.15, 1.25, 1.43, 1.52, 1.524])
    config = TrainConfig().replace(lr=4e-4, weight_decay=0.0, epochs=8.0)
    flag = detect_overfitting(short, config)
    assert flag is not None and flag["since_step"] == 8 and flag["val_loss_min"] == 0.95
    text = "\n".join(flag["suggestions"])
    assert "add L2-SP 0.2 " in text and "weight decay cannot act on this run" in text
    assert "train 2 epochs instead of 8" in text
    assert suggested_changes(config, short) == {
        "early_stopping": 2,
        "early_stopping_metric": "val_loss",
    }
    stopping = config.replace(early_stopping=2, early_stopping_metric="val_loss")
    assert suggested_changes(stopping, short) == {"l2sp": 0.2}
    # LoRA trains no pretrained weight: no L2-SP; 2000 steps at 1e-3 sum to ~1: decay 0.1 acts
    long = run(2000, 1e-3, [1.0, 0.9, 0.8, 0.85, 0.9])
    lora = TrainConfig().replace(method="lora", lr=1e-3, weight_decay=0.0, early_stopping=2)
    lora = lora.replace(early_stopping_metric="val_loss")
    flagged = detect_overfitting(long, lora)
    assert flagged is not None
    text = "\n".join(flagged["suggestions"])
    assert "L2-SP" not in text and "raise weight decay to 0.1 " in text
    assert suggested_changes(lora, long) == {"weight_decay": 0.1}
    assert weight_decay_to_act(0.0064) is None
