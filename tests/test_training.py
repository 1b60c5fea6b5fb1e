"""The training engine end to end on a tiny BERT and toy data (seconds per test)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import toy_frame
from exact_resume import assert_resumed_exactly, resume_config

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
    from workbench.tasks.text_classification.task import TextClassification

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


# ----------------------------------------------------------------------------- exact resume
@pytest.fixture(scope="module")
def uninterrupted(tiny_bert_dir: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run every resume test here is compared with, trained once without a break."""
    out = tmp_path_factory.mktemp("resume") / "straight"
    handle = train(resume_config(tiny_bert_dir, out), data=toy_frame(), block=True)
    assert handle.status == "completed", handle.summary
    summary = handle.summary or {}
    assert summary["total_steps"] == 16
    assert sum(c["support"] for c in summary["test_per_class"].values()) == 60
    return out


def resume(run: Path) -> None:
    """Continue ``run`` as ``--resume`` does; a DataFrame source is not in config.yaml, so it
    is passed again, like the user would."""
    from workbench.runs.directory import check_resumable
    from workbench.runs.handle import RunHandle

    resumed = RunHandle(TrainConfig.load(check_resumable(run) / "config.yaml"), run)
    resumed.start(toy_frame(), block=True)
    assert resumed.status == "completed", resumed.summary


def test_resume_after_a_stop_from_another_thread_trains_exactly_on(
    tiny_bert_dir: str, uninterrupted: Path, tmp_path: Path
) -> None:
    """Stop pressed by the UI thread at whatever step the worker has reached."""
    part = tmp_path / "interrupted"
    first = train(resume_config(tiny_bert_dir, part), data=toy_frame())
    deadline = time.time() + 60
    while time.time() < deadline and not any(
        e["type"] == "checkpoint" and e["kind"] == "last" for e in first.history
    ):
        time.sleep(0.005)
    first.stop()
    first.wait(60)
    assert first.status == "stopped"
    stop_step = json.loads((part / "checkpoints/last/state.json").read_text())["step"]
    resume(part)
    assert_resumed_exactly(uninterrupted, part, stop_step, min_steps_after=2)


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


# ----------------------------------------------------------------------------- Stop finishes
def stop_at(cfg: TrainConfig, data, step: int):  # type: ignore[no-untyped-def]
    """Run ``cfg`` to the end, pressing Stop the moment step ``step`` is logged.

    Stop is pressed from inside the worker (the step event), so the run always stops at
    exactly that step boundary: no race with a polling test thread.
    """
    from workbench.runs.handle import RunHandle

    handle = RunHandle(cfg.resolved())
    emit = handle.log.emit

    def emit_then_stop(type: str, **fields):  # type: ignore[no-untyped-def]
        event = emit(type, **fields)
        if type == "step" and fields["step"] >= step:
            handle.stop()
        return event

    handle.log.emit = emit_then_stop  # type: ignore[method-assign]
    return handle.start(data, block=True)


def test_stop_before_the_first_step_neither_tests_nor_exports(
    tiny_config: TrainConfig, toy_data, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Stopped while loading: the untrained model is not presented as the run's result."""
    from workbench.runs.handle import RunHandle

    handle = RunHandle(tiny_config.replace(out=str(tmp_path / "early")).resolved())
    emit = handle.log.emit

    def emit_then_stop(type: str, **fields):  # type: ignore[no-untyped-def]
        if type == "setup":
            handle.stop()
        return emit(type, **fields)

    handle.log.emit = emit_then_stop  # type: ignore[method-assign]
    handle.start(toy_data, block=True)
    summary = json.loads((tmp_path / "early" / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["steps"] == 0
    assert summary["test_accuracy"] is None and "nothing was trained" in summary["note"]
    assert not (tmp_path / "early" / "model").exists()
    assert not any(e["type"] == "eval" for e in handle.history)


@pytest.mark.parametrize("method", ["full", "lora"])
def test_stop_tests_and_exports_like_a_completed_run(
    method: str, tiny_config: TrainConfig, toy_data
) -> None:  # type: ignore[no-untyped-def]
    """Stopped before any evaluation: validated at the stop, best weights tested, exported."""
    cfg = tiny_config.replace(method=method, lr=None)
    handle = stop_at(cfg, toy_data, step=3)
    assert handle.status == "stopped", handle.summary
    run_dir = Path(cfg.run.out or "")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["steps"] == 3 < summary["total_steps"]
    for key in ("test_accuracy", "test_macro_f1", "test_loss", "val_loss", "confusion_matrix"):
        assert summary[key] is not None, key
    assert summary["best_step"] == 3  # the evaluation made at the stop
    evals = [e for e in handle.history if e["type"] == "eval"]
    assert [e["step"] for e in evals] == [3]
    assert (run_dir / "test_predictions.jsonl").is_file()
    assert (method == "lora") == (run_dir / "adapter" / "adapter_config.json").is_file()
    # the resume point is the stop step, with optimizer and schedule
    last = json.loads((run_dir / "checkpoints" / "last" / "state.json").read_text())
    assert last["step"] == 3 and (run_dir / "checkpoints" / "last" / "optimizer.pt").is_file()
    # model/ loads with plain transformers in a fresh process and predicts like the run did
    rows = [json.loads(x) for x in (run_dir / "test_predictions.jsonl").read_text().splitlines()]
    code = (
        "import sys, json, torch; from transformers import AutoModelForSequenceClassification "
        "as M, AutoTokenizer as T; d=sys.argv[1]; m=M.from_pretrained(d).eval(); "
        "t=T.from_pretrained(d); x=t(json.loads(sys.argv[2]), return_tensors='pt', "
        "padding=True, truncation=True, max_length=32); "
        "print(json.dumps([m.config.id2label[int(i)] for i in m(**x).logits.argmax(-1)]))"
    )
    texts = [r["text"] for r in rows[:8]]
    out = subprocess.run(
        [sys.executable, "-c", code, str(run_dir / "model"), json.dumps(texts)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout) == [r["predicted"] for r in rows[:8]]


@pytest.mark.parametrize("stop_step", [7, 3])
def test_resume_after_stop_trains_exactly_like_the_uninterrupted_run(
    stop_step: int, tiny_bert_dir: str, uninterrupted: Path, tmp_path: Path
) -> None:
    """Testing the best weights at the stop must not leak into the resumed run: every later
    step's loss and rate, every later evaluation and the last weights equal the
    uninterrupted run's (tolerances in tests/exact_resume.py). Step 3 comes before the
    first evaluation (every 5): Stop validates there first."""
    part = tmp_path / "stopped"
    first = stop_at(resume_config(tiny_bert_dir, part), toy_frame(), step=stop_step)
    assert first.status == "stopped"
    stopped = json.loads((part / "summary.json").read_text())
    # tested with the best weights (step 5), not the stop step's; at step 3, Stop's own
    best = 5 if stop_step == 7 else 3
    assert stopped["best_step"] == best and stopped["test_accuracy"] is not None
    assert (part / "model" / "config.json").is_file()
    resume(part)
    assert_resumed_exactly(uninterrupted, part, stop_step, min_steps_after=9)


@pytest.mark.parametrize("method", ["full", "lora"])
def test_a_run_without_model_dir_loads_its_best_checkpoint(
    method: str, tiny_config: TrainConfig, toy_data
) -> None:  # type: ignore[no-untyped-def]
    """A run stopped by an older version has checkpoints but no model/: load_run rebuilds
    the model from the best checkpoint, predicting exactly as the exported model does."""
    import shutil

    cfg = tiny_config.replace(method=method, lr=None, eval_every=2)
    stop_at(cfg, toy_data, step=5)
    run_dir = Path(cfg.run.out or "")
    texts = ["great love wonderful", "awful broken", "the monday report"]
    exported = load_run(run_dir).predict(texts)
    shutil.rmtree(run_dir / "model")
    shutil.rmtree(run_dir / "adapter", ignore_errors=True)
    run = load_run(run_dir)
    best = run.summary["best_step"]
    assert run.model_note is not None and f"checkpoints/best from step {best}" in run.model_note
    rebuilt = run.predict(texts)
    assert [p["label"] for p in rebuilt] == [p["label"] for p in exported]
    for p, q in zip(rebuilt, exported, strict=True):
        for label in p["probs"]:
            assert p["probs"][label] == pytest.approx(q["probs"][label], abs=1e-5)
    # "last": the stop step's weights, also for a LoRA run (the adapters are rebuilt)
    model, _ = run.load_model("last")
    assert model.config.id2label[0] == "negative"
