"""The exported model computes what the trained model computes.

``model/`` (plain transformers, LoRA adapters merged), ``adapter/`` (peft, loaded on the
base model) and the in-memory model after the run must give the same logits on the same
inputs: 1e-4 absolute in fp32 (merging reorders the sums, ``W x + B (A x)`` against
``(W + B A) x``: differences are float rounding, ~1e-6 here; a missing merge, a lost head
or stale weights move logits by 1e-2 and more).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import toy_frame

from workbench import TrainConfig, train

TOLERANCE = 1e-4  # absolute, fp32 logits


@pytest.mark.parametrize("method", ["full", "lora"])
def test_exported_model_gives_the_trained_models_logits(
    method: str, tiny_config: TrainConfig, toy_data, tiny_bert_dir: str
) -> None:  # type: ignore[no-untyped-def]
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    # LoRA at scale alpha/r = 4 (alpha 32, r 8): the merged update is large enough to tell
    knobs = {"lora_alpha": 32} if method == "lora" else {}
    handle = train(
        tiny_config.replace(method=method, epochs=1.0, **knobs), data=toy_data, block=True
    )
    assert handle.status == "completed", handle.summary
    run = Path(tiny_config.run.out or "")
    texts = list(toy_frame(n_per_class=4, seed=1)["text"])  # texts the run never saw
    tokenizer = AutoTokenizer.from_pretrained(run / "model")
    inputs = tokenizer(texts, padding=True, return_tensors="pt")

    def logits(model: torch.nn.Module) -> torch.Tensor:
        with torch.no_grad():
            return model.eval()(**inputs).logits  # type: ignore[no-any-return]

    assert handle.session is not None
    live = logits(handle.session.accelerator.unwrap_model(handle.session.model))
    merged = logits(AutoModelForSequenceClassification.from_pretrained(run / "model"))
    pretrained = logits(AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir))
    # training moved the logits: agreement below is not two copies of the untrained model
    assert float((live - pretrained).abs().max()) > 100 * TOLERANCE  # 0.07 full, 0.03 lora
    torch.testing.assert_close(merged, live, atol=TOLERANCE, rtol=0)
    if method == "lora":
        from peft import PeftModel

        base = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir)
        adapter = logits(PeftModel.from_pretrained(base, run / "adapter"))
        torch.testing.assert_close(adapter, live, atol=TOLERANCE, rtol=0)
        torch.testing.assert_close(merged, adapter, atol=TOLERANCE, rtol=0)
        # the adapters matter: the pretrained encoder under the exported (trained) head
        # gives other logits, so a merge that dropped them could not pass the checks above
        exported = AutoModelForSequenceClassification.from_pretrained(run / "model")
        head_only = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir)
        head_only.classifier.load_state_dict(exported.classifier.state_dict())
        assert float((logits(head_only) - merged).abs().max()) > 10 * TOLERANCE
