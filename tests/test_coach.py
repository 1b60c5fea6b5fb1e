"""Conformance test of the coach: every registered check fires on a constructed case and is
silent on a healthy one, and every change it proposes is a valid setting.

Adding a check = one file in ``workbench/coach/`` + one line in ``CHECKS`` + one row in
``CASES`` below (the test fails for a check without a row). The end-to-end tests (the
engine runs pre-flight before step 1 and writes the diagnosis to ``summary.json``; the CLI
prints warnings and exits 0, or 2 on an error) and the no-false-alarm test on the default
demo follow.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from workbench.coach import (
    CHECKS,
    Finding,
    PreflightFacts,
    RunFacts,
    combined_changes,
    describe,
    diagnose,
    preflight,
)
from workbench.coach.base import accuracy_interval_width, setting_flag
from workbench.config import TrainConfig
from workbench.data.prepared import PreparedData, Split

LABELS = ["a", "b", "c"]
ROOT = Path(__file__).resolve().parent.parent
DEMO_RUN = ROOT / "bench" / "results" / "demo-2026-12-05"


# -- constructed data and runs ----------------------------------------------------------
def words(i: int, rng: random.Random) -> str:
    vocab = ["red", "blue", "green", "cat", "dog", "sun", "rain", "tree", "car", "book"]
    return f"text {i} " + " ".join(rng.choice(vocab) for _ in range(6)) + f" {i * 7919}"


def split(n: int, start: int, counts: list[int] | None = None, **extra: Any) -> Split:
    rng = random.Random(start)
    counts = counts or [n // 3 + (1 if i < n % 3 else 0) for i in range(3)]
    labels = [k for k, c in enumerate(counts) for _ in range(c)]
    return Split([words(start + i, rng) for i in range(len(labels))], labels, **extra)


def data(
    train: Split | None = None,
    val: Split | None = None,
    test: Split | None = None,
    cleaning: list[dict[str, Any]] | None = None,
) -> PreparedData:
    train = train or split(600, 0)
    val, test = val or split(150, 10_000), test or split(150, 20_000)
    splits = {"train": train, "val": val, "test": test}
    rows = sum(len(s) for s in splits.values())
    return PreparedData(
        train=train,
        val=val,
        test=test,
        labels=LABELS,
        text_column="text",
        label_column="label",
        cleaning=cleaning
        or [{"step": "drop duplicates", "removed": 3, "changed": 0, "rows_after": rows}],
        balance={
            name: {LABELS[k]: s.labels.count(k) for k in range(3)} for name, s in splits.items()
        },
        source="constructed",
    )


def pre(
    config: TrainConfig | None = None, d: PreparedData | None = None, **facts: Any
) -> PreflightFacts:
    return PreflightFacts(config=config or TrainConfig(), data=d or data(), **facts)


def run(
    losses: list[float],
    *,
    evals: list[float] | None = None,
    every: int = 10,
    summary: dict[str, Any] | None = None,
    grad: Callable[[int], float] = lambda i: 1.0,
    config: TrainConfig | None = None,
    balance: dict[str, int] | None = None,
) -> RunFacts:
    """A run's facts from per-step losses and the validation losses of every ``every`` steps."""
    events: list[dict[str, Any]] = [
        {"type": "setup", "train_size": 600, "total_steps": len(losses), "steps_per_epoch": 20}
    ]
    evals = list(evals or [])
    for i, loss in enumerate(losses, start=1):
        events.append({"type": "step", "step": i, "loss": loss, "grad_norm": grad(i)})
        if i % every == 0 and evals:
            events.append({"type": "eval", "step": i, "val_loss": evals.pop(0)})
    base = {"status": "completed", "test_accuracy": 0.9, "test_macro_f1": 0.9}
    base.update(summary or {})
    base.setdefault("total_steps", len(losses))
    return RunFacts(config or TrainConfig(), events, base, balance or {"a": 50, "b": 50, "c": 50})


def falling(n: int = 60, start: float = 1.1, end: float = 0.3) -> list[float]:
    """A loss that falls fast and then flattens (exponential), with no noise."""
    return [end + (start - end) * math.exp(-6 * i / n) for i in range(n)]


def long_lengths(share: float, n: int = 600) -> list[int]:
    cut = int(share * n)
    return [300] * cut + [60] * (n - cut)


# name -> (a case it must fire on, a healthy case it must stay silent on)
CASES: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
    "cleaning": (
        lambda: pre(
            d=data(
                cleaning=[
                    {"step": "drop missing labels", "removed": 0, "changed": 0, "rows_after": 1800},
                    {"step": "drop duplicates", "removed": 900, "changed": 0, "rows_after": 900},
                ]
            )
        ),
        lambda: pre(),
    ),
    "steps": (
        lambda: pre(
            TrainConfig().replace(method="lora"),
            data(train=split(92, 0), val=split(12, 1), test=split(12, 2)),
        ),
        lambda: pre(TrainConfig().replace(method="lora", batch_size=8, epochs=6.0)),
    ),
    "balance": (
        lambda: pre(
            TrainConfig().replace(early_stopping_metric="val_accuracy"),
            data(train=split(600, 0, [540, 55, 5])),
        ),
        lambda: pre(),
    ),
    "eval-size": (lambda: pre(d=data(val=split(30, 1), test=split(30, 2))), lambda: pre()),
    "truncation": (
        lambda: pre(lengths=long_lengths(0.3), max_positions=512),
        lambda: pre(lengths=long_lengths(0.01), max_positions=512),
    ),
    "leakage": (
        lambda: pre(d=_leaky()),
        lambda: pre(),
    ),
    "label-noise": (
        lambda: pre(d=data(train=split(600, 0, confidence=[0.34] * 200 + [1.0] * 400))),
        lambda: pre(d=data(train=split(600, 0, confidence=[0.34] * 20 + [1.0] * 580))),
    ),
    "memory": (
        lambda: pre(
            TrainConfig().replace(batch_size=1024, max_length=4096),
            parameters=7_000_000_000,
            trainable=7_000_000_000,
            hidden_size=4096,
            num_layers=32,
        ),
        lambda: pre(parameters=22_713_216, trainable=22_713_216, hidden_size=384, num_layers=6),
    ),
    "chance": (
        lambda: run(falling(), summary={"test_accuracy": 0.35, "test_macro_f1": 0.2}),
        lambda: run(falling()),
    ),
    "underfitting": (
        lambda: run([1.1 - 0.001 * i for i in range(60)]),
        lambda: run(falling()),
    ),
    "overfitting": (
        lambda: run(falling(), evals=[0.8, 0.6, 0.5, 0.55, 0.62, 0.7]),
        lambda: run(falling(), evals=[0.8, 0.6, 0.5, 0.45, 0.44, 0.43]),
    ),
    "instability": (
        lambda: run(
            [v + (3.0 if i == 40 else 0.0) for i, v in enumerate(falling())],
            grad=lambda i: 80.0 if i == 45 else 1.0,
        ),
        lambda: run(falling()),
    ),
    "early-stop": (
        lambda: run(
            falling(30),
            evals=[0.5, 0.6, 0.7],
            summary={"early_stopped": True, "best_step": 10},
            config=TrainConfig().replace(early_stopping=2),
        ),
        lambda: run(
            falling(30),
            evals=[0.6, 0.5, 0.55],
            summary={"early_stopped": True, "best_step": 20},
            config=TrainConfig().replace(early_stopping=1),
        ),
    ),
}


def _leaky() -> PreparedData:
    train = split(600, 0)
    copied = [t.upper() + "!" for t in train.texts[:40]]  # same words, other case and punctuation
    test = split(150, 20_000)
    return data(train=train, test=Split(copied + test.texts[40:], test.labels))


# -- conformance ---------------------------------------------------------------------------
def test_every_check_has_a_case() -> None:
    assert set(CHECKS) == set(CASES), "add a row to CASES for each registered check"


@pytest.mark.parametrize("name", list(CHECKS))
def test_check_fires_on_its_case_and_not_on_a_healthy_one(name: str) -> None:
    check = CHECKS[name]
    bad, healthy = CASES[name]
    found = check.run(bad())
    assert found, f"{name} did not fire on its constructed case"
    assert check.run(healthy()) == [], f"{name} fired on a healthy case"
    for f in found:
        assert f.check == name and f.stage == check.stage
        assert any(ch.isdigit() for ch in f.message), f"{name}: no numbers in {f.message!r}"
        assert f.why and "\n" not in f.message
        facts = bad()
        changed = f.apply(facts.config)  # every proposed change is a valid setting
        flat = changed.flat()
        assert all(flat[k] == v for k, v in f.changes.items())


def test_steps_fix_reaches_the_steps_the_method_needs() -> None:
    """The issue's case: 92 rows, LoRA at batch 32 × 3 epochs is 9 steps; the fix lowers
    the batch size (not below 8), then adds epochs, until the method's steps are reached."""
    facts = CASES["steps"][0]()
    (finding,) = CHECKS["steps"].run(facts)
    assert "only 9 optimizer steps" in finding.message
    assert finding.changes["batch_size"] == 8
    fixed = pre(finding.apply(facts.config), facts.data)
    assert CHECKS["steps"].run(fixed) == []
    assert fixed.planned_steps()[1] >= 60


def test_a_lower_rate_needs_more_steps() -> None:
    small = data(train=split(92, 0), val=split(12, 1), test=split(12, 2))
    base = pre(TrainConfig().replace(method="lora", batch_size=8, epochs=6.0), small)
    assert CHECKS["steps"].run(base) == []  # 12 steps per epoch × 6 = 72 ≥ 60
    slow = pre(TrainConfig().replace(method="lora", batch_size=8, epochs=6.0, lr=2.5e-4), small)
    assert CHECKS["steps"].run(slow), "lr 4x below LoRA's default should need 4x the steps"


def test_interval_width_matches_the_wilson_formula() -> None:
    # Wilson 95 % at p = 0.5: n = 32 → [0.336, 0.664]; n = 1000 → ±0.031
    assert accuracy_interval_width(32) == pytest.approx(0.328, abs=0.003)
    assert accuracy_interval_width(1000) == pytest.approx(0.062, abs=0.001)
    finding = CHECKS["eval-size"].run(CASES["eval-size"][0]())[0]
    assert "30 examples is 0.34 wide (±0.17)" in finding.message


def test_findings_round_trip_and_read_as_flags() -> None:
    f = Finding("steps", "warning", "only 9 steps", "why", "fix", {"batch_size": 8, "epochs": 5.0})
    assert Finding.from_dict(json.loads(json.dumps(f.to_dict()))) == f
    assert f.flags() == "--batch-size 8 --epochs 5"
    assert setting_flag("drop_duplicates", True) == "--drop-duplicates"
    assert setting_flag("strip_urls", False) == "--no-strip-urls"
    lines = describe(f.to_dict())
    assert (
        lines[0] == "warning: only 9 steps"
        and lines[-1] == "  fix: fix (--batch-size 8 --epochs 5)"
    )
    other = Finding("chance", "warning", "m", "w", "", {"batch_size": 16, "lr": 0.003})
    assert combined_changes([f, other]) == {"batch_size": 8, "epochs": 5.0, "lr": 0.003}
    with pytest.raises(ValueError, match="severity"):
        Finding("x", "fatal", "m", "w")


def test_preflight_and_diagnose_sort_errors_first() -> None:
    cfg = TrainConfig().replace(method="lora", batch_size=1024, max_length=4096)
    found = preflight(
        cfg,
        data(train=split(92, 0), val=split(12, 1), test=split(12, 2)),
        parameters=7_000_000_000,
        trainable=7_000_000_000,
        hidden_size=4096,
        num_layers=32,
    )
    assert [f.severity for f in found][0] == "error"
    assert {f.check for f in found} >= {"memory", "steps", "eval-size"}
    assert diagnose(TrainConfig(), run(falling()).events, run(falling()).summary) == []


# -- in the engine and the CLI -------------------------------------------------------------
def test_the_engine_checks_before_step_1_and_writes_the_findings(tiny_config, toy_data) -> None:  # type: ignore[no-untyped-def]
    """Too few steps for the method: the pre-flight finding is an event before the first
    step, and summary.json carries it with the diagnosis."""
    from workbench import train

    handle = train(tiny_config.replace(epochs=1.0, batch_size=32), data=toy_data, block=True)
    assert handle.summary is not None and handle.summary["status"] == "completed"
    kinds = [(e["type"], e.get("stage")) for e in handle.history]
    first_step = kinds.index(("step", None))
    assert kinds.index(("findings", "preflight")) < kinds.index(("setup", None)) < first_step
    assert ("findings", "diagnosis") in kinds[first_step:]
    written = json.loads((Path(tiny_config.run.out) / "summary.json").read_text())
    steps = [f for f in written["findings"] if f["check"] == "steps"]
    assert steps and steps[0]["stage"] == "preflight"
    assert "only 4 optimizer steps" in steps[0]["message"]  # 120 rows / 32 = 4 per epoch
    assert steps[0]["changes"]["batch_size"] == 8


def _cli(argv: list[str]) -> tuple[int, str, str]:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from workbench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def _train_argv(tiny_bert_dir: str, tmp_path: Path) -> list[str]:
    from conftest import toy_frame

    csv = tmp_path / "toy.csv"
    toy_frame().to_csv(csv, index=False)
    return [
        "train", "--model", tiny_bert_dir, "--dataset", str(csv), "--epochs", "1",
        "--batch-size", "32", "--max-length", "32", "--lr", "1e-2", "--device", "cpu",
        "--max-train-samples", "none", "--max-eval-samples", "none", "--quiet",
        "--out", str(tmp_path / "run"),
    ]  # fmt: skip


def test_cli_prints_warnings_with_flags_and_exits_0(tiny_bert_dir: str, tmp_path: Path) -> None:
    rc, out, err = _cli(_train_argv(tiny_bert_dir, tmp_path))
    assert rc == 0, err
    assert "warning: only 4 optimizer steps" in err  # before step 1, even with --quiet
    assert "  fix: train for 30 steps (--batch-size 8 --epochs 2)" in err
    assert "plan:" not in err  # --quiet: no progress, only what needs saying


def test_cli_error_finding_exits_2_before_training(
    tiny_bert_dir: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error finding stops the run before its first step with the usual one line."""
    import workbench.coach.memory as memory

    monkeypatch.setattr(memory, "device_memory", lambda device: (10**6, 10**6))  # 1 MB box
    rc, out, err = _cli(_train_argv(tiny_bert_dir, tmp_path))
    assert rc == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "training needs about" in lines[0] and "--batch-size 16" in lines[0]
    events = (tmp_path / "run" / "events.jsonl").read_text() if (tmp_path / "run").exists() else ""
    assert '"type": "step"' not in events


def test_no_check_fires_on_the_default_demo() -> None:
    """No false alarms: pre-flight on the demo's config and data (real tokenizer lengths,
    the model's real size), and the diagnosis of a recorded ``make demo`` run, say nothing."""
    from workbench.coach import token_lengths
    from workbench.models.loading import load_tokenizer, resolve_model
    from workbench.training.session import prepare_task_data

    cfg = TrainConfig.load(DEMO_RUN / "config.yaml")
    assert cfg.replace(out=None) == TrainConfig().resolved()  # the demo is the default config
    d = prepare_task_data(cfg)
    tokenizer = load_tokenizer(resolve_model(cfg.model.model))
    found = preflight(
        cfg,
        d,
        lengths=token_lengths(tokenizer, d),
        max_positions=512,
        parameters=22_714_371,
        trainable=22_714_371,
        hidden_size=384,
        num_layers=6,
    )
    assert found == [], [f.line() for f in found]
    events = [json.loads(line) for line in (DEMO_RUN / "events.jsonl").read_text().splitlines()]
    summary = json.loads((DEMO_RUN / "summary.json").read_text())
    assert summary["steps"] == 375 and summary["status"] == "completed"
    assert summary["findings"] == []  # what the engine itself said at the end of the run
    found = diagnose(cfg, events, summary, d.balance["test"])
    assert found == [], [f.line() for f in found]


def test_cli_check_reports_without_training(tiny_bert_dir: str, tmp_path: Path) -> None:
    argv = _train_argv(tiny_bert_dir, tmp_path)
    argv = ["check", *[a for a in argv[1:] if a != "--quiet"]]
    rc, out, err = _cli(argv)
    assert rc == 0, err
    assert "plan: 120 train · 15 val · 15 test rows; 4 steps per epoch, 4 steps in all" in out
    assert "warning: only 4 optimizer steps" in out
    assert not (tmp_path / "run").exists()  # nothing trained, nothing written


def test_instability_judges_gradient_norms_against_recent_steps_and_the_clip() -> None:
    """A converged run's norms shrink to ~0.05; an ordinary early norm of 1.7 is no
    explosion (seen as a false alarm with a run-wide median), 50 is."""

    def norms(peak: float) -> Callable[[int], float]:
        return lambda i: peak if i == 24 else (1.0 if i < 20 else 0.05)

    assert CHECKS["instability"].run(run(falling(), grad=norms(1.7))) == []
    (finding,) = CHECKS["instability"].run(run(falling(), grad=norms(50.0)))
    assert "gradient norm up to 50 at step 24" in finding.message
