"""The kernel-level cache: a second **Train** reuses the prepared data and pristine weights.

Reuse is checked by counting calls to the functions that build data and load weights
(monkeypatched), never by timing; the speed target lives in ``bench/train_start.py``.
Each test starts from an empty cache so nothing leaks between tests.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import weakref
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import toy_frame

import workbench.data
import workbench.tasks.text_classification.task as text_classification
from workbench import TrainConfig, cache, train
from workbench.regularization import build_regularizers
from workbench.tasks.text_classification.task import TextClassification
from workbench.training.session import prepare_task_data


@pytest.fixture()
def builds(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts of real data preparations and weight loads, with an empty cache."""
    counts = {"data": 0, "model": 0}
    real_prepare, real_load = workbench.data.prepare_data, text_classification.load_classifier

    def prepare(*args: Any, **kwargs: Any) -> Any:
        counts["data"] += 1
        return real_prepare(*args, **kwargs)

    def load(*args: Any, **kwargs: Any) -> Any:
        counts["model"] += 1
        return real_load(*args, **kwargs)

    monkeypatch.setattr(workbench.data, "prepare_data", prepare)
    monkeypatch.setattr(text_classification, "load_classifier", load)
    monkeypatch.setattr(cache, "_entries", {})
    return counts


@pytest.fixture()
def quick(tiny_config: TrainConfig) -> TrainConfig:
    return tiny_config.replace(epochs=0.2, save_checkpoints=False)


def _setup(handle: Any) -> dict[str, Any]:
    return next(e for e in handle.history if e["type"] == "setup")


def _last_status_before_setup(handle: Any) -> str:
    messages = []
    for e in handle.history:
        if e["type"] == "setup":
            break
        if e["type"] == "status":
            messages.append(e["message"])
    return messages[-1]


def test_second_run_with_other_lr_and_method_reuses_data_and_weights(
    quick: TrainConfig, builds: dict[str, int], tmp_path: Path
) -> None:
    first = train(quick.replace(out=str(tmp_path / "a")), data=toy_frame(), block=True)
    # What the Train button does next: same data (an equal table, not the same object),
    # another learning rate, method and regularization strength.
    again = quick.replace(out=str(tmp_path / "b"), lr=3e-3, method="bitfit", weight_decay=0.1)
    second = train(again, data=toy_frame(), block=True)
    assert first.status == second.status == "completed"
    assert builds == {"data": 1, "model": 1}
    assert _setup(first)["reused"] == {"data": False, "model": False}
    assert _setup(second)["reused"] == {"data": True, "model": True}
    assert _last_status_before_setup(first).startswith("prepared data (")
    message = _last_status_before_setup(second)
    assert message.startswith("reused prepared data (") and "from this kernel" in message
    assert f"({len(second.session.data.train):,} training rows)" in message  # type: ignore[union-attr]
    setup = _setup(second)
    assert json.loads(json.dumps(setup)) == setup  # events stay plain JSON


@pytest.mark.parametrize(
    "change",
    [
        {"max_train_samples": 60},
        {"seed": 7},
        {"drop_duplicates": False},
        {"val_fraction": 0.2},
        {"max_eval_samples": 10},
        {"strip_urls": False},
        {"text_column": "text"},
    ],
    ids=lambda change: ",".join(change),
)
def test_a_data_setting_change_prepares_again(
    quick: TrainConfig, builds: dict[str, int], change: dict[str, Any]
) -> None:
    frame = toy_frame()
    first = prepare_task_data(quick, frame)
    assert prepare_task_data(quick.replace(lr=1e-4, method="lora"), toy_frame()) is first
    assert builds["data"] == 1
    prepare_task_data(quick.replace(**change), frame)
    assert builds["data"] == 2


def test_a_table_edited_in_place_or_a_rewritten_file_prepares_again(
    quick: TrainConfig, builds: dict[str, int], tmp_path: Path
) -> None:
    frame = toy_frame()
    prepare_task_data(quick, frame)
    frame.loc[0, "text"] = "an edited tweet"
    prepare_task_data(quick, frame)
    assert builds["data"] == 2
    csv = tmp_path / "tweets.csv"
    toy_frame().to_csv(csv, index=False)
    from_file = quick.replace(dataset=str(csv))
    prepare_task_data(from_file)
    prepare_task_data(from_file)
    assert builds["data"] == 3
    toy_frame(n_per_class=40).to_csv(csv, index=False)
    prepare_task_data(from_file)
    assert builds["data"] == 4


def _load(cfg: TrainConfig) -> torch.nn.Module:
    data = prepare_task_data(cfg, toy_frame())
    model, _ = TextClassification().load_model(cfg, data, build_regularizers(cfg))
    return model


def test_a_model_setting_change_loads_weights_again(
    quick: TrainConfig, builds: dict[str, int], tiny_bert_dir: str, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_bert_dir, folder)
    cfg = quick.replace(model=str(folder))
    _load(cfg)
    _load(cfg.replace(lr=1e-4, method="head-only", weight_decay=0.2, label_smoothing=0.1))
    assert builds["model"] == 1
    expected = 1
    for change in ({"dropout": 0.3}, {"attention_dropout": 0.2}, {"seed": 3}):
        _load(cfg.replace(**change))
        expected += 1
        assert builds["model"] == expected, change
    _load(cfg)
    # Weights re-saved under the same path (an export overwritten): not the stale copy.
    weights = folder / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    _load(cfg)
    assert builds["model"] == expected + 2


def test_training_leaves_the_next_runs_starting_weights_pristine(
    quick: TrainConfig, builds: dict[str, int]
) -> None:
    cfg = quick.replace(epochs=1.0, lr=5e-2)
    pristine = {k: v.clone() for k, v in _load(cfg).state_dict().items()}
    run = train(cfg, data=toy_frame(), block=True)
    assert run.status == "completed" and builds["model"] == 1
    trained = run.session.accelerator.unwrap_model(run.session.model).state_dict()  # type: ignore[union-attr]
    moved = [k for k in pristine if not torch.equal(pristine[k], trained[k])]
    assert any("encoder" in k for k in moved), "training did not change the encoder"
    after = _load(cfg).state_dict()
    assert builds["model"] == 1  # from the cache, not from disk
    changed = [k for k in pristine if not torch.equal(pristine[k], after[k])]
    assert changed == []


def test_each_slot_holds_one_entry_and_lets_the_old_one_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cache, "_entries", {})
    built: list[torch.nn.Module] = []

    def build() -> torch.nn.Module:
        built.append(torch.nn.Linear(64, 64))
        return built[-1]

    first = weakref.ref(cache.cached("model", "A", build))
    with cache.recording() as seen:
        cache.cached("model", "B", build)
        cache.cached("data", "A", build)
    assert seen == {"model": False, "data": False}
    built.clear()
    gc.collect()
    assert first() is None, "the replaced entry is still held"
    assert sorted(cache._entries) == ["data", "model"]
    with cache.recording() as seen:
        cache.cached("model", "B", build)
    assert seen == {"model": True} and built == []
    cache.cached("model", "A", build)
    assert len(built) == 1  # A was evicted by B: built again


def test_the_causal_lm_key_follows_a_local_folders_files(tmp_path: Path) -> None:
    """A causal LM re-exported under the same folder misses the cache, as a classifier does."""
    from workbench.tasks.causal_lm.task import CausalLM

    folder = tmp_path / "lm"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    weights = folder / "model.safetensors"
    weights.write_bytes(b"0" * 8)
    cfg = TrainConfig().replace(
        task="causal-lm", model=str(folder), method="lora", dataset="tweets-sentiment-instruct"
    )
    task = CausalLM()
    before = task.model_key(cfg, [])
    assert task.model_key(cfg.replace(lr=1e-4), []) == before  # lr acts on the copy
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert task.model_key(cfg, []) != before


def test_second_run_with_same_data_and_model_skips_loading(tiny_bert_dir: str, tmp_path) -> None:  # type: ignore[no-untyped-def]

    import workbench.cache as cache
    from workbench import train

    csv = tmp_path / "d.csv"
    from conftest import toy_frame

    toy_frame().to_csv(csv, index=False)
    cfg = TrainConfig().replace(
        model=tiny_bert_dir,
        dataset=str(csv),
        max_train_samples=None,
        max_eval_samples=None,
        epochs=0.2,
        batch_size=16,
        max_length=32,
        device="cpu",
        save_checkpoints=False,
        lr=1e-3,
    )
    cache.clear()
    first = train(cfg.replace(out=str(tmp_path / "a")), block=True)
    second = train(cfg.replace(out=str(tmp_path / "b")), block=True)
    assert first.status == second.status == "completed"
    # same config, cached or not: identical training
    la = [e["loss"] for e in first.history if e["type"] == "step"]
    lb = [e["loss"] for e in second.history if e["type"] == "step"]
    assert la == lb
