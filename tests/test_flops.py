"""The FLOPs convention behind MFU, checked against numbers worked out by hand.

The model: a BERT with vocabulary 100, hidden size 8, 2 layers, intermediate size 16 and
3 labels. Its non-embedding parameters are

    embedding LayerNorm                   2·8                  =   16
    per layer: Q, K, V, O                 4·(8·8 + 8)          =  288
               attention LayerNorm        2·8                  =   16
               intermediate               8·16 + 16            =  144
               output                     16·8 + 8             =  136
               output LayerNorm           2·8                  =   16   → 600 per layer
    pooler                                8·8 + 8              =   72
    classifier                            8·3 + 3              =   27
    total                                 16 + 2·600 + 72 + 27 = 1315

Attention on one example of n tokens: 4·n²·8 FLOPs per layer forward, ×3 when trained.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from workbench.training import flops

N = 1315


@pytest.fixture
def tiny_model() -> Any:
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(  # type: ignore[call-arg]  # num_labels reaches PretrainedConfig
        vocab_size=100,
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=32,
        num_labels=3,
    )
    torch.manual_seed(0)
    return BertForSequenceClassification(config)


def test_full_fine_tuning_is_six_n_per_token_plus_attention(tiny_model: Any) -> None:
    fm = flops.flops_model(tiny_model)
    assert (fm.forward, fm.input_grad, fm.weight_grad) == (N, N, N)
    assert fm.per_token == 6 * N == 7890
    assert fm.attention_layers_trained == 2
    # lengths 5 and 3: 6N·8 tokens + 3·4·n²·8 per layer, 2 layers
    assert fm.step([5, 3]) == 7890 * 8 + 2 * 3 * 4 * 8 * (25 + 9) == 69648


def test_head_only_counts_forward_for_the_frozen_encoder(tiny_model: Any) -> None:
    for name, p in tiny_model.named_parameters():
        p.requires_grad = name.startswith("classifier.")
    fm = flops.flops_model(tiny_model)
    assert (fm.forward, fm.input_grad, fm.weight_grad) == (N, 27, 27)
    assert fm.per_token == 2 * N + 4 * 27 == 2738
    assert fm.attention_layers_trained == 0
    assert fm.step([5]) == 2738 * 5 + 2 * 4 * 25 * 8 == 15290


def test_lora_counts_four_n_for_frozen_weights(tiny_model: Any) -> None:
    from peft import LoraConfig, TaskType, get_peft_model

    model = get_peft_model(
        tiny_model,
        LoraConfig(
            task_type=TaskType.SEQ_CLS, r=2, lora_alpha=4, target_modules=["query", "value"]
        ),
    )
    fm = flops.flops_model(model)
    adapters = 2 * 2 * (2 * 8 + 8 * 2)  # 2 layers × (query, value) × (A: 2×8, B: 8×2) = 128
    assert fm.forward == N + adapters  # peft's frozen copy of the classifier is not counted
    # Backward reaches everything after layer 0's query.base_layer (8·8 + 8 = 72), the
    # first weight with a trainable adapter next to it; the embedding LayerNorm (16) is below.
    assert fm.input_grad == N + adapters - 16 - 72
    assert fm.weight_grad == adapters + 27  # adapters and the classifier head
    assert fm.per_token == 2 * (1443 + 1355 + 155)
    assert fm.attention_layers_trained == 2


def test_frozen_bottom_layer_runs_forward_only(tiny_model: Any) -> None:
    for name, p in tiny_model.named_parameters():
        p.requires_grad = not (name.startswith("bert.embeddings") or ".layer.0." in name)
    fm = flops.flops_model(tiny_model)
    assert fm.input_grad == fm.weight_grad == N - 16 - 600
    assert fm.attention_layers_trained == 1
    assert fm.attention(4) == 4 * 16 * 8 * (3 + 1)


@pytest.mark.parametrize(
    ("name", "precision", "tflops"),
    [
        ("NVIDIA H100 80GB HBM3", "bf16", 989.0),
        ("NVIDIA H100 PCIe", "bf16", 756.0),
        ("NVIDIA H200", "bf16", 989.0),
        ("NVIDIA A100-SXM4-80GB", "bf16", 312.0),
        ("NVIDIA L4", "fp16", 121.0),
        ("NVIDIA H100 80GB HBM3", "fp32", 67.0),
    ],
)
def test_device_peaks_come_from_the_table(name: str, precision: str, tflops: float) -> None:
    assert flops.peak_flops(name, precision) == tflops * 1e12


def test_mfu_is_not_reported_without_a_known_peak(monkeypatch: pytest.MonkeyPatch) -> None:
    assert flops.peak_flops("Some Future GPU", "bf16") is None
    assert flops.peak_flops("Tesla V100-SXM2-16GB", "bf16") is None  # no bf16 tensor cores
    assert flops.device_peak("cpu", "fp32") is None
    assert flops.mfu(1e15, 2.0, None) is None
    # 989e12·0.5 FLOPs in one second on an H100 is 50 %
    assert flops.mfu(989e12 * 0.5, 1.0, flops.peak_flops("NVIDIA H100", "bf16")) == 0.5
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H200")
    assert flops.device_peak("cuda:0", "bf16") == 989e12
