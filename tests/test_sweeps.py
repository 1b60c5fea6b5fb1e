"""Sweeps (issue 19): the search space checked against the config metadata, bad input on the
command line, and tiny-model sweeps that run, prune, persist, resume after a kill, and
share one study between two worker processes.

Every sweep here trains the tiny BERT of ``conftest`` on the toy data (150 rows: 120 train,
8 steps an epoch) for two epochs, so a trial takes a few seconds.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import toy_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.cli import main
from workbench.config import ConfigError, TrainConfig
from workbench.errors import UserError
from workbench.methods import METHODS
from workbench.sweeps import parse_space, prepare_sweep, sweepable_fields
from workbench.training.events import read_events

WORKBENCH = Path(sys.executable).with_name("workbench")
LEARNS, STUCK = 1e-2, 1e-7  # the tiny model learns the toy data at 1e-2, not at 1e-7


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture()
def base(tiny_bert_dir: str, tmp_path: Path) -> TrainConfig:
    """Two epochs of the tiny model on a CSV of toy data (a file: worker processes read it)."""
    csv = tmp_path / "toy.csv"
    toy_frame().to_csv(csv, index=False)
    return TrainConfig().replace(
        model=tiny_bert_dir,
        dataset=str(csv),
        max_train_samples=None,
        max_eval_samples=None,
        epochs=2.0,
        batch_size=16,
        lr=LEARNS,
        max_length=32,
        device="cpu",
        runs_dir=str(tmp_path / "runs"),
    )


def numeric_fields() -> list[tuple[str, Any, Any]]:
    return [(s, f, tp) for s, f, tp in sweepable_fields() if tp in (int, float)]


def method_for(name: str) -> str:
    """A method that uses setting ``name`` (``lora_r`` → lora), else full."""
    return next((m for m, impl in METHODS.items() if name in impl.settings), "full")


# ----------------------------------------------------------------------------- the space
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_range_inside_a_numeric_field_is_accepted_and_one_past_its_bounds_is_refused(
    data: st.DataObject,
) -> None:
    section, field, tp = data.draw(st.sampled_from(numeric_fields()), label="field")
    name, meta = field.name, field.metadata
    # a setting of one task (image_size: image-classification) is swept on a config of it
    task = {"task": meta["tasks"][0]} if "tasks" in meta else {}
    base = TrainConfig().replace(method=method_for(name), **task)
    lo = meta.get("min", 0)
    hi = meta.get("max", 1000)
    if meta.get("min_exclusive") or meta.get("log"):
        lo = max(lo, 1e-6)
    if tp is int:
        a = data.draw(st.integers(int(lo), int(hi) - 1), label="low")
        b = data.draw(st.integers(a + 1, int(hi)), label="high")
    else:
        a = data.draw(st.floats(lo, hi, exclude_max=True, allow_nan=False), label="low")
        b = data.draw(st.floats(a, hi, exclude_min=True, allow_nan=False), label="high")
    if name == "val_fraction" or name == "test_fraction":
        b = min(b, 0.5)  # the two together must leave data to train on (with the default 0.1)
        if not a < b:
            return
    space = parse_space({name: {"low": a, "high": b}}, base)
    (param,) = space.params
    assert (param.low, param.high) == (a, b)
    assert param.log == bool(meta.get("log", False))  # the field's own scale by default
    # one past the top, and (where there is a floor) one below the bottom
    with pytest.raises(ConfigError, match=name):
        parse_space({name: {"low": a, "high": hi * 2 + 1}}, base)
    if "min" in meta:
        with pytest.raises(ConfigError, match=name):
            parse_space({name: {"low": meta["min"] - 1, "high": b}}, base)


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"lrr": [1e-3]}, "unknown setting 'lrr' in the search space; did you mean 'lr'"),
        ({"weight_decay": {"low": 0.0, "high": 2.0}}, r"weight_decay must be in \[0.0, 1.0\]"),
        ({"lr": {"low": 0.0, "high": 1e-3}}, "lr: a log-scale range must stay above 0"),
        ({"weight_decay": {"low": 0, "high": 0.1, "log": True}}, "must stay above 0"),
        ({"method": []}, "method: the list of choices is empty"),
        ({"method": ["full", "lorra"]}, "method must be one of"),
        ({"lora_r": [4, 8]}, "lora_r applies only to method lora"),
        ({"dataset": ["a.csv"]}, "dataset cannot vary in a sweep"),
        ({"batch_size": {"low": 8.5, "high": 32}}, "batch_size is a whole number"),
        ({"lr": {"low": 1e-3, "high": 1e-4}}, "low must be below high"),
        ({"method": {"low": 1, "high": 2}}, "method is not numeric"),
        ({}, "the search space is empty"),
    ],
)
def test_a_bad_space_is_refused_with_what_is_allowed(space: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_space(space, TrainConfig())


def test_yaml_numbers_without_a_dot_and_conditional_method_settings() -> None:
    # PyYAML reads 1e-5 as a string; the space reads it as the number it means.
    space = parse_space(
        yaml.safe_load("{lr: {low: 1e-5, high: 1e-3}, method: [full, lora], lora_r: [4, 8]}"),
        TrainConfig(),
    )
    assert space.names == ["method", "lr", "lora_r"]  # method first: lora_r depends on it
    lr = space.params[1]
    assert (lr.low, lr.high, lr.log) == (1e-5, 1e-3, True)
    assert space.params[2].methods == ("lora",)

    class Trial:  # draws the first choice / the low end, as a fake Optuna trial
        def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
            return choices[0]

        def suggest_float(self, name: str, low: float, high: float, **kw: Any) -> float:
            return low

    # a full fine-tune never gets a LoRA rank (its config would refuse one)
    assert space.suggest(Trial(), TrainConfig()) == {"method": "full", "lr": 1e-5}


def test_the_grid_sampler_needs_steps_or_values() -> None:
    from workbench.sweeps import make_spec

    with pytest.raises(ConfigError, match="grid sampler needs a step"):
        make_spec(TrainConfig(), {"weight_decay": {"low": 0.0, "high": 0.1}}, sampler="grid")
    spec = make_spec(
        TrainConfig(),
        {"weight_decay": {"low": 0.0, "high": 0.1, "step": 0.05}, "batch_size": [16, 32]},
        sampler="grid",
    )
    assert spec.space.grid() == {"weight_decay": [0.0, 0.05, 0.1], "batch_size": [16, 32]}


def test_every_sampler_and_pruner_is_built_from_its_name() -> None:
    import optuna

    from workbench.sweeps import make_spec
    from workbench.sweeps.storage import make_pruner, make_sampler

    space = {"lr": [1e-4, 1e-3]}
    samplers = {"tpe": "TPESampler", "random": "RandomSampler", "grid": "GridSampler"}
    for name, cls in samplers.items():
        spec = make_spec(TrainConfig(), space, sampler=name)
        assert isinstance(make_sampler(spec, 0), getattr(optuna.samplers, cls)), name
    pruners = {
        "none": optuna.pruners.NopPruner,
        "median": optuna.pruners.MedianPruner,
        "asha": optuna.pruners.SuccessiveHalvingPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
    }
    for name, cls in pruners.items():
        assert isinstance(make_pruner(make_spec(TrainConfig(), space, pruner=name)), cls), name
    with pytest.raises(ConfigError, match="pruner must be one of none, median, asha, hyperband"):
        make_spec(TrainConfig(), space, pruner="sometimes")


def test_a_worker_elsewhere_reads_the_sweep_from_the_database(
    base: TrainConfig, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'studies.db'}"
    space = {"lr": [1e-3, 1e-2]}
    first = prepare_sweep(base, space, trials=5, storage=db, study="shared", out=tmp_path / "a")
    # another machine: no config, no space, only the URL and the study name
    other = prepare_sweep(storage=db, study="shared", out=tmp_path / "b")
    assert other.spec.definition() == first.spec.definition()
    assert other.spec.trials == 5 and other.study.study_name == "shared"
    assert (tmp_path / "b" / "sweep.yaml").is_file()  # its own folder for its trials


# ----------------------------------------------------------------------------- bad input, CLI
def _one_error_line(rc: int, err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("space", "extra", "message"),
    [
        ("{lrr: [1e-3]}", [], "unknown setting 'lrr'"),
        ("{weight_decay: {low: 0.0, high: 2.0}}", [], "weight_decay must be in [0.0, 1.0]"),
        ("{lr: {low: 0, high: 1e-3}}", [], "a log-scale range must stay above 0"),
        ("{method: []}", [], "the list of choices is empty"),
        (
            "{lr: [1e-3]}",
            ["--storage", "sqlite:////no/such/folder/study.db"],
            "cannot open the sweep storage sqlite:////no/such/folder/study.db",
        ),
        (
            "{lr: [1e-3]}",
            ["--storage", "postgresql://me:secret@127.0.0.1:9/db"],
            "cannot open the sweep storage postgresql://me:***@127.0.0.1:9/db",
        ),
    ],
)
def test_bad_sweep_input_is_one_error_line_exit_2_and_writes_nothing(
    tmp_path: Path, space: str, extra: list[str], message: str
) -> None:
    out = tmp_path / "sweep"
    rc, _, err = run_main(["sweep", "--space", space, "--out", str(out), *extra])
    assert message in _one_error_line(rc, err)
    assert "secret" not in err  # a database password is never printed
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_study_whose_space_changed_is_refused_and_left_as_it_was(
    base: TrainConfig, tmp_path: Path
) -> None:
    folder = tmp_path / "sweep"
    prepare_sweep(base, {"lr": [1e-3, 1e-2]}, trials=2, out=folder)  # created, never started
    before = snapshot(folder)
    rc, _, err = run_main(["sweep", "--resume", str(folder), "--space", "{lr: [1e-4, 1e-2]}"])
    line = _one_error_line(rc, err)
    assert "was created for another search" in line and "lr: [0.001, 0.01]" in line, line
    assert snapshot(folder) == before
    # the same through a database shared by several machines: the study keeps its space
    db = f"sqlite:///{tmp_path / 'studies.db'}"
    prepare_sweep(base, {"lr": [1e-3]}, storage=db, study="shared", out=tmp_path / "a")
    other = tmp_path / "b"
    with pytest.raises(UserError, match="study 'shared' .* another search"):
        prepare_sweep(base, {"lr": [1e-4]}, storage=db, study="shared", out=other)
    assert not other.exists()


# ----------------------------------------------------------------------------- running sweeps
def test_a_clearly_worse_trial_is_pruned_and_its_run_stopped_early(
    base: TrainConfig, tmp_path: Path
) -> None:
    handle = prepare_sweep(
        base, {"lr": [LEARNS, STUCK]}, trials=3, pruner="median", out=tmp_path / "sweep"
    )
    # Two trials that learn, then one that cannot: the median pruner (2 startup trials)
    # compares its first evaluation with theirs.
    for lr in (LEARNS, LEARNS, STUCK):
        handle.study.enqueue_trial({"lr": lr})
    summary = handle.start().wait(timeout=600)
    assert summary is not None and summary["status"] == "completed", handle.history
    states = {t.number: t.state for t in handle.trials}
    assert states == {0: "complete", 1: "complete", 2: "pruned"}, handle.trials
    pruned = handle.trials[2]
    # Pruned at its first evaluation; the curve may hold one more point: the stop reaches the
    # run at its next step, and a run may evaluate once more on the way out (timing).
    assert pruned.pruned_at == 1 and 1 <= len(pruned.curve) <= 2, pruned.curve
    run = json.loads((pruned.run_dir / "summary.json").read_text())
    # Stopped through the run's control after its first evaluation: fewer steps than
    # planned, yet tested and exported like any stopped run (Evaluate/Explain work on it).
    assert run["status"] == "stopped" and run["steps"] < run["total_steps"]
    assert run["test_macro_f1"] is not None and (pruned.run_dir / "model").is_dir()
    best = handle.best
    assert best is not None and best.number in (0, 1)
    assert best.value == pytest.approx(handle.study.best_value)
    assert summary["best_trial"] == handle.study.best_trial.number


def test_a_killed_sweep_resumes_its_interrupted_trial_from_the_checkpoint(
    base: TrainConfig, tmp_path: Path
) -> None:
    config = tmp_path / "base.yaml"
    base.replace(epochs=1.0, eval_every=2).save(config)
    space = tmp_path / "space.yaml"
    space.write_text("lr: [0.01, 0.005]\n", encoding="utf-8")
    folder = tmp_path / "sweep"
    argv = ["sweep", "--config", str(config), "--space", str(space), "--trials", "3"]
    argv += ["--pruner", "none", "--sampler", "random", "--out", str(folder), "--quiet"]
    proc = subprocess.Popen([str(WORKBENCH), *argv], stderr=subprocess.PIPE, text=True)
    checkpoint = folder / "trials" / "trial-0001" / "checkpoints" / "last" / "state.json"
    try:
        deadline = time.time() + 300
        while not checkpoint.is_file():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.time() < deadline, "trial 1 wrote no checkpoint in 5 minutes"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)  # mid-trial: trial 1 is RUNNING in the study
    finally:
        proc.wait()
    first = snapshot(folder / "trials" / "trial-0000")
    rc, out, err = run_main(["sweep", "--resume", str(folder)])
    assert rc == 0, err
    assert "trial 1 (resumed)" in err
    records = json.loads((folder / "summary.json").read_text())
    assert records["status"] == "completed" and records["states"] == {"complete": 3}, records
    # trial 0 was done before the kill: untouched; trial 1 went on from its checkpoint
    assert snapshot(folder / "trials" / "trial-0000") == first
    events = read_events(folder / "trials" / "trial-0001" / "events.jsonl")
    starts = [e.get("message") for e in events if e["type"] == "status" and e.get("message")]
    assert starts.count("starting") == 1 and "resuming" in starts, starts
    steps = [e["step"] for e in events if e["type"] == "step"]
    assert steps == sorted(set(steps)), "a step was trained twice or went missing"
    assert sorted(p.name for p in (folder / "trials").iterdir()) == [
        "trial-0000",
        "trial-0001",
        "trial-0002",
    ]
    assert "best: trial" in out


def test_two_worker_processes_share_one_study(base: TrainConfig, tmp_path: Path) -> None:
    config = tmp_path / "base.yaml"
    base.replace(epochs=1.0).save(config)
    folder = tmp_path / "sweep"
    rc, out, err = run_main(
        ["sweep", "--config", str(config), "--space", "{lr: {low: 1e-3, high: 3e-2}}"]
        + ["--trials", "4", "--workers", "2", "--pruner", "none", "--out", str(folder)]
    )
    assert rc == 0, err + (folder / "workers" / "worker-1.log").read_text()
    import optuna

    study = optuna.load_study(
        study_name="sweep",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(folder / "study.journal"))
        ),
    )
    trials = study.get_trials()
    # Budget checks race by a few milliseconds at most: at worst one trial more per worker.
    assert 4 <= len(trials) <= 5
    assert [t.number for t in trials] == list(range(len(trials)))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) == 2, workers  # both processes contributed trials
    run_dirs = [t.user_attrs["run_dir"] for t in trials]
    assert len(set(run_dirs)) == len(trials)
    for where in run_dirs:  # each trial's run trained once, by one worker
        events = read_events(folder / where / "events.jsonl")
        starts = [e for e in events if e["type"] == "status" and e.get("message") == "starting"]
        assert len(starts) == 1, where
    best = max(trials, key=lambda t: t.value)
    assert study.best_trial.number == best.number
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["best_trial"] == best.number
    assert summary["best_value"] == pytest.approx(best.value)
    assert f"best: trial {best.number}" in out
