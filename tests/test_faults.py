"""Faults in the middle of a run: out of memory, a full disk, Stop at awkward moments, SIGKILL.

Each fault must leave a run directory that says what happened and can be resumed: the
summary names the problem and the fix, the last complete checkpoint stays loadable, and
``--resume`` finishes the run as if nothing had happened. Faults are injected with
monkeypatch inside a real (tiny) run; the SIGKILL case kills a real ``workbench train``
process and is marked slow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import toy_frame
from exact_resume import assert_resumed_exactly, resume_config

from workbench import TrainConfig, train
from workbench.cli import main
from workbench.errors import OutOfMemory, StorageError
from workbench.training.checkpoint import load_checkpoint
from workbench.training.events import read_events

OOM_TEXT = "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity)"


def steps_of(events: list[dict[str, Any]]) -> list[int]:
    return [e["step"] for e in events if e["type"] == "step"]


def run_dir(cfg: TrainConfig) -> Path:
    return Path(cfg.run.out or "")


def leftovers(root: Path) -> list[str]:
    """Half-written files or folders a failed write must not leave behind."""
    return [str(p) for p in root.rglob("*") if p.name.endswith((".tmp", ".old"))]


# ----------------------------------------------------------------------------- out of memory
def oom_when(monkeypatch: pytest.MonkeyPatch, predicate: Any) -> dict[str, int]:
    """Make the loss raise torch.OutOfMemoryError for batches where ``predicate(batch, n)``."""
    from workbench.tasks.text_classification.task import TextClassification

    real = TextClassification.loss
    calls = {"n": 0, "raised": 0}

    def loss(self, outputs, batch, **options):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if predicate(batch, calls["n"]):
            calls["raised"] += 1
            raise torch.OutOfMemoryError(OOM_TEXT)
        return real(self, outputs, batch, **options)

    monkeypatch.setattr(TextClassification, "loss", loss)
    return calls


def test_out_of_memory_fails_the_run_with_concrete_advice(
    tiny_config: TrainConfig, toy_data, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    oom_when(monkeypatch, lambda batch, n: n >= 3)
    handle = train(tiny_config.replace(eval_every=2), data=toy_data, block=True)
    assert handle.status == "failed"
    assert isinstance(handle.error, OutOfMemory)
    message = (handle.summary or {})["error"]
    for advice in (
        "out of memory at batch_size 16",
        "CUDA out of memory",
        "lower batch_size (now 16; try 8 with grad_accum 2",
        "lower max_length (now 32 tokens)",
        "use method lora",
        "turn on gradient_checkpointing",
        "oom_retries",
    ):
        assert advice in message, message
    summary = json.loads((run_dir(tiny_config) / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["error"] == message
    # the checkpoint of step 2 (before the failing step 3) is kept and loadable
    assert load_checkpoint(run_dir(tiny_config) / "checkpoints" / "last")["state"]["step"] == 2
    assert handle.history[-1]["type"] == "end"


def test_out_of_memory_on_the_cli_is_one_line_with_exit_2(
    tiny_bert_dir: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    oom_when(monkeypatch, lambda batch, n: True)
    csv = tmp_path / "toy.csv"
    toy_frame(10).to_csv(csv, index=False)
    argv = ["train", "--model", tiny_bert_dir, "--dataset", str(csv), "--device", "cpu"]
    rc = main([*argv, "--batch-size", "8", "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2, err
    # The coach's pre-flight warnings (tiny data, few steps) come first; the error is one line.
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith("error: out of memory at batch_size 8"), err
    assert err.rstrip().endswith(lines[0]), err
    assert "Traceback" not in err


def test_opt_in_retry_halves_the_batch_and_restarts_cleanly(
    tiny_config: TrainConfig, toy_data, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from widgets.live.state import RunState
    from workbench.plots import curve_data

    # Batches of more than 8 do not "fit": the first attempt fails after a few steps.
    calls = oom_when(monkeypatch, lambda batch, n: n >= 4 and batch["labels"].shape[0] > 8)
    cfg = tiny_config.replace(eval_every=2, oom_retries=2)
    handle = train(cfg, data=toy_data, block=True)
    assert handle.status == "completed", handle.summary
    assert calls["raised"] == 1
    retries = [e for e in handle.history if e["type"] == "retry"]
    assert len(retries) == 1
    assert retries[0]["batch_size"] == 8 and retries[0]["grad_accum"] == 2
    assert "starting again with batch_size 8 and grad_accum 2" in retries[0]["message"]
    assert handle.config.optim.batch_size == 8 and handle.config.optim.grad_accum == 2
    # the run directory describes the attempt that finished: re-running it reproduces it
    saved = TrainConfig.load(run_dir(cfg) / "config.yaml")
    assert saved.optim.batch_size == 8 and saved.optim.grad_accum == 2
    # same effective batch: as many optimizer steps as planned, each once after the retry
    setups = [e for e in handle.history if e["type"] == "setup"]
    assert len(setups) == 2 and setups[0]["total_steps"] == setups[1]["total_steps"]
    after = handle.history[handle.history.index(retries[0]) :]
    assert steps_of(after) == list(range(1, setups[1]["total_steps"] + 1))
    # the file has every event exactly once, retry included
    on_disk = read_events(run_dir(cfg) / "events.jsonl")
    assert [e["type"] for e in on_disk] == [e["type"] for e in handle.history]
    # the curves show the attempt that finished, not both on top of each other
    assert curve_data(handle.history)["step"] == steps_of(after)
    state = RunState()
    state.consume(handle.history)
    assert state.loss.count == len(steps_of(after))


def test_retry_gives_up_after_oom_retries_and_says_so(
    tiny_config: TrainConfig, toy_data, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    oom_when(monkeypatch, lambda batch, n: True)
    handle = train(tiny_config.replace(oom_retries=1), data=toy_data, block=True)
    assert handle.status == "failed"
    assert len([e for e in handle.history if e["type"] == "retry"]) == 1
    assert "out of memory at batch_size 8" in (handle.summary or {})["error"]


@pytest.mark.parametrize("method", ["full", "lora"])
def test_gradient_checkpointing_trains_to_the_same_losses(
    method: str, tiny_config: TrainConfig, toy_data, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The advice's last resort really is there: less memory, the same numbers."""
    cfg = tiny_config.replace(method=method, epochs=1.0)
    plain = train(cfg.replace(out=str(tmp_path / "plain")), data=toy_data, block=True)
    gc = train(
        cfg.replace(gradient_checkpointing=True, out=str(tmp_path / "gc")),
        data=toy_data,
        block=True,
    )
    assert plain.status == gc.status == "completed", gc.summary
    assert gc.session is not None
    assert gc.session.accelerator.unwrap_model(gc.session.model).is_activation_checkpointing
    a = [e["loss"] for e in plain.history if e["type"] == "step"]
    b = [e["loss"] for e in gc.history if e["type"] == "step"]
    assert len(a) == len(b) > 0
    assert b == pytest.approx(a, rel=1e-4, abs=1e-6)


# ----------------------------------------------------------------------------- a full disk
def test_a_failing_checkpoint_write_is_reported_and_the_previous_checkpoint_stays(
    tiny_config: TrainConfig, toy_data, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import workbench.training.checkpoint as checkpoint

    real = checkpoint.save_file
    written: list[str] = []

    def full_disk(tensors, filename, *args, **kwargs):  # type: ignore[no-untyped-def]
        if len(written) >= 2:  # best + last of the first evaluation went through
            Path(filename).write_bytes(b"half a file")
            raise OSError(28, "No space left on device", filename)
        written.append(filename)
        return real(tensors, filename, *args, **kwargs)

    monkeypatch.setattr(checkpoint, "save_file", full_disk)
    cfg = tiny_config.replace(eval_every=3)
    handle = train(cfg, data=toy_data, block=True)
    assert handle.status == "failed"
    assert isinstance(handle.error, StorageError)
    message = (handle.summary or {})["error"]
    assert "No space left on device" in message and "the previous checkpoint is kept" in message
    assert f"--resume {run_dir(cfg)}" in message
    folder = run_dir(cfg) / "checkpoints"
    assert leftovers(folder) == []  # the half-written copy is gone
    last = load_checkpoint(folder / "last")
    assert last["state"]["step"] == 3 and "optimizer" in last
    # with the disk fixed, the run resumes from that checkpoint and completes
    from workbench.runs.directory import check_resumable
    from workbench.runs.handle import RunHandle

    monkeypatch.setattr(checkpoint, "save_file", real)
    config = TrainConfig.load(check_resumable(run_dir(cfg)) / "config.yaml")
    resumed = RunHandle(config, run_dir(cfg)).start(toy_data, block=True)  # a DataFrame: again
    assert resumed.status == "completed", resumed.summary
    total = (resumed.summary or {})["total_steps"]
    assert steps_of(read_events(run_dir(cfg) / "events.jsonl")) == list(range(1, total + 1))


def test_failing_write_between_renames_puts_the_old_checkpoint_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.training.checkpoint as checkpoint

    folder = tmp_path / "checkpoints" / "last"
    weights = {"w": torch.ones(2)}
    checkpoint.save_checkpoint(folder, weights, {"step": 1})
    real = os.replace

    def failing(src, dst):  # type: ignore[no-untyped-def]
        if str(src).endswith(".tmp"):
            raise OSError(5, "Input/output error")
        return real(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", failing)
    with pytest.raises(StorageError, match="Input/output error.*previous checkpoint is kept"):
        checkpoint.save_checkpoint(folder, {"w": torch.zeros(2)}, {"step": 2})
    monkeypatch.setattr(checkpoint.os, "replace", real)
    assert load_checkpoint(folder)["state"]["step"] == 1
    assert torch.equal(load_checkpoint(folder)["weights"]["w"], torch.ones(2))
    assert leftovers(tmp_path) == []


def test_a_kill_between_the_renames_is_recovered_on_resume(tmp_path: Path) -> None:
    from workbench.runs.directory import check_resumable
    from workbench.training.checkpoint import save_checkpoint

    run = tmp_path / "run"
    save_checkpoint(run / "checkpoints" / "last", {"w": torch.ones(1)}, {"step": 7})
    (run / "config.yaml").write_text(TrainConfig().to_yaml())
    # what a kill right after "last -> last.old" leaves: no last/, a complete last.old/
    os.replace(run / "checkpoints" / "last", run / "checkpoints" / "last.old")
    assert check_resumable(run) == run
    assert load_checkpoint(run / "checkpoints" / "last")["state"]["step"] == 7


# ----------------------------------------------------------------------------- a crash
def test_a_crash_after_an_epoch_end_checkpoint_resumes_exactly(
    tiny_bert_dir: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """eval_every 4 falls on epoch 1's last batch (8 batches): the checkpoint of step 8 is
    written before the loop sees the epoch end. The run crashes in step 9; resumed from that
    checkpoint it must not evaluate step 8 a second time (a doubled point on the curve, one
    more "bad" evaluation for early stopping) and must train on exactly as the run that never
    crashed (tolerances in tests/exact_resume.py)."""
    from workbench.runs.directory import check_resumable
    from workbench.runs.handle import RunHandle
    from workbench.tasks.text_classification.task import TextClassification

    data = toy_frame()
    reference = tmp_path / "reference"
    cfg = resume_config(tiny_bert_dir, reference).replace(eval_every=4)
    assert train(cfg, data=data, block=True).status == "completed"

    real, calls = TextClassification.loss, {"n": 0}

    def crash_in_step_9(self, outputs, batch, **options):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 9:
            raise RuntimeError("injected crash")
        return real(self, outputs, batch, **options)

    monkeypatch.setattr(TextClassification, "loss", crash_in_step_9)
    crashed = tmp_path / "crashed"
    first = train(cfg.replace(out=str(crashed)), data=data, block=True)
    assert first.status == "failed" and "injected crash" in str(first.error)
    state = load_checkpoint(crashed / "checkpoints" / "last")["state"]
    assert (state["step"], state["batch_in_epoch"], state["epoch"]) == (8, 8, 0)
    monkeypatch.setattr(TextClassification, "loss", real)
    config = TrainConfig.load(check_resumable(crashed) / "config.yaml")
    assert RunHandle(config, crashed).start(data, block=True).status == "completed"
    assert_resumed_exactly(reference, crashed, 8, min_steps_after=8)


# ----------------------------------------------------------------------------- several processes
_RANK_SCRIPT = """
import json, random, sys
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator

from workbench.training.checkpoint import load_checkpoint, save_checkpoint
from workbench.training.rng import gather_rng_states, restore_rng

acc = Accelerator(cpu=True)
rank, folder = acc.process_index, Path(sys.argv[1])
for seed in (random.seed, np.random.seed, torch.manual_seed):
    seed(100 + rank)  # each process its own stream, as dropout on different batches makes them
states = gather_rng_states(acc)  # what RunTracking._save does on every process
if acc.is_main_process:
    save_checkpoint(folder / "last", {"w": torch.zeros(1)}, {"step": 1}, rng_states=states)
acc.wait_for_everyone()


def draw():
    return [torch.rand(3).tolist(), random.random(), float(np.random.rand())]


expected = draw()
for seed in (random.seed, np.random.seed, torch.manual_seed):
    seed(0)  # what a fresh process has before resume
restore_rng(load_checkpoint(folder / "last")["rng"], rank)  # what restore_progress does
out = {"processes": acc.num_processes, "expected": expected, "restored": draw()}
(folder / f"rank{rank}.json").write_text(json.dumps(out))
"""


def test_each_process_saves_and_restores_its_own_random_state(tmp_path: Path) -> None:
    """Two real processes (torchrun, gloo): the checkpoint holds one RNG file per rank, and
    each rank gets its own state back, not the main process's."""
    script = tmp_path / "ranks.py"
    script.write_text(_RANK_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node"]
    proc = subprocess.run(
        [*cmd, "2", str(script), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    files = sorted(p.name for p in (tmp_path / "last").glob("rng*.pt"))
    assert files == ["rng_0.pt", "rng_1.pt"]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["processes"] for r in ranks] == [2, 2]
    assert ranks[0]["expected"] != ranks[1]["expected"]  # the streams differ per process
    for r in ranks:
        assert r["restored"] == r["expected"]  # torch, Python and NumPy, each rank its own


def test_rng_state_round_trips_through_a_checkpoint(tmp_path: Path) -> None:
    """torch, NumPy and Python generators come back exactly, via weights_only loading; a
    checkpoint from before per-rank files (``rng.pt``, torch only) still resumes."""
    import random

    import numpy as np

    from workbench.training.checkpoint import save_checkpoint
    from workbench.training.rng import restore_rng, rng_state

    folder = tmp_path / "last"
    save_checkpoint(folder, {"w": torch.zeros(1)}, {"step": 1}, rng_states=[rng_state()])
    expected = (torch.rand(3).tolist(), random.random(), float(np.random.rand()))
    restore_rng(load_checkpoint(folder)["rng"], 0)
    assert (torch.rand(3).tolist(), random.random(), float(np.random.rand())) == expected

    old = tmp_path / "old"
    save_checkpoint(old, {"w": torch.zeros(1)}, {"step": 1})
    torch.save({"cpu": torch.get_rng_state()}, old / "rng.pt")
    expected_torch = torch.rand(3).tolist()
    restore_rng(load_checkpoint(old)["rng"], 0)
    assert torch.rand(3).tolist() == expected_torch


# ----------------------------------------------------------------------------- Stop mid-way
@pytest.mark.parametrize("where", ["evaluation", "checkpoint"])
def test_stop_during_evaluation_or_checkpointing_leaves_a_consistent_run(
    where: str, tiny_bert_dir: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.training.tracking as tracking

    holder: dict[str, Any] = {}
    # the evaluation hook itself, or the checkpoint writer it calls
    owner: Any = tracking.RunTracking if where == "evaluation" else tracking
    name = "on_evaluate" if where == "evaluation" else "save_checkpoint"
    real = getattr(owner, name)
    calls = {"n": 0}

    def stop_inside(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:  # the second evaluation / checkpoint, mid-run
            holder["handle"].stop()
            time.sleep(0.05)  # the worker is still inside; the flag waits for a step boundary
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, stop_inside)
    csv = tmp_path / "toy.csv"
    toy_frame(20).to_csv(csv, index=False)
    cfg = TrainConfig().replace(
        model=tiny_bert_dir,
        dataset=str(csv),
        max_train_samples=None,
        max_eval_samples=None,
        epochs=3.0,
        batch_size=8,
        max_length=32,
        lr=1e-2,
        eval_every=2,
        device="cpu",
        out=str(tmp_path / "run"),
        runs_dir=str(tmp_path / "runs"),
    )
    holder["handle"] = handle = train(cfg)
    handle.wait(120)
    assert handle.status == "stopped", handle.summary
    run = run_dir(cfg)
    summary = json.loads((run / "summary.json").read_text())
    last = load_checkpoint(run / "checkpoints" / "last")
    # what the summary, the checkpoint and the events say agrees
    assert summary["status"] == "stopped"
    assert last["state"]["step"] == summary["steps"] < summary["total_steps"]
    events = read_events(run / "events.jsonl")
    assert max(steps_of(events)) == summary["steps"]
    assert leftovers(run) == []
    monkeypatch.setattr(owner, name, real)
    rc = main(["train", "--resume", str(run), "--quiet"])
    assert rc == 0
    done = json.loads((run / "summary.json").read_text())
    assert done["status"] == "completed" and done["steps"] == done["total_steps"]
    assert steps_of(read_events(run / "events.jsonl")) == list(range(1, done["total_steps"] + 1))


# ----------------------------------------------------------------------------- SIGKILL
def _train_argv(tiny: str, csv: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "workbench",
        "train",
        "--model",
        tiny,
        "--dataset",
        str(csv),
        "--epochs",
        "12",
        "--batch-size",
        "8",
        "--max-length",
        "32",
        "--lr",
        "1e-2",
        "--eval-every",
        "4",
        "--device",
        "cpu",
        "--max-train-samples",
        "none",
        "--max-eval-samples",
        "none",
        "--quiet",
        "--out",
        str(out),
    ]


@pytest.mark.slow
def test_sigkill_mid_training_then_resume_matches_an_uninterrupted_run(
    tiny_bert_dir: str, tmp_path: Path
) -> None:
    """Killed after the checkpoint at the end of epoch 1 (or a later one): every step after
    it, every later evaluation and the last weights equal an uninterrupted run's
    (tolerances in tests/exact_resume.py: measured differences are 0 on one machine, since
    both processes run the same float operations in the same order)."""
    csv = tmp_path / "toy.csv"
    toy_frame(50).to_csv(csv, index=False)  # 60 train (8 batches/epoch), 30 val, 60 test rows
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    split = ["--val-fraction", "0.2", "--test-fraction", "0.4", "--dropout", "0.1"]

    def argv(out: Path) -> list[str]:
        args = _train_argv(tiny_bert_dir, csv, out)
        args[args.index("--epochs") + 1] = "6"
        return [*args, *split]

    reference = tmp_path / "reference"
    proc = subprocess.run(argv(reference), env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

    killed = tmp_path / "killed"
    child = subprocess.Popen(
        argv(killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 300
    try:
        while True:
            events = read_events(killed / "events.jsonl")
            # eval_every 4 meets the epoch end at step 8: kill as soon as that is saved
            if any(
                e["type"] == "checkpoint" and e["kind"] == "last" and e["step"] >= 8 for e in events
            ):
                break
            assert child.poll() is None, "the run ended before it could be killed"
            assert time.time() < deadline, "no checkpoint within 300 s"
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
    assert child.returncode == -signal.SIGKILL

    # readable: events up to the kill, the last checkpoint complete, no summary yet
    from workbench.runs import load_run

    events = read_events(killed / "events.jsonl")
    assert events and events[-1]["type"] != "end"
    last = load_checkpoint(killed / "checkpoints" / "last")
    assert last["state"]["step"] >= 8 and {"optimizer", "scheduler", "rng"} <= set(last)
    assert load_run(killed).status == "interrupted"
    total = json.loads((reference / "summary.json").read_text())["total_steps"]
    assert total == 48 and max(steps_of(events)) < total

    proc = subprocess.run(
        [*argv(killed)[:4], "--resume", str(killed), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert_resumed_exactly(reference, killed, last["state"]["step"], min_steps_after=8)


# ----------------------------------------------------------------------------- Ctrl-C
class TrainProcess:
    """``workbench train`` in a child process, its stderr collected line by line."""

    def __init__(self, argv: list[str]) -> None:
        import threading

        env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
        self.proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.err: list[str] = []
        assert self.proc.stderr is not None
        self._reader = threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True)
        self._reader.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.err.append(line)

    def wait_for(self, ready: Any, what: str, timeout: float = 300) -> None:
        deadline = time.time() + timeout
        while not ready():
            assert self.proc.poll() is None, f"the run ended before {what}: {''.join(self.err)}"
            assert time.time() < deadline, f"no {what} within {timeout} s"
            time.sleep(0.01)

    def finish(self) -> tuple[int, str, str]:
        out = self.proc.stdout.read() if self.proc.stdout else ""
        self.proc.wait(120)
        self._reader.join(10)
        return self.proc.returncode, out, "".join(self.err)


def _first(run: Path, kind: str) -> Any:
    """A check that ``run``'s events.jsonl has an event of type ``kind`` (``checkpoint``: last)."""

    def ready() -> bool:
        events = read_events(run / "events.jsonl")
        return any(e["type"] == kind and e.get("kind", "last") == "last" for e in events)

    return ready


def test_ctrl_c_stops_after_the_step_then_tests_and_exports(
    tiny_bert_dir: str, tmp_path: Path
) -> None:
    csv = tmp_path / "toy.csv"
    toy_frame(20).to_csv(csv, index=False)
    run = tmp_path / "run"
    child = TrainProcess(_train_argv(tiny_bert_dir, csv, run))
    child.wait_for(_first(run, "step"), "step")
    child.proc.send_signal(signal.SIGINT)
    rc, out, err = child.finish()
    assert rc == 0, err
    assert "Ctrl-C again to abort at once" in err
    assert "Traceback" not in err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["steps"] < summary["total_steps"]
    assert summary["test_accuracy"] is not None and summary["test_macro_f1"] is not None
    assert (run / "model" / "config.json").is_file()
    assert "status: stopped" in out and "test macro-F1" in out
    assert f"resume with: workbench train --resume {run}" in out
    last = load_checkpoint(run / "checkpoints" / "last")
    assert last["state"]["step"] == summary["steps"]


def test_a_second_ctrl_c_aborts_at_once_and_leaves_a_resumable_run(
    tiny_bert_dir: str, tmp_path: Path
) -> None:
    csv = tmp_path / "toy.csv"
    toy_frame(20).to_csv(csv, index=False)
    run = tmp_path / "run"
    argv = _train_argv(tiny_bert_dir, csv, run)
    argv[argv.index("--epochs") + 1] = "3"  # short, so that resuming it is quick
    child = TrainProcess(argv)
    child.wait_for(_first(run, "checkpoint"), "checkpoint")  # eval_every 4: step 4
    child.proc.send_signal(signal.SIGINT)
    child.wait_for(lambda: any("Ctrl-C again" in line for line in child.err), "stop message")
    child.proc.send_signal(signal.SIGINT)
    rc, _, err = child.finish()
    assert rc == 130, err
    assert "aborted" in err and f"resume with: workbench train --resume {run}" in err
    assert "Traceback" not in err and "FATAL" not in err
    from workbench.runs.directory import check_resumable

    assert check_resumable(run) == run
    proc = subprocess.run(
        [*argv[:4], "--resume", str(run), "--quiet"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    done = json.loads((run / "summary.json").read_text())
    assert done["status"] == "completed" and done["steps"] == done["total_steps"]
    assert steps_of(read_events(run / "events.jsonl")) == list(range(1, done["total_steps"] + 1))
