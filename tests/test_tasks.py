"""Task conformance: every registered task goes through the whole loop on a tiny model.

One row per task (``ROWS``): a tiny seeded model from :mod:`workbench.toy`, a few steps of
training, the test split evaluated, the model exported; then, in a fresh process, the
exported run reloaded and asked to predict through ``workbench predict``; an explanation
through ``workbench explain``; and what the panels ask of the task (``data_view``,
``trainable_parameters``, ``describe_inputs``). Adding a task = one folder, one registry
line and one row here (the first test fails until the row exists).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from workbench.config import TrainConfig
from workbench.tasks import TASKS, get_task
from workbench.tasks.base import DataView

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Row:
    """How to run one task end to end: its config (given a scratch folder) and the inputs
    ``workbench predict`` / ``workbench explain`` take for it."""

    config: Callable[[Path], TrainConfig]
    predict: Callable[[Path], list[str]]
    explain: Callable[[Path], list[str]]


def _text_config(folder: Path) -> TrainConfig:
    from workbench.toy import save_tiny_bert, toy_frame

    toy_frame(20).to_csv(folder / "toy.csv", index=False)
    return TrainConfig().replace(
        task="text-classification",
        model=str(save_tiny_bert(folder / "model")),
        dataset=str(folder / "toy.csv"),
        max_length=32,
    )


def _lm_config(folder: Path) -> TrainConfig:
    from workbench.toy import save_tiny_llama, save_toy_pairs

    return TrainConfig().replace(
        task="causal-lm",
        model=str(save_tiny_llama(folder / "model")),
        dataset=str(save_toy_pairs(folder / "pairs.jsonl", 12)),
        method="lora",
        max_length=64,
    )


def _image_config(folder: Path) -> TrainConfig:
    from workbench.toy import save_tiny_image

    digits = [str(d) for d in range(10)]
    return TrainConfig().replace(
        task="image-classification",
        model=str(save_tiny_image(folder / "model", digits, size=32)),
        dataset="mnist-5k",
        image_size=32,
    )


def _image_file(folder: Path) -> str:
    import numpy as np
    from PIL import Image

    path = folder / "seven.png"
    pixels = np.zeros((28, 28), dtype=np.uint8)
    pixels[4:7, 6:22] = 255
    pixels[7:24, 17:20] = 255
    Image.fromarray(pixels).save(path)
    return str(path)


ROWS: dict[str, Row] = {
    "text-classification": Row(
        _text_config,
        predict=lambda _: ["--text", "a great and wonderful day"],
        explain=lambda _: ["--text", "a great and wonderful day", "--method", "saliency"],
    ),
    "causal-lm": Row(
        _lm_config,
        predict=lambda _: ["--text", "Classify the text. the car is great"],
        explain=lambda _: ["--prompt", "Classify the text. the car is great"],
    ),
    "image-classification": Row(
        _image_config,
        predict=lambda folder: ["--image", _image_file(folder)],
        explain=lambda folder: ["--image", _image_file(folder), "--method", "saliency"],
    ),
}


def test_every_registered_task_has_a_conformance_row() -> None:
    assert set(ROWS) == set(TASKS)


def _cli(argv: list[str]) -> tuple[int, str, str]:
    from workbench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("name", list(ROWS))
def test_a_task_trains_tests_exports_reloads_predicts_and_explains(
    name: str, tmp_path: Path
) -> None:
    from workbench.runs import train
    from workbench.training.session import prepare_task_data

    task, row = get_task(name), ROWS[name]
    cfg = row.config(tmp_path).replace(
        max_train_samples=32,  # 4 steps of 8
        max_eval_samples=24,
        batch_size=8,
        epochs=1.0,
        save_checkpoints=False,
        out=str(tmp_path / "run"),
    )
    # what the panels ask before training
    view = task.data_view(prepare_task_data(cfg))
    assert isinstance(view, DataView) and view.splits, f"{name}: no split sizes to show"
    trainable, total = task.trainable_parameters(cfg, 3)
    assert 0 < trainable <= total
    assert task.describe_inputs(cfg)
    assert set(task.data_fields(cfg.data.dataset)) >= {"dataset", "val_fraction"}

    handle = train(cfg, block=True)
    assert handle.status == "completed", handle.summary
    summary = handle.summary or {}
    for metric in task.eval_metrics:  # every validation metric has its test counterpart
        assert summary.get("test_" + metric.removeprefix("val_")) is not None, (name, metric)
    run_dir = Path(handle.run_dir)
    assert (run_dir / "model").is_dir(), f"{name}: nothing exported"

    # reloaded in a fresh process, as a user's next session would
    argv = ["predict", "--run", str(run_dir), "--json", *row.predict(tmp_path)]
    fresh = subprocess.run(
        [sys.executable, "-m", "workbench", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    predictions = json.loads(fresh.stdout)
    assert len(predictions) == 1 and predictions[0], fresh.stdout

    rc, out, err = _cli(["explain", "--run", str(run_dir), *row.explain(tmp_path)])
    assert rc == 0, err
    assert out.strip(), f"{name}: explain printed nothing"
