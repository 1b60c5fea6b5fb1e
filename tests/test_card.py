"""Model cards (``workbench/runs/card.py``): ``model/README.md`` and ``adapter/README.md``.

The Hub's own parser (``huggingface_hub.ModelCard``) reads the metadata back: base model,
library, pipeline tag, tags and the ``model-index`` test metrics; the body holds the
settings, the data, the per-class table, the coach's findings and how to load the model,
with every user string inert.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workbench.config import TrainConfig
from workbench.runs.card import base_model_of, md, model_card
from workbench.tasks import get_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")

HOSTILE = ["<script>alert(1)</script>", "| a | b |", "# heading", "`rm -rf`", "[x](http://e)"]


def _card(folder: Path) -> Any:
    from huggingface_hub import ModelCard

    return ModelCard.load(folder / "README.md")


def _train(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    from workbench.runs import train
    from workbench.toy import toy_frame

    toy_frame(30).to_csv(tmp_path / "toy.csv", index=False)
    cfg = TrainConfig().replace(
        model="minilm-l6",
        dataset=str(tmp_path / "toy.csv"),
        max_train_samples=48,
        max_eval_samples=30,
        max_length=32,
        batch_size=16,
        epochs=1.0,
        save_checkpoints=False,
        out=str(tmp_path / "run"),
        **settings,
    )
    handle = train(cfg, block=True)
    assert handle.status == "completed", handle.summary
    return {"dir": Path(handle.run_dir), "summary": handle.summary}


def test_an_exported_classifier_has_a_hub_model_card(tmp_path: Path) -> None:
    run = _train(tmp_path)
    card = _card(run["dir"] / "model")
    data = card.data.to_dict()
    assert data["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert data["library_name"] == "transformers"
    assert data["pipeline_tag"] == "text-classification"
    assert {"finetune-workbench", "text-classification", "full"} <= set(data["tags"])
    results = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert results["accuracy"] == round(run["summary"]["test_accuracy"], 4)
    assert results["f1"] == round(run["summary"]["test_macro_f1"], 4)
    assert card.data.eval_results[0].dataset_split == "test"
    body = card.text
    for label in ("negative", "neutral", "positive"):
        assert f"| {label} | " in body, f"no per-class row for {label}"
    assert "| lr | " in body and "Examples per split: train 48" in body
    assert 'pipeline("text-classification", model="model")' in body
    # the card's own instructions work: the folder loads in a transformers pipeline
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(run["dir"] / "model"))
    assert classify("a great day")[0]["label"] in {"negative", "neutral", "positive"}
    assert "## Intended use and limitations" in body


def test_a_lora_run_cards_its_adapter_for_peft(tmp_path: Path) -> None:
    run = _train(tmp_path, method="lora", lr=4e-3)
    adapter, model = _card(run["dir"] / "adapter"), _card(run["dir"] / "model")
    assert adapter.data.library_name == "peft" and model.data.library_name == "transformers"
    assert adapter.data.base_model == "sentence-transformers/all-MiniLM-L6-v2"
    assert "AutoPeftModelForSequenceClassification" in adapter.text
    assert "| lora_r | 8 |" in model.text


def test_user_strings_stay_inert_in_the_body_and_the_metadata() -> None:
    from huggingface_hub import ModelCard

    cfg = TrainConfig().replace(model="x/y", dataset="d.csv")
    scores = {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 3}
    summary = {
        "status": "completed",
        "steps": 4,
        "labels": HOSTILE,
        "test_accuracy": 0.5,
        "test_per_class": {label: scores for label in HOSTILE},
        "findings": [{"severity": "warning", "message": HOSTILE[0], "fix": HOSTILE[1]}],
        "run_name": "name: with\n---\nnewlines",
    }
    data = {"source": HOSTILE[4], "dataset": None, "sizes": {"test": 3}, "cleaning": []}
    text = model_card(
        cfg, summary, task=get_task("text-classification"), base_model="x/y", data=data
    )
    card = ModelCard(text)
    assert card.data.base_model == "x/y" and card.data.eval_results[0].metric_value == 0.5
    body = card.text
    assert "<script>" not in body and "&lt;script&gt;" in body
    rows = [line for line in body.splitlines() if line.startswith("| ") and "0.5000" in line]
    assert len(rows) == len(HOSTILE)
    assert all(row.count(" | ") == 4 for row in rows), "a label broke the table's columns"
    assert "\n# heading" not in body and "[x](http" not in body and "\\[x\\](http" in body


def test_markdown_escaping_and_the_base_model_name(tmp_path: Path, monkeypatch: Any) -> None:
    assert md("a|b") == "a\\|b" and md("<b>") == "&lt;b&gt;" and md("x\ny") == "x y"
    assert base_model_of("minilm-l6") == "sentence-transformers/all-MiniLM-L6-v2"
    assert base_model_of("google/electra-small-discriminator") == (
        "google/electra-small-discriminator"
    )
    (tmp_path / "runs" / "model").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert base_model_of("runs/model") is None  # a local folder: the body names it
    assert base_model_of("/tmp") is None


def test_an_image_run_gets_the_same_card_format(tmp_path: Path) -> None:
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("mlxtend")
    from workbench.runs import train
    from workbench.toy import save_tiny_image

    model = save_tiny_image(tmp_path / "tiny", [str(d) for d in range(10)], size=32)
    cfg = TrainConfig().replace(
        task="image-classification",
        model=str(model),
        dataset="mnist-5k",
        image_size=32,
        max_train_samples=32,
        max_eval_samples=20,
        batch_size=16,
        epochs=1.0,
        out=str(tmp_path / "run"),
    )
    handle = train(cfg, block=True)
    assert handle.status == "completed", handle.summary
    card = _card(Path(handle.run_dir) / "model")
    assert card.data.pipeline_tag == "image-classification"
    assert card.data.library_name == "pytorch" and card.data.datasets == ["mnist-5k"]
    assert "load_model_folder" in card.text
