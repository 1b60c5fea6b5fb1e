"""The bad-input corpus: broken files, labels, settings, models and run folders.

Every case ends in a clear, specific message (what was wrong, what is allowed), and loses
nothing: an earlier run in the same runs folder stays byte-identical. Three ways in:

* the command line (:func:`workbench.cli.main` in-process): exit code 2, exactly one
  ``error: …`` line on stderr, no traceback;
* the Python API (``prepare_data``, ``TrainConfig``, ``train``, ``load_run`` …): the
  engine's own exception type with the same message;
* the widgets (DataPanel, the Workbench's Train): the message shown in the panel, never
  raised into the notebook.

``tests/test_cli.py`` holds 39 more CLI cases (missing/empty/non-UTF-8 files, unknown
columns, YAML errors, unknown models …); this file adds what the reliability issue lists
beyond them, and sweeps *every* numeric setting out of its declared range through both the
CLI and the API, straight from the config metadata.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import toy_frame

from workbench.cli import main
from workbench.config import ConfigError, TrainConfig, all_fields
from workbench.errors import DataError, ModelError, RunError, UserError

BIG_TEXT_BYTES = 10 * 1024 * 1024


def snapshot(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``root``: what "untouched" means."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def rows(n: int, text: Callable[[int], str], label: Callable[[int], str]) -> str:
    return "".join(f"{text(i)},{label(i)}\n" for i in range(n))


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: str) -> dict[str, Any]:
    """Broken inputs of every kind, next to one finished run in ``runs/``."""
    from workbench import train

    root = tmp_path_factory.mktemp("bad-input")
    d = root / "bad"
    d.mkdir()
    good_csv = root / "good.csv"
    toy_frame(10).to_csv(good_csv, index=False)
    runs = root / "runs"
    run = runs / "finished"
    cfg = TrainConfig().replace(
        model=tiny_bert_dir,
        dataset=str(good_csv),
        max_train_samples=None,
        max_eval_samples=None,
        epochs=1.0,
        batch_size=8,
        max_length=32,
        device="cpu",
        out=str(run),
        runs_dir=str(runs),
    )
    handle = train(cfg, block=True)
    assert handle.status == "completed", handle.summary

    two = lambda i: "ab"[i % 2]  # noqa: E731 - a label per row, alternating
    (d / "readable.csv").write_text("text,label\n" + rows(30, lambda i: f"hi {i}", two))
    (d / "semicolons.tsv").write_text("text;label\n" + rows(30, lambda i: f"hi {i}", two))
    (d / "empty_labels.csv").write_text(
        "text,label\n" + "".join(f"hello {i},\n" for i in range(30))
    )
    (d / "nan_labels.csv").write_text(
        "text,label\n" + "".join(f"hello {i},{'' if i % 3 else 1}\n" for i in range(30))
    )
    (d / "duplicate_columns.csv").write_text(
        "text,label,text\n" + "".join(f"a {i},{two(i)},b {i}\n" for i in range(30))
    )
    (d / "numeric_texts.csv").write_text("text,label\n" + rows(30, lambda i: f"{i * 1.5}", two))
    (d / "latin1_predict.txt").write_bytes("un été chaud\n".encode("latin-1"))
    (d / "latin1.yaml").write_bytes("optim:\n  lr: 0.001 # réglé\n".encode("latin-1"))
    (d / "list.yaml").write_text("- lr\n- 0.1\n")
    (d / "misplaced.yaml").write_text("model:\n  lr: 0.001\n")
    (d / "bool_type.yaml").write_text("data:\n  strip_urls: maybe\n")
    (d / "str_type.yaml").write_text("model:\n  method: 3\n")
    (d / "lora_full.yaml").write_text("model:\n  method: full\n")
    (d / "a_file.txt").write_text("not a run\n")
    (d / "not_a_run").mkdir()
    (d / "not_a_run" / "notes.txt").write_text("some files, but no config.yaml\n")
    # The finished run's data with a fourth class added: its test split has a label the
    # model never saw in training.
    frame = toy_frame(10)
    extra = pd.DataFrame({"text": [f"surprise {i} wow" for i in range(12)], "label": "surprise"})
    pd.concat([frame, extra]).to_csv(d / "with_new_class.csv", index=False)
    unseen = root / "unseen_run"
    unseen.mkdir()
    for item in run.iterdir():
        target = unseen / item.name
        if item.is_file():
            target.write_bytes(item.read_bytes())
        elif item.name == "model":
            target.mkdir()
            for f in item.iterdir():
                (target / f.name).write_bytes(f.read_bytes())
    text = (unseen / "config.yaml").read_text()
    (unseen / "config.yaml").write_text(text.replace(str(good_csv), str(d / "with_new_class.csv")))
    return {"d": str(d), "runs": runs, "run": str(run), "unseen": str(unseen), "csv": good_csv}


def fmt(argv: list[str], corpus: dict[str, Any], tiny: str) -> list[str]:
    return [
        a.format(tiny=tiny, d=corpus["d"], runs=corpus["runs"], unseen=corpus["unseen"])
        for a in argv
    ]


# ----------------------------------------------------------------------------- the CLI
TRAIN = ["train", "--model", "{tiny}", "--device", "cpu", "--quiet", "--runs-dir", "{runs}"]
GOOD = [*TRAIN, "--dataset", "{d}/readable.csv"]

CLI_CASES: list[tuple[str, list[str], list[str]]] = [
    (
        "wrong delimiter",
        [*TRAIN, "--dataset", "{d}/semicolons.tsv"],
        ["semicolons.tsv", "one column 'text;label'", "separated by ';'", "tab-separated"],
    ),
    (
        "every label empty",
        [*TRAIN, "--dataset", "{d}/empty_labels.csv"],
        ["no rows left after cleaning step 'drop missing labels'", "label_column"],
    ),
    (
        "NaN labels leave one class",
        [*TRAIN, "--dataset", "{d}/nan_labels.csv"],
        ["fewer than 2 classes", "only '1'"],
    ),
    (
        "duplicate column names",
        [*TRAIN, "--dataset", "{d}/duplicate_columns.csv"],
        ["duplicate_columns.csv", "duplicate column names: text", "rename"],
    ),
    (
        "numeric texts",
        [*TRAIN, "--dataset", "{d}/numeric_texts.csv"],
        ["text column 'text'", "holds only numbers", "text_column"],
    ),
    (
        "LoRA option with a full fine-tune",
        [*GOOD, "--method", "full", "--lora-r", "16"],
        ["lora_r applies only to method lora", "'full'"],
    ),
    (
        "LoRA dropout with the default method",
        [*GOOD, "--lora-dropout", "0.2"],
        ["lora_dropout applies only to method lora", "'full'"],
    ),
    (
        "freeze layers with LoRA",
        [*GOOD, "--method", "lora", "--freeze-layers", "2"],
        ["freeze_layers applies only to method freeze", "'lora'"],
    ),
    (
        "LoRA flag over a full-method config file",
        ["train", "--config", "{d}/lora_full.yaml", "--lora-alpha", "32"],
        ["lora_alpha applies only to method lora"],
    ),
    (
        "fractions leave no training data",
        [*GOOD, "--val-fraction", "0.45", "--test-fraction", "0.45"],
        ["val_fraction + test_fraction must leave data to train on", "0.45"],
    ),
    (
        "config file not UTF-8",
        ["train", "--config", "{d}/latin1.yaml"],
        ["latin1.yaml", "not UTF-8"],
    ),
    (
        "config is a list",
        ["train", "--config", "{d}/list.yaml"],
        ["config must be a mapping", "list"],
    ),
    (
        "config setting in the wrong section",
        ["train", "--config", "{d}/misplaced.yaml"],
        ["'lr' belongs in section 'optim', not 'model'"],
    ),
    (
        "config bool of the wrong type",
        ["train", "--config", "{d}/bool_type.yaml"],
        ["strip_urls must be true or false", "'maybe'"],
    ),
    (
        "config string of the wrong type",
        ["train", "--config", "{d}/str_type.yaml"],
        ["method must be a string", "3"],
    ),
    (
        "unknown model id offline (python-style name)",
        [*GOOD, "--model", "someone/made-up-model-xyz"],
        ["'someone/made-up-model-xyz'", "HF_HUB_OFFLINE", "local directory"],
    ),
    (
        "model directory that does not exist",
        [*GOOD, "--model", "{d}/no_such_model_dir/"],
        ["model directory not found", "no_such_model_dir"],
    ),
    (
        "model directory that is a run folder without weights",
        [*GOOD, "--model", "{d}/not_a_run"],
        ["not_a_run", "no config.json"],
    ),
    (
        "run that is a file",
        ["eval", "--run", "{d}/a_file.txt"],
        ["a_file.txt", "is a file, not a run"],
    ),
    (
        "resume a folder with files but no config",
        ["train", "--resume", "{d}/not_a_run"],
        ["not_a_run", "not a run directory (no config.yaml)"],
    ),
    (
        "explain on a non-run",
        ["explain", "--run", "{d}/not_a_run", "--text", "hello"],
        ["not_a_run", "not a run directory"],
    ),
    (
        "test labels unseen in training",
        ["eval", "--run", "{unseen}"],
        ["labels the model never trained on: 'surprise'", "'negative'"],
    ),
    (
        "predict file not UTF-8",
        ["predict", "--run", "{unseen}", "--file", "{d}/latin1_predict.txt"],
        ["latin1_predict.txt", "not UTF-8", "0xe9"],
    ),
    (
        "predict file missing",
        ["predict", "--run", "{unseen}", "--file", "{d}/nope.txt"],
        ["file not found", "nope.txt"],
    ),
    ("seed negative", [*GOOD, "--seed", "-1"], ["seed must be in [0", "got -1"]),
    (
        "max samples not a number",
        [*GOOD, "--max-train-samples", "many"],
        ["--max-train-samples", "'many'"],
    ),
]


def out_of_range_values() -> list[tuple[str, str, Any, str]]:
    """``(name, flag, value, expected text)``: for every setting with a declared range, one
    value just below it and one above it; for every setting with choices, one that is not.

    Read from the config metadata, so a new setting is swept without editing this file.
    """
    cases = []
    for _section, f, kind in all_fields():
        meta, flag = f.metadata, "--" + f.name.replace("_", "-")
        if "choices" in meta:
            cases.append((f.name, flag, "no-such-choice", f"{f.name} must be one of"))
        lo, hi = meta.get("min"), meta.get("max")
        step = meta.get("step", 1 if kind is int else 0.01)
        if lo is not None:
            below = lo if meta.get("min_exclusive") else lo - (1 if kind is int else step)
            cases.append((f.name, flag, below, f"{f.name} must be in"))
        if hi is not None:
            above = hi + 1 if kind is int else hi + max(step, abs(hi))
            cases.append((f.name, flag, above, f"{f.name} must be in"))
    return cases


RANGE_CASES = out_of_range_values()
# Method knobs are swept with their method, so the range (not the method) is what fails.
METHOD_OF = {
    "lora_r": "lora",
    "lora_alpha": "lora",
    "lora_dropout": "lora",
    "freeze_layers": "freeze",
}


def test_the_range_sweep_covers_every_ranged_setting() -> None:
    ranged = {f.name for _, f, _ in all_fields() if "min" in f.metadata or "choices" in f.metadata}
    assert {name for name, *_ in RANGE_CASES} == ranged
    assert len(ranged) >= 25  # the sweep really iterates the metadata


def check_cli_error(argv: list[str], expected: list[str], runs: Path) -> None:
    before = snapshot(runs)
    rc, out, err = run_main(argv)
    assert rc == 2, (out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in err
    assert snapshot(runs) == before  # the earlier run is untouched, no new run appeared


@pytest.mark.parametrize(
    ("argv", "expected"), [pytest.param(a, e, id=name) for name, a, e in CLI_CASES]
)
def test_cli_bad_input_exits_2_with_one_line(
    argv: list[str], expected: list[str], corpus: dict[str, Any], tiny_bert_dir: str
) -> None:
    check_cli_error(fmt(argv, corpus, tiny_bert_dir), expected, corpus["runs"])


@pytest.mark.parametrize(
    ("name", "flag", "value", "expected"),
    [pytest.param(*case, id=f"{case[0]}={case[2]}") for case in RANGE_CASES],
)
def test_cli_every_setting_out_of_range_exits_2(
    name: str, flag: str, value: Any, expected: str, corpus: dict[str, Any], tiny_bert_dir: str
) -> None:
    method = ["--method", METHOD_OF[name]] if name in METHOD_OF else []
    argv = [*fmt(GOOD, corpus, tiny_bert_dir), *method, flag, str(value)]
    check_cli_error(argv, [expected, str(value)], corpus["runs"])


def test_cli_unreadable_file_exits_2(
    corpus: dict[str, Any], tiny_bert_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root here, where chmod 000 does not stop a read: make the read fail.
    # A file of its own: a file read before comes from the data cache without a read.
    target = Path(corpus["d"]) / "unreadable.csv"
    target.write_text("text,label\n" + rows(30, lambda i: f"hi {i}", lambda i: "ab"[i % 2]))
    real = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self.name == target.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    argv = [*fmt(TRAIN, corpus, tiny_bert_dir), "--dataset", str(target)]
    check_cli_error(
        argv, ["cannot read data file", "unreadable.csv", "Permission denied"], corpus["runs"]
    )


# ----------------------------------------------------------------------------- the Python API
def _prepare(name: str) -> Callable[[dict[str, Any]], Any]:
    def call(c: dict[str, Any]) -> Any:
        from workbench.config import DataConfig
        from workbench.data import prepare_data

        return prepare_data(DataConfig(dataset=f"{c['d']}/{name}"), 0)

    return call


def _load_config(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda c: TrainConfig.load(f"{c['d']}/{name}")


API_CASES: list[tuple[str, Callable[[dict[str, Any]], Any], type[Exception], list[str]]] = [
    ("missing file", _prepare("nope.csv"), DataError, ["data file not found", "nope.csv"]),
    ("folder as file", _prepare("not_a_run"), DataError, ["is a folder"]),
    ("wrong delimiter", _prepare("semicolons.tsv"), DataError, ["separated by ';'"]),
    ("empty labels", _prepare("empty_labels.csv"), DataError, ["drop missing labels"]),
    ("one class after NaN labels", _prepare("nan_labels.csv"), DataError, ["fewer than 2"]),
    ("duplicate columns", _prepare("duplicate_columns.csv"), DataError, ["duplicate column"]),
    ("numeric texts", _prepare("numeric_texts.csv"), DataError, ["holds only numbers"]),
    ("yaml not UTF-8", _load_config("latin1.yaml"), ConfigError, ["not UTF-8"]),
    ("yaml a list", _load_config("list.yaml"), ConfigError, ["must be a mapping"]),
    ("yaml wrong section", _load_config("misplaced.yaml"), ConfigError, ["belongs in section"]),
    ("yaml wrong bool", _load_config("bool_type.yaml"), ConfigError, ["true or false"]),
    (
        "yaml unknown key",
        lambda c: TrainConfig.from_dict({"optim": {"learning_rate": 1e-3}}),
        ConfigError,
        ["unknown setting 'learning_rate'", "section 'optim'"],
    ),
    (
        "LoRA knob with full",
        lambda c: TrainConfig().replace(method="full", lora_alpha=64),
        ConfigError,
        ["lora_alpha applies only to method lora"],
    ),
    (
        "IA3 target modules with bitfit",
        lambda c: TrainConfig().replace(method="bitfit", target_modules="query"),
        ConfigError,
        ["target_modules applies only to method lora or ia3", "'bitfit'"],
    ),
    (
        "NaN learning rate",
        lambda c: TrainConfig().replace(lr=math.nan),
        ConfigError,
        ["lr must be a finite number"],
    ),
    (
        "unknown model offline",
        lambda c: __import__("workbench.models", fromlist=["x"]).resolve_model("nobody/nothing"),
        ModelError,
        ["'nobody/nothing'", "HF_HUB_OFFLINE"],
    ),
    (
        "model dir without weights",
        lambda c: __import__("workbench.models", fromlist=["x"]).resolve_model(
            _config_only_model(Path(c["d"]), Path(c["run"]))
        ),
        ModelError,
        ["no weights", "model.safetensors"],
    ),
    (
        "not a run directory",
        lambda c: __import__("workbench.runs", fromlist=["x"]).load_run(f"{c['d']}/not_a_run"),
        RunError,
        ["not a run directory"],
    ),
    (
        "resume a non-run",
        lambda c: __import__("workbench", fromlist=["x"]).train(resume=f"{c['d']}/not_a_run"),
        RunError,
        ["not a run directory"],
    ),
]


def _config_only_model(d: Path, run: Path) -> str:
    folder = d / "config_only_model"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_bytes((run / "model" / "config.json").read_bytes())
    return str(folder)


@pytest.mark.parametrize(
    ("call", "error", "expected"), [pytest.param(c, e, x, id=n) for n, c, e, x in API_CASES]
)
def test_api_bad_input_raises_a_user_error_with_the_fix(
    call: Callable[[dict[str, Any]], Any],
    error: type[Exception],
    expected: list[str],
    corpus: dict[str, Any],
) -> None:
    before = snapshot(corpus["runs"])
    with pytest.raises(error) as info:
        call(corpus)
    assert isinstance(info.value, (UserError, ConfigError))  # the CLI maps these to exit 2
    for text in expected:
        assert text in str(info.value), str(info.value)
    assert snapshot(corpus["runs"]) == before


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [pytest.param(n, v, x, id=f"{n}={v}") for n, _flag, v, x in RANGE_CASES],
)
def test_api_every_setting_out_of_range_raises(name: str, value: Any, expected: str) -> None:
    extra = {"method": METHOD_OF[name]} if name in METHOD_OF else {}
    with pytest.raises(ConfigError) as info:
        TrainConfig().replace(**extra, **{name: value})
    assert expected in str(info.value) and str(value) in str(info.value), str(info.value)


def test_api_train_with_bad_data_fails_the_handle_and_creates_no_run(
    corpus: dict[str, Any], tiny_bert_dir: str, tmp_path: Path
) -> None:
    from workbench import train

    cfg = TrainConfig().replace(
        model=tiny_bert_dir,
        dataset=f"{corpus['d']}/numeric_texts.csv",
        device="cpu",
        runs_dir=str(tmp_path / "runs"),
    )
    handle = train(cfg, block=True)
    assert handle.status == "failed"
    assert isinstance(handle.error, DataError)
    assert handle.summary is not None and "holds only numbers" in handle.summary["error"]
    assert not (tmp_path / "runs").exists()  # failed before making a run directory


def test_partly_missing_labels_are_dropped_and_reported() -> None:
    from workbench.config import DataConfig
    from workbench.data import prepare_data

    frame = toy_frame(10)
    frame.loc[[0, 5, 9], "label"] = None
    frame.loc[[1, 2], "label"] = "   "
    data = prepare_data(DataConfig(max_train_samples=None, max_eval_samples=None), 0, frame)
    step = next(s for s in data.cleaning if s["step"] == "drop missing labels")
    assert step["removed"] == 5
    assert len(data.train) + len(data.val) + len(data.test) <= 25


def test_a_10_mb_single_text_trains_and_is_cut_before_tokenizing(
    tiny_bert_dir: str, tmp_path: Path
) -> None:
    from workbench import train
    from workbench.tasks.text_classification.batching import CHARS_PER_TOKEN, clip_text

    big = "word " * (BIG_TEXT_BYTES // 5)
    frame = toy_frame(10)
    frame.loc[0, "text"] = big
    cfg = TrainConfig().replace(
        model=tiny_bert_dir,
        dataset="frame",
        max_train_samples=None,
        max_eval_samples=None,
        epochs=1.0,
        batch_size=8,
        max_length=32,
        device="cpu",
        out=str(tmp_path / "run"),
        runs_dir=str(tmp_path / "runs"),
    )
    handle = train(cfg, data=frame, block=True)
    assert handle.status == "completed", handle.summary
    s = handle.session
    assert s is not None
    assert max(s.encoded["train"].lengths + s.encoded["test"].lengths) <= 32
    assert len(clip_text(big, 32)) == 32 * CHARS_PER_TOKEN
    # clipping never changes the ids the tokenizer keeps
    assert (
        s.tokenizer(clip_text(big, 32), truncation=True, max_length=32)["input_ids"]
        == (
            s.tokenizer(big[: 100 * 32 * CHARS_PER_TOKEN], truncation=True, max_length=32)[
                "input_ids"
            ]
        )
    )


def test_predict_on_a_10_mb_text_tokenizes_only_what_the_model_reads(
    corpus: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.runs import load_run
    from workbench.tasks.text_classification.batching import CHARS_PER_TOKEN

    run = load_run(corpus["run"])
    model, tokenizer = run.load_model()
    seen: list[int] = []
    real = type(tokenizer).__call__

    def spy(self, texts, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.extend(len(t) for t in texts)
        return real(self, texts, *args, **kwargs)

    monkeypatch.setattr(type(tokenizer), "__call__", spy)
    big = "word " * (BIG_TEXT_BYTES // 5)
    preds = run.predict([big, "a short one"])
    assert [p["text"] for p in preds] == [big, "a short one"]  # the text itself is kept
    assert max(seen) == run.config.model.max_length * CHARS_PER_TOKEN


# ----------------------------------------------------------------------------- the widgets
WIDGET_FILES = [
    ("nope.csv", "data file not found"),
    ("semicolons.tsv", "separated by &#x27;;&#x27;"),
    ("empty_labels.csv", "drop missing labels"),
    ("duplicate_columns.csv", "duplicate column names"),
    ("numeric_texts.csv", "holds only numbers"),
    ("nan_labels.csv", "fewer than 2 classes"),
]


@pytest.mark.parametrize(("name", "expected"), WIDGET_FILES, ids=[n for n, _ in WIDGET_FILES])
def test_data_panel_shows_bad_files_as_a_message(
    name: str, expected: str, corpus: dict[str, Any]
) -> None:
    from widgets import DataPanel

    panel = DataPanel(TrainConfig().replace(dataset=f"{corpus['d']}/{name}"))
    thread = panel.load()
    assert thread is not None
    thread.join(60)
    assert panel.status.value == "failed"
    assert expected in panel.message.value, panel.message.value
    assert "Traceback" not in panel.message.value
    assert panel.data is None


def test_workbench_train_shows_bad_settings_and_bad_models_in_the_panel(
    corpus: dict[str, Any], tiny_bert_dir: str, tmp_path: Path
) -> None:
    from widgets import Workbench

    wb = Workbench(
        TrainConfig().replace(
            model=f"{corpus['d']}/not_a_run",
            dataset=str(corpus["csv"]),
            device="cpu",
            runs_dir=str(tmp_path / "runs"),
        ),
        attach=None,
    )
    panel = wb.train_panel
    handle = panel.train()  # a bad model is found by the worker: the run fails, shown in red
    assert handle is not None
    handle.wait(120)
    assert handle.status == "failed"

    def shown() -> str:
        return str(panel.message.value) + str(wb.form.error.value)

    import time

    deadline = time.time() + 30
    while "no config.json" not in shown() and time.time() < deadline:
        time.sleep(0.05)
    assert "no config.json" in shown(), shown()
    assert panel.status_label.value == "failed"
    # a bad data file picked afterwards: the worker's DataError is shown the same way
    wb.form.set("model", tiny_bert_dir)
    wb.form.set("dataset", f"{corpus['d']}/semicolons.tsv")
    handle = panel.train()
    assert handle is not None
    handle.wait(120)
    deadline = time.time() + 30
    while "separated by" not in shown() and time.time() < deadline:
        time.sleep(0.05)
    assert "separated by" in shown(), shown()
    assert not (tmp_path / "runs").exists()  # neither attempt left a run directory
