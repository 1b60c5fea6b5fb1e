"""The training engine end to end on a tiny BERT and toy data (seconds per test)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench import TrainConfig, load_run, train


def _types(events: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return [e["type"] for e in events]


def test_blocking_run_writes_a_complete_run_directory(tiny_config: TrainConfig, toy_data) -> None:  # type: ignore[no-untyped-def]
    handle = train(tiny_config, data=toy_data, block=True)
    assert handle.status == "completed", handle.summary
    run_dir = Path(tiny_config.run.out or "")
    for name in (
        "config.yaml",
        "events.jsonl",
        "summary.json",
        "env.json",
        "loss_curves.png",
        "test_predictions.jsonl",
        "model/config.json",
        "checkpoints/last/state.json",
        "checkpoints/best/trainable.safetensors",
    ):
        assert (run_dir / name).exists(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in (
        "status",
        "test_accuracy",
        "test_macro_f1",
        "val_loss",
        "train_samples_per_second",
        "trainable_parameters",
        "total_parameters",
        "wall_seconds",
        "labels",
    ):
        assert summary[key] is not None, key
    assert summary["labels"] == ["negative", "neutral", "positive"]
    # the toy task is learnable: far above chance (1/3)
    assert summary["test_accuracy"] > 0.6, summary
    types = _types(handle.history)
    assert {"setup", "step", "eval", "checkpoint", "end"} <= set(types)
    disk = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert _types(disk) == types
    # config.yaml re-runs it exactly
    assert TrainConfig.load(run_dir / "config.yaml") == tiny_config


def test_the_training_loss_falls(tiny_config: TrainConfig, toy_data) -> None:  # type: ignore[no-untyped-def]
    handle = train(tiny_config.replace(epochs=4.0), data=toy_data, block=True)
    losses = [e["loss"] for e in handle.history if e["type"] == "step"]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3


def test_train_returns_at_once_and_pause_resume_stop_work(
    tiny_config: TrainConfig, toy_data
) -> None:  # type: ignore[no-untyped-def]
    handle = train(tiny_config.replace(epochs=50.0), data=toy_data)
    assert handle.status == "running"
    deadline = time.time() + 60
    while not any(e["type"] == "step" for e in handle.history) and time.time() < deadline:
        time.sleep(0.05)
    handle.pause()
    time.sleep(0.5)
    n = len([e for e in handle.history if e["type"] == "step"])
    time.sleep(0.8)
    assert handle.status == "paused"
    assert len([e for e in handle.history if e["type"] == "step"]) <= n + 1
    handle.set_lr(1e-3)
    handle.resume()
    # The new rate is applied (and logged) at the next step: wait for it, however slow.
    deadline = time.time() + 60
    while "lr_change" not in _types(handle.history) and time.time() < deadline:
        time.sleep(0.05)
    handle.stop()
    summary = handle.wait(60)
    assert handle.status == "stopped"
    assert summary is not None and summary["status"] == "stopped"
    assert "lr_change" in _types(handle.history)
    assert (Path(tiny_config.run.out or "") / "checkpoints/last/state.json").is_file()


def test_nan_loss_fails_the_run_with_advice(
    tiny_config: TrainConfig, toy_data, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from workbench.tasks.text_classification import TextClassification

    real = TextClassification.loss
    calls = {"n": 0}

    def exploding(self, outputs, batch, **options):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        loss = real(self, outputs, batch, **options)
        return loss * float("nan") if calls["n"] >= 5 else loss

    monkeypatch.setattr(TextClassification, "loss", exploding)
    handle = train(tiny_config.replace(eval_every=2), data=toy_data, block=True)
    assert handle.status == "failed"
    assert handle.summary is not None
    assert "loss became nan at step 5" in handle.summary["error"]
    assert "lower the learning rate" in handle.summary["error"]
    run_dir = Path(tiny_config.run.out or "")
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "failed"
    # the last good checkpoint (step 4) is kept
    state = json.loads((run_dir / "checkpoints/last/state.json").read_text())
    assert state["step"] == 4


def test_resume_continues_to_the_same_result(tiny_config: TrainConfig, toy_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tiny_config.replace(epochs=3.0, eval_every=4, out=str(tmp_path / "straight"))
    straight = train(cfg, data=toy_data, block=True)
    assert straight.status == "completed"

    part = tmp_path / "interrupted"
    first = train(cfg.replace(out=str(part)), data=toy_data)
    deadline = time.time() + 60
    while time.time() < deadline and not any(
        e["type"] == "checkpoint" and e["kind"] == "last" and e["step"] >= 8 for e in first.history
    ):
        time.sleep(0.01)
    first.stop()
    first.wait(60)
    assert first.status == "stopped"

    # a DataFrame source is not in config.yaml; pass it again, like the user would
    from workbench.training.run import RunHandle
    from workbench.training.rundir import check_resumable

    resumed = RunHandle(TrainConfig.load(check_resumable(part) / "config.yaml"), part)
    resumed.start(toy_data, block=True)
    assert resumed.status == "completed"
    a, b = straight.summary, resumed.summary
    assert a is not None and b is not None
    assert b["steps"] == a["steps"]
    assert b["test_accuracy"] == pytest.approx(a["test_accuracy"], abs=1e-6)
    assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-4)


@pytest.mark.parametrize("method", ["lora", "ia3", "bitfit", "head-only"])
def test_parameter_efficient_runs_export_a_plain_model(
    method: str, tiny_config: TrainConfig, toy_data
) -> None:  # type: ignore[no-untyped-def]
    handle = train(
        tiny_config.replace(method=method, epochs=1.0, lr=None), data=toy_data, block=True
    )
    assert handle.status == "completed", handle.summary
    s = handle.summary
    assert s is not None and s["trainable_parameters"] < s["total_parameters"]
    run_dir = Path(tiny_config.run.out or "")
    if method in ("lora", "ia3"):
        assert (run_dir / "adapter" / "adapter_config.json").is_file()
    # the exported model predicts in a fresh process with plain transformers
    code = (
        "import sys, torch; from transformers import AutoModelForSequenceClassification as M, "
        "AutoTokenizer as T; d=sys.argv[1]; m=M.from_pretrained(d); t=T.from_pretrained(d); "
        "print(m.config.id2label[int(m(**t(['great love'], return_tensors='pt')).logits.argmax())])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(run_dir / "model")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("negative", "neutral", "positive")


def test_loaded_run_predicts_like_the_test_predictions(tiny_config: TrainConfig, toy_data) -> None:  # type: ignore[no-untyped-def]
    train(tiny_config.replace(epochs=1.0), data=toy_data, block=True)
    run = load_run(tiny_config.run.out or "")
    rows = [json.loads(x) for x in (run.path / "test_predictions.jsonl").read_text().splitlines()]
    preds = run.predict([r["text"] for r in rows[:5]])
    assert [p["label"] for p in preds] == [r["predicted"] for r in rows[:5]]
    assert preds[0]["confidence"] == pytest.approx(rows[0]["confidence"], abs=1e-4)


def test_regularizers_reach_the_model(tiny_config: TrainConfig, toy_data) -> None:  # type: ignore[no-untyped-def]
    handle = train(
        tiny_config.replace(
            dropout=0.3, attention_dropout=0.2, l2sp=0.01, label_smoothing=0.1, epochs=1.0
        ),
        data=toy_data,
        block=True,
    )
    assert handle.status == "completed", handle.summary
    model = handle.session.accelerator.unwrap_model(handle.session.model)  # type: ignore[union-attr]
    assert model.config.hidden_dropout_prob == 0.3
    assert model.config.attention_probs_dropout_prob == 0.2
    setup = next(e for e in handle.history if e["type"] == "setup")
    assert any("L2-SP" in r for r in setup["regularizers"])
    assert any("label smoothing" in r for r in setup["regularizers"])


def test_early_stopping_stops_before_the_planned_steps(tiny_config: TrainConfig, toy_data) -> None:  # type: ignore[no-untyped-def]
    cfg = tiny_config.replace(
        epochs=30.0, eval_every=2, early_stopping=1, early_stopping_metric="val_loss", lr=5e-2
    )
    handle = train(cfg, data=toy_data, block=True)
    assert handle.status == "completed"
    assert handle.summary is not None and handle.summary["early_stopped"]
    assert handle.summary["steps"] < handle.summary["total_steps"]


def test_one_evaluation_per_step_when_eval_every_meets_an_epoch_end(
    tiny_config: TrainConfig, toy_data
) -> None:  # type: ignore[no-untyped-def]
    """An epoch that ends on a multiple of eval_every is evaluated once, not twice."""
    handle = train(tiny_config.replace(eval_every=1, epochs=2.0), data=toy_data, block=True)
    assert handle.status == "completed"
    steps = [e["step"] for e in handle.history if e["type"] == "eval"]
    total = max(e["step"] for e in handle.history if e["type"] == "step")
    assert steps == list(range(1, total + 1))  # every step once, the epoch ends included
