"""The same ``workbench train`` under 2 processes on CPU (torchrun, gloo), end to end.

Launched with ``python -m torch.distributed.run`` (torchrun). ``accelerate launch --cpu
--num_processes 2`` would prove nothing: without MPI it starts one plain process (env.json
then says num_processes 1). ``accelerate launch --multi_gpu --num_processes 2 … --device
cpu`` does start two, through the same torchrun machinery. Accelerate inside each process
picks up RANK/WORLD_SIZE, uses gloo on CPU and shards the training batches; only the main
process writes the run directory and prints. A run both processes crash in is resumed under
two processes and trains on exactly like the uninterrupted one: each process gets its own
RNG state back (``rng_0.pt``, ``rng_1.pt``).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import toy_frame
from exact_resume import assert_resumed_exactly

from workbench.cli import main

pytestmark = pytest.mark.slow  # four launches of 2 processes each: ~1 minute on 2 cores

LABELS = ["negative", "neutral", "positive"]
BATCH = 8


def train_args(model: str, csv: Path, out: Path) -> list[str]:
    return [
        "train",
        "--model",
        model,
        "--dataset",
        str(csv),
        "--epochs",
        "1",
        "--batch-size",
        str(BATCH),
        "--max-length",
        "32",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--quiet",
        "--max-train-samples",
        "none",
        "--max-eval-samples",
        "none",
        "--eval-every",
        "2",  # checkpoints at steps 2 and 4 of 6: the crash test resumes from step 4
        "--dropout",
        "0.1",  # each process draws its own dropout masks: resume needs each one's RNG
        "--lr",
        "1e-2",  # steps large enough that one process's wrong masks show in the losses
    ]


def torchrun(
    args: list[str], timeout: float = 300, target: tuple[str, ...] = ("-m", "workbench")
) -> subprocess.CompletedProcess[str]:
    """``torchrun --standalone --nproc_per_node 2 -m workbench ARGS`` (or another ``target``
    script); a hang fails the test."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    try:
        return subprocess.run(
            [*cmd, *target, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"2-process run did not finish in {timeout} s (deadlock?): {err.stderr!r}")


def read_events(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


def setup_event(run: Path) -> dict[str, Any]:
    (setup,) = [e for e in read_events(run) if e["type"] == "setup"]
    return setup


@pytest.fixture(scope="module")
def toy_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 rows, 3 balanced classes: 96 train rows = 12 batches of 8. The texts vary in
    length, so the two processes' batches differ in width: each draws a different number of
    dropout values, and their RNG states part ways."""
    path = tmp_path_factory.mktemp("mp-data") / "toy.csv"
    frame = toy_frame(40)
    frame["text"] = [t + " and so on" * (i % 7) for i, t in enumerate(frame["text"])]
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def two_process_run(
    tiny_bert_dir: str, toy_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("mp") / "run"
    return torchrun(train_args(tiny_bert_dir, toy_csv, out)), out


def test_two_processes_complete_one_run_directory(
    two_process_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    proc, run = two_process_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    # Only the main process reports: one run directory, printed once.
    assert proc.stdout.count("run directory:") == 1, proc.stdout
    assert f"run directory: {run}" in proc.stdout
    assert sorted(p.name for p in run.parent.iterdir()) == ["run"]

    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["labels"] == LABELS
    for key in ("test_accuracy", "test_macro_f1", "val_loss", "train_samples_per_second"):
        assert summary[key] is not None, key
    env = json.loads((run / "env.json").read_text())
    assert env["num_processes"] == 2

    setup = setup_event(run)
    assert setup["num_processes"] == 2
    # Test metrics cover every test example exactly once: the gather over processes
    # neither drops examples nor counts the padding duplicates of uneven shards.
    support = sum(c["support"] for c in summary["test_per_class"].values())
    assert support == setup["test_size"]
    predictions = (run / "test_predictions.jsonl").read_text().splitlines()
    assert len(predictions) == setup["test_size"]


def test_only_the_main_process_writes_events(
    two_process_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    proc, run = two_process_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    events = read_events(run)
    types = [e["type"] for e in events]
    assert types.count("setup") == 1
    assert types.count("end") == 1
    assert types[-1] == "end"
    steps = [e["step"] for e in events if e["type"] == "step"]
    assert steps == list(range(1, setup_event(run)["total_steps"] + 1))


def test_the_exported_model_loads_in_a_fresh_process_view(
    two_process_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    from workbench import load_run

    proc, run = two_process_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    (pred,) = load_run(run).predict(["I love this, great and wonderful"])
    assert pred["label"] in LABELS


def test_each_process_takes_half_the_batches(
    two_process_run: tuple[subprocess.CompletedProcess[str], Path],
    tiny_bert_dir: str,
    toy_csv: Path,
    tmp_path: Path,
) -> None:
    proc, run2 = two_process_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    run1 = tmp_path / "run"
    assert main(train_args(tiny_bert_dir, toy_csv, run1)) == 0
    one, two = setup_event(run1), setup_event(run2)
    assert one["num_processes"] == 1
    assert one["train_size"] == two["train_size"]  # the same data, split the same way
    batches = math.ceil(one["train_size"] / BATCH)
    assert one["total_steps"] == batches
    # Each process trains on its shard of the batches: half the optimizer steps.
    assert two["total_steps"] == math.ceil(batches / 2)
    steps1 = json.loads((run1 / "summary.json").read_text())["steps"]
    steps2 = json.loads((run2 / "summary.json").read_text())["steps"]
    assert (steps1, steps2) == (one["total_steps"], two["total_steps"])


def test_a_taken_out_dir_fails_cleanly_under_two_processes(
    two_process_run: tuple[subprocess.CompletedProcess[str], Path],
    tiny_bert_dir: str,
    toy_csv: Path,
) -> None:
    """Reusing a finished run's --out: an error, no hang, and the earlier run untouched."""
    proc, run = two_process_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    again = torchrun(train_args(tiny_bert_dir, toy_csv, run))
    assert again.returncode != 0
    assert f"error: run directory {run} already exists" in again.stderr
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


_CRASH = """
import sys

from workbench.tasks.text_classification.task import TextClassification

real, calls = TextClassification.loss, {"n": 0}


def loss(self, outputs, batch, **options):
    calls["n"] += 1
    if calls["n"] == int(sys.argv[1]):
        raise RuntimeError("injected crash")
    return real(self, outputs, batch, **options)


TextClassification.loss = loss
from workbench.cli import main

sys.exit(main(sys.argv[2:]))
"""


def test_a_crashed_run_resumes_exactly_under_two_processes(
    two_process_run: tuple[subprocess.CompletedProcess[str], Path],
    tiny_bert_dir: str,
    toy_csv: Path,
    tmp_path: Path,
) -> None:
    """Both processes crash in step 5, after the checkpoint of step 4; resumed under two
    processes, steps 5 and 6, the last evaluation and the last weights equal the
    uninterrupted two-process run's (tolerances in tests/exact_resume.py). Restoring the
    main process's RNG state on both processes moves step 6's loss and the weights."""
    proc, reference = two_process_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    crash = tmp_path / "crash.py"
    crash.write_text(_CRASH)
    run = tmp_path / "run"
    crashed = torchrun(["5", *train_args(tiny_bert_dir, toy_csv, run)], target=(str(crash),))
    assert crashed.returncode != 0 and "injected crash" in crashed.stderr, crashed.stderr[-4000:]
    last = run / "checkpoints" / "last"
    assert json.loads((last / "state.json").read_text())["step"] == 4
    assert sorted(p.name for p in last.glob("rng*.pt")) == ["rng_0.pt", "rng_1.pt"]
    resumed = torchrun(["train", "--resume", str(run), "--quiet"])
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert_resumed_exactly(reference, run, 4, min_steps_after=2)
