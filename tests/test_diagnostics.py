"""Overfitting diagnostics the curves and the coach read."""

from __future__ import annotations

from conftest import curve_events

from workbench.config import TrainConfig
from workbench.diagnostics import detect_overfitting


def test_overfitting_flag_needs_rising_val_and_falling_train_loss() -> None:
    falling = [1.0 - 0.01 * i for i in range(60)]
    flagged = detect_overfitting(curve_events([0.9, 0.7, 0.75, 0.8], falling), TrainConfig())
    assert flagged is not None
    assert any("weight decay" in s for s in flagged["suggestions"])
    assert any("early stopping" in s for s in flagged["suggestions"])
    assert detect_overfitting(curve_events([0.9, 0.8, 0.7, 0.6], falling)) is None
    flat = [1.0] * 60
    assert detect_overfitting(curve_events([0.9, 0.7, 0.75, 0.8], flat)) is None


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
