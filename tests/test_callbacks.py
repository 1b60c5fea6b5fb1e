"""``train(config, callbacks=[...])`` with ``transformers.TrainerCallback`` objects
(``workbench/runs/callbacks.py``): the hooks a Trainer callback expects, filled from the
run's events, and ``control.should_training_stop`` honoured at the step it is set."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from transformers import PrinterCallback, TrainerCallback

from workbench.config import ConfigError, TrainConfig
from workbench.runs import train


class StopAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if state.global_step >= self.step:
            control.should_training_stop = True
        return control


class Recorder(TrainerCallback):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.logs: list[dict[str, Any]] = []
        self.metrics: list[dict[str, Any]] = []
        self.seen: dict[str, Any] = {}

    def __getattribute__(self, name: str) -> Any:
        attr = object.__getattribute__(self, name)
        if name.startswith("on_"):

            def record(args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
                self.calls.append(name)
                if "logs" in kwargs:
                    self.logs.append(dict(kwargs["logs"]))
                if "metrics" in kwargs:
                    self.metrics.append(dict(kwargs["metrics"]))
                self.seen.update(args=args, state=state, kwargs=kwargs)
                return attr(args, state, control, **kwargs)

            return record
        return attr


def _config(tiny_config: TrainConfig, **settings: Any) -> TrainConfig:
    return tiny_config.replace(epochs=1.0, batch_size=8, eval_every=2, **settings)


def test_a_callback_that_stops_at_step_3_stops_the_run_at_step_3(
    tiny_config: TrainConfig, toy_data: Any
) -> None:
    handle = train(_config(tiny_config), data=toy_data, callbacks=[StopAt(3)], block=True)
    steps = [e["step"] for e in handle.history if e["type"] == "step"]
    assert steps[-1] == 3, steps
    assert handle.summary["status"] == "stopped"
    assert handle.summary.get("test_accuracy") is not None  # stopped runs are still tested
    assert (Path(handle.run_dir) / "model").is_dir()


def test_every_hook_gets_the_trainers_state_args_and_logs(
    tiny_config: TrainConfig, toy_data: Any
) -> None:
    rec = Recorder()
    cfg = _config(tiny_config, lr=5e-4)
    handle = train(cfg, data=toy_data, callbacks=[rec], block=True)
    assert handle.status == "completed"
    steps = [e for e in handle.history if e["type"] == "step"]
    calls = rec.calls
    assert calls[0] == "on_init_end" and calls[1] == "on_train_begin"
    assert calls[-1] == "on_train_end"
    assert calls.count("on_step_end") == len(steps)
    evals = [e for e in handle.history if e["type"] == "eval"]
    assert calls.count("on_evaluate") == len(evals) >= 2
    assert calls.count("on_save") == sum(e["type"] == "checkpoint" for e in handle.history)
    step_logs = [log for log in rec.logs if "loss" in log]
    assert len(step_logs) == len(steps)
    assert step_logs[0]["loss"] == pytest.approx(steps[0]["loss"])
    assert step_logs[0]["learning_rate"] == pytest.approx(steps[0]["lr"])
    assert {"eval_loss", "eval_accuracy", "eval_macro_f1", "epoch"} <= set(rec.metrics[0])
    state, args = rec.seen["state"], rec.seen["args"]
    assert state.global_step == steps[-1]["step"] and state.max_steps == steps[-1]["step"]
    assert state.best_metric is not None and state.best_global_step in {e["step"] for e in evals}
    assert len(state.log_history) == len(steps) + len(evals)
    assert args.learning_rate == 5e-4 and args.output_dir == str(handle.run_dir)
    assert rec.seen["kwargs"]["run"] is handle


def test_a_callback_shipped_with_transformers_works_unchanged(
    tiny_config: TrainConfig, toy_data: Any
) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        handle = train(
            _config(tiny_config), data=toy_data, callbacks=[PrinterCallback()], block=True
        )
    assert handle.status == "completed"
    printed = out.getvalue()
    assert "'loss':" in printed and "'eval_loss':" in printed


def test_a_non_callback_is_a_config_error(tiny_config: TrainConfig) -> None:
    with pytest.raises(ConfigError, match="TrainerCallback"):
        train(tiny_config, callbacks=[lambda *a: None])
