"""Experiment trackers (``report_to``, ``workbench/runs/trackers.py``): every value is
read back from each tracker's own local store — TensorBoard event files, an MLflow SQLite
database, trackio's local database — and compared with the run's events and summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workbench.config import ConfigError, TrainConfig
from workbench.runs import train


def _run(tiny_config: TrainConfig, toy_data: Any, *names: str) -> Any:
    cfg = tiny_config.replace(epochs=1.0, batch_size=8, eval_every=3, report_to=list(names))
    handle = train(cfg, data=toy_data, block=True)
    assert handle.status == "completed", handle.summary
    return handle


def _steps(handle: Any) -> list[dict[str, Any]]:
    return [e for e in handle.history if e["type"] == "step"]


def _evals(handle: Any) -> list[dict[str, Any]]:
    return [e for e in handle.history if e["type"] == "eval"]


def test_report_to_is_a_checked_list_that_defaults_to_none() -> None:
    assert TrainConfig().run.report_to == ()
    assert TrainConfig().replace(report_to=["none"]).run.report_to == ()
    assert TrainConfig().replace(report_to=["tensorboard", "mlflow"]).run.report_to == (
        "tensorboard",
        "mlflow",
    )
    assert TrainConfig().replace(report_to="mlflow").run.report_to == ("mlflow",)  # as in HF
    with pytest.raises(ConfigError, match="report_to must be one of.*tensorboard, mlflow, trackio"):
        TrainConfig().replace(report_to=["wandb"])


def test_a_missing_tracker_package_is_a_fix_it_error(
    tiny_config: TrainConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"pip install 'finetune-workbench\[trackers\]'"):
        train(tiny_config.replace(report_to=["mlflow"]))


def test_tensorboard_gets_every_step_evaluation_test_metric_and_the_findings(
    tiny_config: TrainConfig, toy_data: Any
) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    handle = _run(tiny_config, toy_data, "tensorboard")
    logs = EventAccumulator(str(Path(handle.run_dir) / "tensorboard"), size_guidance={"tensors": 0})
    logs.Reload()
    loss = logs.Scalars("train/loss")
    steps = _steps(handle)
    assert [s.step for s in loss] == [e["step"] for e in steps]
    assert [s.value for s in loss] == pytest.approx([e["loss"] for e in steps], rel=1e-5)
    evals = _evals(handle)
    assert [s.step for s in logs.Scalars("eval/macro_f1")] == [e["step"] for e in evals]
    test = logs.Scalars("test/accuracy")
    assert test[-1].value == pytest.approx(handle.summary["test_accuracy"], rel=1e-5)
    text = logs.Tensors("findings/text_summary")[-1].tensor_proto.string_val[0].decode()
    assert "status: completed" in text


def test_mlflow_logs_to_a_local_database_and_honours_its_tracking_uri(
    tiny_config: TrainConfig, toy_data: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    handle = _run(tiny_config, toy_data, "mlflow")
    store = Path(tiny_config.run.runs_dir).resolve() / "mlflow.db"  # beside the runs
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("finetune-workbench")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == Path(handle.run_dir).name
    history = client.get_metric_history(run.info.run_id, "train/loss")
    assert [m.step for m in history] == [e["step"] for e in _steps(handle)]
    assert run.data.metrics["test/accuracy"] == pytest.approx(handle.summary["test_accuracy"])
    assert run.data.params["optim.lr"] == str(handle.config.optim.lr)
    assert run.data.params["run.pinned_texts"] == "()"  # a tuple, stringified
    findings = Path(client.download_artifacts(run.info.run_id, "findings.txt", str(tmp_path)))
    assert "status: completed" in findings.read_text()

    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.chdir(tmp_path)  # a store the user named keeps MLflow's artifact default, ./mlruns
    monkeypatch.setenv("MLFLOW_TRACKING_URI", elsewhere)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "mine")
    _run(tiny_config.replace(out=str(tmp_path / "run2")), toy_data, "mlflow")
    assert MlflowClient(tracking_uri=elsewhere).get_experiment_by_name("mine") is not None
    assert (tmp_path / "mlruns").is_dir()


def test_trackio_logs_to_its_local_database(
    tiny_config: TrainConfig, toy_data: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("trackio")
    monkeypatch.setenv("TRACKIO_DIR", str(tmp_path / "trackio"))
    handle = _run(tiny_config, toy_data, "trackio")
    from trackio.sqlite_storage import SQLiteStorage

    logs = SQLiteStorage.get_logs("finetune-workbench", Path(handle.run_dir).name)
    losses = [row["train/loss"] for row in logs if "train/loss" in row]
    assert losses == pytest.approx([e["loss"] for e in _steps(handle)], rel=1e-5)
    tests = [row["test/accuracy"] for row in logs if "test/accuracy" in row]
    assert tests == [pytest.approx(handle.summary["test_accuracy"])]


def test_a_failing_tracker_is_switched_off_and_the_run_goes_on(
    tiny_config: TrainConfig, toy_data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("tensorboard")
    from accelerate.tracking import TensorBoardTracker

    def broken(self: Any, values: Any, step: Any = None, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(TensorBoardTracker, "log", broken)
    handle = _run(tiny_config, toy_data, "tensorboard")
    messages = [e.get("message", "") for e in handle.history if e["type"] == "status"]
    assert any("report_to tensorboard switched off: OSError: disk full" in m for m in messages)
    assert handle.summary["test_accuracy"] is not None
