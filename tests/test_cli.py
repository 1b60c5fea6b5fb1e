"""The ``workbench`` command: exit codes, one-line errors, and train → predict → eval → resume.

Most cases call :func:`workbench.cli.main` in-process (fast, output captured with capsys); a
few go through the real ``.venv/bin/workbench`` console script to prove the installed entry
point and its exit codes. The contract (PRODUCT.md, "Contracts"): a user error exits 2 with
exactly one ``error: …`` line on stderr naming the bad value and what is allowed, no
traceback, and it loses nothing: an earlier run in the same runs folder stays byte-identical.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from conftest import toy_frame

from workbench.cli import main

WORKBENCH = Path(sys.executable).with_name("workbench")  # the console script of this venv
LABELS = ["negative", "neutral", "positive"]


def write_csv(path: Path, n_per_class: int = 30) -> Path:
    toy_frame(n_per_class).to_csv(path, index=False)
    return path


def snapshot(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``root``: what "untouched" means."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run_main(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` with stdout/stderr captured (usable outside a function-scoped fixture)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


# ----------------------------------------------------------------------------- a finished run
@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: str) -> dict[str, Any]:
    """One real ``workbench train`` (tiny model, small CSV) inside ``runs/``, plus its output."""
    root = tmp_path_factory.mktemp("cli")
    csv = write_csv(root / "toy.csv")
    runs = root / "runs"
    run = runs / "first"
    rc, out, err = run_main(
        [
            "train",
            "--model",
            tiny_bert_dir,
            "--dataset",
            str(csv),
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--max-length",
            "32",
            "--lr",
            "1e-2",  # high enough that the tiny model learns something in one epoch
            "--device",
            "cpu",
            "--out",
            str(run),
            "--quiet",
            "--max-train-samples",
            "none",
            "--max-eval-samples",
            "none",
        ]
    )
    return {"root": root, "csv": csv, "runs": runs, "run": run, "rc": rc, "out": out, "err": err}


def test_train_exits_0_prints_the_run_and_writes_a_completed_summary(work: dict[str, Any]) -> None:
    assert work["rc"] == 0, work["err"]
    run = work["run"]
    assert f"run directory: {run}" in work["out"]
    printed = re.search(r"test macro-F1 (\d\.\d{4})", work["out"])
    assert printed, work["out"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["labels"] == LABELS
    assert float(printed.group(1)) == pytest.approx(summary["test_macro_f1"], abs=1e-4)
    assert (run / "model" / "config.json").is_file()
    assert "Traceback" not in work["err"]


def test_predict_returns_a_label_per_text(work: dict[str, Any], capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    texts = tmp_path / "texts.txt"
    texts.write_text("the worst, awful day\n\nmonday report on the table\n", encoding="utf-8")
    argv = ["predict", "--run", str(work["run"]), "--text", "I love this, great", "--json"]
    rc = main([*argv, "--file", str(texts)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    preds = json.loads(out)
    # --text first, then the file's non-blank lines, in order
    assert [p["text"] for p in preds] == [
        "I love this, great",
        "the worst, awful day",
        "monday report on the table",
    ]
    for p in preds:
        assert p["label"] in LABELS
        assert sorted(p["probs"]) == LABELS
        assert sum(p["probs"].values()) == pytest.approx(1.0, abs=1e-5)
        assert p["confidence"] == pytest.approx(max(p["probs"].values()))


def test_eval_reproduces_the_test_metrics_of_the_summary(work: dict[str, Any], capsys) -> None:  # type: ignore[no-untyped-def]
    # eval re-prepares the data from the run's config.yaml, which names the CSV: same split.
    summary = json.loads((work["run"] / "summary.json").read_text())
    rc = main(["eval", "--run", str(work["run"])])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert re.search(r"accuracy \d\.\d{4}\s+macro-F1 \d\.\d{4}", out), out
    for label in LABELS:
        assert re.search(rf"^{label}\s", out, re.MULTILINE), out
    rc = main(["eval", "--run", str(work["run"]), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    metrics = json.loads(out)
    assert metrics["accuracy"] == pytest.approx(summary["test_accuracy"], abs=1e-6)
    assert metrics["macro_f1"] == pytest.approx(summary["test_macro_f1"], abs=1e-6)


# ----------------------------------------------------------------------------- catalog listings
def test_models_lists_the_packaged_model_as_available(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^minilm-l6\s+yes\s+22\.7M", out, re.MULTILINE), out


def test_models_json_parses(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    minilm = rows["minilm-l6"]
    assert minilm["available"] is True
    assert minilm["parameters"] == 22_713_216
    assert (Path(minilm["location"]) / "config.json").is_file()


def test_datasets_lists_tweets_sentiment(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^tweets-sentiment\s+available\b", out, re.MULTILINE), out
    assert main(["datasets", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["tweets-sentiment"]["available"] is True
    assert rows["tweets-sentiment"]["class_names"] == LABELS


# ----------------------------------------------------------------------------- user errors
@pytest.fixture(scope="module")
def bad(work: dict[str, Any]) -> dict[str, str]:
    """Broken inputs of every kind, and the values the argv templates below refer to."""
    d = work["root"] / "bad"
    d.mkdir()
    (d / "folder").mkdir()
    (d / "empty.csv").write_bytes(b"")
    (d / "data.xlsx").write_bytes(b"PK\x03\x04 not really a spreadsheet")
    (d / "unterminated.csv").write_text('text,label\n"good day,positive\nbad day,negative\n')
    (d / "latin1.csv").write_bytes(
        "text,label\nun été chaud,positive\nbad,negative\n".encode("latin-1")
    )
    good = [
        (f"text number {i} {'great' if i % 2 else 'awful'}", "pos" if i % 2 else "neg")
        for i in range(30)
    ]
    (d / "good.csv").write_text(
        "text,label\n" + "".join(f"{t},{y}\n" for t, y in good), encoding="utf-8"
    )
    (d / "one_class.csv").write_text(
        "text,label\n" + "".join(f"hello {i},positive\n" for i in range(20)), encoding="utf-8"
    )
    # Only links: the URL step empties every text, then 'drop empty' removes every row.
    (d / "only_urls.csv").write_text(
        "text,label\n" + "".join(f"http://example.com/{i},{'ab'[i % 2]}\n" for i in range(20)),
        encoding="utf-8",
    )
    # Two long string columns of similar length and no telling names: which is the text?
    (d / "two_texts.csv").write_text(
        "a,b,c\n"
        + "".join(f"some text here {i},other text there {i},{'xy'[i % 2]}\n" for i in range(20)),
        encoding="utf-8",
    )
    # A text column and a column of unique ids: nothing looks like a label.
    (d / "no_label.csv").write_text(
        "text,id\n" + "".join(f"a sentence number {i},{i}\n" for i in range(20)), encoding="utf-8"
    )
    config_only = d / "config_only_model"
    config_only.mkdir()
    (config_only / "config.json").write_text(
        (Path(work["run"]) / "model" / "config.json").read_text()
    )
    weights_only = d / "weights_only_model"
    weights_only.mkdir()
    (weights_only / "model.safetensors").write_bytes(
        (Path(work["run"]) / "model" / "model.safetensors").read_bytes()
    )
    (d / "unknown_key.yaml").write_text("optim:\n  lrr: 0.1\n")
    (d / "wrong_type.yaml").write_text("optim:\n  batch_size: abc\n")
    (d / "invalid.yaml").write_text("optim: [\n  lr: 1\n")
    (d / "not_a_run").mkdir()
    no_checkpoints = d / "no_checkpoints"
    no_checkpoints.mkdir()
    (no_checkpoints / "config.yaml").write_text((Path(work["run"]) / "config.yaml").read_text())
    return {"d": str(d), "run": str(work["run"]), "runs": str(work["runs"])}


# Every failing `train` below runs with the finished run's runs folder (and no --out), so a
# command that wrote anything there — a new run directory, a touched file — is caught.
TRAIN = ["train", "--model", "{tiny}", "--device", "cpu", "--quiet", "--runs-dir", "{runs}"]
GOOD = [*TRAIN, "--dataset", "{d}/good.csv"]
USER_ERROR_CASES = [
    # -- data: each fails while reading or preparing, before any model loads or step runs
    (
        "missing data file",
        [*TRAIN, "--dataset", "{d}/nope.csv"],
        ["data file not found", "nope.csv"],
    ),
    ("directory as data file", [*TRAIN, "--dataset", "{d}/folder"], ["folder", "is a folder"]),
    ("empty file", [*TRAIN, "--dataset", "{d}/empty.csv"], ["empty.csv", "is empty"]),
    (
        "unsupported extension",
        [*TRAIN, "--dataset", "{d}/data.xlsx"],
        ["'.xlsx'", ".csv", ".jsonl", ".parquet"],
    ),
    (
        "unterminated quote",
        [*TRAIN, "--dataset", "{d}/unterminated.csv"],
        ["unterminated.csv", "unterminated quote", "line 2"],
    ),
    ("not utf-8", [*TRAIN, "--dataset", "{d}/latin1.csv"], ["latin1.csv", "not UTF-8", "0xe9"]),
    (
        "unknown text column",
        [*GOOD, "--text-column", "body"],
        ["text_column 'body'", "'text', 'label'"],
    ),
    (
        "unknown label column",
        [*GOOD, "--label-column", "klass"],
        ["label_column 'klass'", "'text', 'label'"],
    ),
    (
        "ambiguous text column",
        [*TRAIN, "--dataset", "{d}/two_texts.csv"],
        ["cannot tell which column holds the text", "'a'", "'b'", "text_column"],
    ),
    (
        "undetectable label column",
        [*TRAIN, "--dataset", "{d}/no_label.csv"],
        ["cannot tell which column holds the label", "'id'", "label_column"],
    ),
    (
        "one class only",
        [*TRAIN, "--dataset", "{d}/one_class.csv"],
        ["fewer than 2 classes", "'positive'"],
    ),
    (
        "empty after cleaning",
        [*TRAIN, "--dataset", "{d}/only_urls.csv"],
        ["no rows left after cleaning", "drop empty"],
    ),
    # -- hyperparameters out of range: the setting, its allowed range, the bad value
    ("lr too high", [*GOOD, "--lr", "5"], ["lr must be in (0.0, 1.0]", "5"]),
    ("lr zero", [*GOOD, "--lr", "0"], ["lr must be in (0.0, 1.0]", "got 0"]),
    ("batch size zero", [*GOOD, "--batch-size", "0"], ["batch_size must be in [1, 1024]", "got 0"]),
    ("negative epochs", [*GOOD, "--epochs", "-1"], ["epochs must be in [0.05, 100.0]", "-1"]),
    ("dropout above range", [*GOOD, "--dropout", "1.2"], ["dropout must be in [0.0, 0.9]", "1.2"]),
    (
        "label smoothing above range",
        [*GOOD, "--label-smoothing", "0.9"],
        ["label_smoothing must be in [0.0, 0.5]", "0.9"],
    ),
    (
        "negative weight decay",
        [*GOOD, "--weight-decay", "-1"],
        ["weight_decay must be in [0.0, 1.0]", "-1"],
    ),
    (
        "lora rank zero",
        [*GOOD, "--method", "lora", "--lora-r", "0"],
        ["lora_r must be in [1, 256]", "got 0"],
    ),
    (
        "max length too small",
        [*GOOD, "--max-length", "2"],
        ["max_length must be in [8, 4096]", "got 2"],
    ),
    # -- wrong types: caught by the parser, naming the flag
    ("lr not a number", [*GOOD, "--lr", "abc"], ["--lr", "expected a number", "'abc'"]),
    (
        "batch size not whole",
        [*GOOD, "--batch-size", "3.5"],
        ["--batch-size", "whole number", "'3.5'"],
    ),
    ("unknown method", [*GOOD, "--method", "prefix"], ["'prefix'", "full", "lora", "ia3"]),
    # -- models
    (
        "unknown model offline",
        [*GOOD, "--model", "no-such-org/no-such-model"],
        ["'no-such-org/no-such-model'", "HF_HUB_OFFLINE", "minilm-l6"],
    ),
    (
        "model dir without weights",
        [*GOOD, "--model", "{d}/config_only_model"],
        ["config_only_model", "no weights", "model.safetensors"],
    ),
    (
        "model dir without config",
        [*GOOD, "--model", "{d}/weights_only_model"],
        ["weights_only_model", "no config.json"],
    ),
    # -- config files
    (
        "config file missing",
        ["train", "--config", "{d}/nope.yaml"],
        ["config file not found", "nope.yaml"],
    ),
    (
        "config unknown key",
        ["train", "--config", "{d}/unknown_key.yaml"],
        ["unknown setting 'lrr'", "section 'optim'", "did you mean 'lr'"],
    ),
    (
        "config wrong type",
        ["train", "--config", "{d}/wrong_type.yaml"],
        ["batch_size must be a number", "'abc'"],
    ),
    (
        "config invalid yaml",
        ["train", "--config", "{d}/invalid.yaml"],
        ["invalid.yaml", "not valid YAML"],
    ),
    # -- run directories
    (
        "resume a non-run",
        ["train", "--resume", "{d}/not_a_run"],
        ["not_a_run", "not a run directory"],
    ),
    (
        "resume without checkpoints",
        ["train", "--resume", "{d}/no_checkpoints"],
        ["no_checkpoints", "no checkpoint to resume from"],
    ),
    (
        "predict on a non-run",
        ["predict", "--run", "{d}/not_a_run", "--text", "hi"],
        ["not_a_run", "not a run directory"],
    ),
    (
        "predict without texts",
        ["predict", "--run", "{run}"],
        ["nothing to predict", "--text", "--file"],
    ),
    ("eval of a missing run", ["eval", "--run", "{d}/nope"], ["run directory not found", "nope"]),
    ("eval without --run", ["eval"], ["--run", "required"]),
    # -- usage
    ("unknown subcommand", ["frobnicate"], ["'frobnicate'", "train", "predict"]),
    ("unknown flag", [*GOOD, "--frobnicate", "3"], ["--frobnicate", "workbench train --help"]),
]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [pytest.param(argv, expected, id=name) for name, argv, expected in USER_ERROR_CASES],
)
def test_user_error_exits_2_with_one_line_and_loses_nothing(
    argv: list[str], expected: list[str], bad: dict[str, str], tiny_bert_dir: str, capsys
) -> None:  # type: ignore[no-untyped-def]
    runs = Path(bad["runs"])
    before = snapshot(runs)
    rc = main([a.format(tiny=tiny_bert_dir, **bad) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in err
    # The earlier run is byte-identical and no new run directory appeared: a typo costs nothing.
    assert snapshot(runs) == before


# ----------------------------------------------------------------------------- resume
def csv_run_config(tiny_bert_dir: str, tmp_path: Path, run: Path):  # type: ignore[no-untyped-def]
    """A 27-step run of the tiny model on a CSV file (commands that re-read the data from
    config.yaml need a file, not a DataFrame), evaluated and checkpointed every 2 steps."""
    from workbench import TrainConfig

    return TrainConfig().replace(
        model=tiny_bert_dir,
        dataset=str(write_csv(tmp_path / "toy.csv")),
        max_train_samples=None,
        max_eval_samples=None,
        epochs=3.0,
        batch_size=8,
        lr=1e-2,
        max_length=32,
        eval_every=2,
        device="cpu",
        out=str(run),
        runs_dir=str(tmp_path / "runs"),
    )


def test_resume_completes_a_stopped_run(tiny_bert_dir: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from workbench import train

    run = tmp_path / "run"
    cfg = csv_run_config(tiny_bert_dir, tmp_path, run)  # 27 steps: resume re-reads the CSV
    handle = train(cfg)
    deadline = time.time() + 120
    while not any(e["type"] == "checkpoint" for e in handle.history):
        assert not handle.done, handle.summary
        assert time.time() < deadline, "no checkpoint within 120 s"
        time.sleep(0.02)
    handle.stop()
    handle.wait(120)
    assert handle.status == "stopped", handle.summary
    stopped = json.loads((run / "summary.json").read_text())
    assert stopped["status"] == "stopped"
    assert stopped["steps"] < stopped["total_steps"]

    rc = main(["train", "--resume", str(run), "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "status: completed" in out
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["steps"] == summary["total_steps"]
    assert summary["test_macro_f1"] is not None
    # The loss curve continues where it stopped: every step once, none repeated or skipped.
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    steps = [e["step"] for e in events if e["type"] == "step"]
    assert steps == list(range(1, summary["total_steps"] + 1))


def test_an_old_style_stopped_run_evaluates_predicts_and_explains(
    tiny_bert_dir: str, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    """A run stopped by an older version (status stopped, no model/, no test metrics):
    eval, predict and explain use its best checkpoint and say so on stderr."""
    import shutil

    from workbench import train

    run = tmp_path / "run"
    cfg = csv_run_config(tiny_bert_dir, tmp_path, run)  # eval re-reads the CSV
    handle = train(cfg)
    while not any(e["type"] == "checkpoint" and e["kind"] == "best" for e in handle.history):
        assert not handle.done, handle.summary
        time.sleep(0.02)
    handle.stop()
    handle.wait(120)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "stopped"
    tested = {k: summary.pop(k) for k in list(summary) if k.startswith("test_")}
    assert tested["test_accuracy"] is not None
    # what an older version left: no export, no test results
    shutil.rmtree(run / "model")
    (run / "test_predictions.jsonl").unlink()
    (run / "summary.json").write_text(json.dumps(summary))
    capsys.readouterr()

    assert main(["eval", "--run", str(run), "--json"]) == 0
    out, err = capsys.readouterr()
    metrics = json.loads(out)
    # the best checkpoint is what the current version tests: the same numbers
    assert metrics["accuracy"] == pytest.approx(tested["test_accuracy"], abs=1e-6)
    assert metrics["macro_f1"] == pytest.approx(tested["test_macro_f1"], abs=1e-6)
    best = summary["best_step"]
    assert f"note: run {run} has no exported model/" in err
    assert f"checkpoints/best from step {best}" in err
    assert main(["predict", "--run", str(run), "--text", "great love", "--json"]) == 0
    out, err = capsys.readouterr()
    (pred,) = json.loads(out)
    assert pred["label"] in LABELS and "checkpoints/best" in err
    rc = main(["explain", "--run", str(run), "--text", "great love", "--no-trust", "--top", "2"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "prediction:" in out and "checkpoints/best" in err


# ----------------------------------------------------------------------------- console script
def _console(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert WORKBENCH.is_file(), f"console script missing: {WORKBENCH} (pip install -e .)"
    # cwd: a command that wrongly got as far as making runs/ does it in a temp folder.
    return subprocess.run(
        [str(WORKBENCH), *args], cwd=cwd, capture_output=True, text=True, timeout=180, check=False
    )


def test_console_script_succeeds_with_exit_0(tmp_path: Path) -> None:
    proc = _console(tmp_path, "models", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "minilm-l6" in {r["name"] for r in json.loads(proc.stdout)}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["train", "--lr", "5"], "lr must be in (0.0, 1.0]"),
        (["train", "--dataset", "/nonexistent/data.csv", "--quiet"], "data file not found"),
    ],
    ids=["bad-hyperparameter", "missing-data-file"],
)
def test_console_script_user_error_exits_2_with_one_line(
    args: list[str], expected: str, tmp_path: Path
) -> None:
    proc = _console(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert expected in lines[0]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []  # failed before creating anything
