"""Task inference: SmolLM2 or an instruction file means causal-lm without ``--task``.

The config (``from_dict``, ``replace``), the CLI (one ``note:`` line on stderr) and the
form (the task control follows the model) all take the task the model or the dataset
implies; a model and a dataset that disagree are a ConfigError naming both. Nothing here
loads a model or reads a data file whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from workbench.cli import build_parser, config_from_args
from workbench.config import ConfigError, TrainConfig
from workbench.tasks.inference import dataset_implies, implied_task, model_implies

LM = "smollm2-135m-instruct"


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def chat_file(tmp_path: Path) -> Path:
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    return write_jsonl(tmp_path / "chat.jsonl", [{"messages": chat}] * 3)


def model_folder(tmp_path: Path, architecture: str) -> str:
    folder = tmp_path / architecture
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": [architecture]}))
    return str(folder)


def plain_csv(tmp_path: Path) -> str:
    path = tmp_path / "tweets.csv"
    pd.DataFrame({"text": ["good", "bad"], "label": ["pos", "neg"]}).to_csv(path, index=False)
    return str(path)


def nested(model: str, dataset: str) -> dict:
    return {"model": {"model": model}, "data": {"dataset": dataset}}


# ------------------------------------------------------------------------------ config
def test_catalog_smollm2_without_task_is_causal_lm() -> None:
    assert TrainConfig.from_dict(nested(LM, "tweets-sentiment-instruct")).model.task == "causal-lm"
    changed = TrainConfig().replace(model=LM, dataset="tweets-sentiment-instruct")
    assert changed.model.task == "causal-lm"
    assert changed.replace(model="minilm-l6", dataset="tweets-sentiment").model.task == (
        "text-classification"
    )  # and back: the classifier pair implies text-classification again


def test_instruct_files_imply_causal_lm(tmp_path: Path) -> None:
    pairs = write_jsonl(tmp_path / "pairs.jsonl", [{"instruction": "add 1+1", "output": "2"}])
    chat = chat_file(tmp_path)
    for path in (pairs, chat):
        cfg = TrainConfig.from_dict(nested("some/lm", str(path)))
        assert cfg.model.task == "causal-lm", path
    assert "'messages'" in dataset_implies(str(chat)).reason  # type: ignore[union-attr]
    assert "instruction/output" in dataset_implies(str(pairs)).reason  # type: ignore[union-attr]
    # Other kinds of file: a JSON array, a TSV header, a Parquet schema.
    array = tmp_path / "qa.json"
    array.write_text(json.dumps([{"question": "why", "answer": "because"}]))
    tsv = tmp_path / "pr.tsv"
    tsv.write_text("Prompt\tResponse\nhi\thello\n")
    parquet = tmp_path / "pc.parquet"
    pd.DataFrame({"prompt": ["hi"], "completion": ["hello"]}).to_parquet(parquet)
    for path in (array, tsv, parquet):
        assert TrainConfig().replace(model="some/lm", dataset=str(path)).model.task == "causal-lm"


def test_a_peek_reads_only_the_first_record(tmp_path: Path) -> None:
    path = chat_file(tmp_path)
    with path.open("a") as f:
        f.write("{this line is not JSON\n")  # a full read would choke here
    assert implied_task("some/lm", str(path)).task == "causal-lm"  # type: ignore[union-attr]


def test_local_folder_architecture(tmp_path: Path) -> None:
    llama = model_folder(tmp_path, "LlamaForCausalLM")
    cfg = TrainConfig.from_dict(nested(llama, plain_csv(tmp_path)))
    assert cfg.model.task == "causal-lm"
    assert "LlamaForCausalLM" in model_implies(llama).reason  # type: ignore[union-attr]
    classifier = model_folder(tmp_path, "BertForSequenceClassification")
    assert model_implies(classifier).task == "text-classification"  # type: ignore[union-attr]
    # A bare encoder (a sentence-transformers folder) is no signal: no guess.
    assert model_implies(model_folder(tmp_path, "BertModel")) is None
    assert model_implies(str(tmp_path / "missing")) is None


def test_plain_text_label_file_implies_nothing(tmp_path: Path) -> None:
    csv = plain_csv(tmp_path)
    assert dataset_implies(csv) is None
    assert TrainConfig.from_dict(nested("some/lm", csv)).model.task == "text-classification"
    cfg = TrainConfig().replace(task="causal-lm", model="some/lm", dataset="d.jsonl")
    assert cfg.replace(model="other/lm", dataset=csv).model.task == "causal-lm"  # kept


def test_model_and_dataset_that_disagree_are_an_error_naming_both(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"'{LM}'.*causal-lm.*'tweets-sentiment'"):
        TrainConfig.from_dict(nested(LM, "tweets-sentiment"))
    with pytest.raises(ConfigError, match=r"'minilm-l6'.*'tweets-sentiment-instruct'"):
        TrainConfig().replace(dataset="tweets-sentiment-instruct")
    with pytest.raises(ConfigError, match=r"'minilm-l6'.*chat.jsonl.*'messages'"):
        TrainConfig().replace(dataset=str(chat_file(tmp_path)))
    llama = model_folder(tmp_path, "LlamaForCausalLM")
    with pytest.raises(ConfigError, match="set task text-classification yourself"):
        TrainConfig().replace(model=llama)  # a causal LM can still become a classifier...
    explicit = TrainConfig().replace(task="text-classification", model=llama)
    assert explicit.model.task == "text-classification"  # ...when the task says so


def test_explicit_task_is_respected() -> None:
    with pytest.raises(ConfigError, match=r"causal-lm model, not for task text-classification"):
        TrainConfig().replace(task="text-classification", model=LM)
    with pytest.raises(ConfigError, match=r"leave the task out \(the model and dataset imply"):
        TrainConfig().replace(
            task="text-classification", model=LM, dataset="tweets-sentiment-instruct"
        )


def test_replace_infers_only_when_model_or_dataset_change(tmp_path: Path) -> None:
    llama = model_folder(tmp_path, "LlamaForCausalLM")
    cfg = TrainConfig().replace(
        task="text-classification", model=llama, dataset=plain_csv(tmp_path)
    )
    assert cfg.replace(lr=1e-4, epochs=1.0).model.task == "text-classification"
    assert cfg.replace(dataset=plain_csv(tmp_path)).model.task == "causal-lm"


# --------------------------------------------------------------------------------- CLI
def cli_config(argv: list[str]) -> TrainConfig:
    return config_from_args(build_parser().parse_args(["train", *argv]))


def test_cli_infers_the_task_and_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = cli_config(["--model", LM, "--dataset", "tweets-sentiment-instruct"])
    assert cfg.model.task == "causal-lm"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"note: task causal-lm, implied by model '{LM}'")
    assert "pass --task to choose another" in err
    # A config file without a task: inferred and noted; with one: nothing to say.
    file = tmp_path / "c.yaml"
    file.write_text(f"model:\n  model: {LM}\ndata:\n  dataset: {chat_file(tmp_path)}\n")
    assert cli_config(["--config", str(file)]).model.task == "causal-lm"
    assert capsys.readouterr().err.startswith("note: task causal-lm")
    TrainConfig.load(file).save(file)  # a saved config states its task
    assert cli_config(["--config", str(file)]).model.task == "causal-lm"
    assert capsys.readouterr().err == ""


def test_cli_task_flag_still_decides(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--model", LM, "--dataset", "tweets-sentiment-instruct"]
    assert cli_config(["--task", "causal-lm", *argv]).model.task == "causal-lm"
    assert cli_config([]).model.task == "text-classification"  # the default pair: no note
    assert capsys.readouterr().err == ""
    with pytest.raises(ConfigError, match="not for task text-classification"):
        cli_config(["--task", "text-classification", *argv])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    assert "--task TASK" in capsys.readouterr().out


# ------------------------------------------------------------------------------ widget
def test_form_follows_the_task_the_model_implies() -> None:
    from widgets.form.form import ConfigForm

    form = ConfigForm()
    form.set("model", LM)
    assert form.controls["task"].get() == "causal-lm"
    assert "task → causal-lm" in form.notice.value and LM in form.notice.value
    form.set("model", "some/hub-model")  # no signal: the task stays
    assert form.controls["task"].get() == "causal-lm"


def test_model_panel_swaps_in_the_tasks_dataset_when_the_model_implies_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from widgets.panels.model_panel import ModelPanel

    # A model change recounts trainable parameters in a worker thread, which loads the
    # model (SmolLM2: seconds to minutes); the count is not under test here.
    monkeypatch.setattr(ModelPanel, "refresh_counts", lambda self: None)
    panel = ModelPanel(count_now=False)
    panel.form.set("model", LM)
    assert panel.form.controls["dataset"].get() == "tweets-sentiment-instruct"
    assert panel.form.check()[1] is None
    panel.form.set("model", "minilm-l6")
    assert panel.form.controls["task"].get() == "text-classification"
    assert panel.form.controls["dataset"].get() == "tweets-sentiment"


def test_form_follows_a_chat_file_but_not_a_lessons_task(tmp_path: Path) -> None:
    from widgets.app.lesson import Lesson
    from widgets.form.form import ConfigForm

    form = ConfigForm(TrainConfig().replace(model="some/lm"))
    form.set("dataset", str(chat_file(tmp_path)))
    assert form.controls["task"].get() == "causal-lm"
    locked = ConfigForm(lesson=Lesson(fixed={"task": "text-classification"}))
    locked.set("model", LM)
    assert locked.controls["task"].get() == "text-classification"
    assert "task →" not in locked.notice.value


def test_a_name_with_an_unknown_home_directory_infers_nothing_and_does_not_crash() -> None:
    """``~0`` (no user called 0) made ``Path.expanduser`` raise inside inference: any
    string is a valid model or dataset name to ask about (found by the escaping test)."""
    from workbench.tasks.inference import dataset_implies, model_implies

    assert model_implies("~0") is None
    assert dataset_implies("~0/data.csv") is None
    assert TrainConfig().replace(model="~0").model.task == "text-classification"
