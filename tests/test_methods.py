"""Conformance test: every registered adaptation method through the same checks."""

from __future__ import annotations

import pytest
import torch

from workbench.config import ConfigError, ModelConfig
from workbench.methods import METHODS, count_parameters, get_method


def _load(tiny_bert_dir: str) -> torch.nn.Module:
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir)


@pytest.mark.parametrize("name", list(METHODS))
def test_method_conformance(name: str, tiny_bert_dir: str) -> None:
    model = get_method(name).apply(_load(tiny_bert_dir), ModelConfig(method=name, freeze_layers=1))
    trainable, total = count_parameters(model)
    assert 0 < trainable <= total
    if name != "full":
        assert trainable < total, f"{name} should freeze something"
    # a training step moves trainable parameters only
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    ids = torch.randint(5, 1000, (4, 12))
    out = model(
        input_ids=ids, attention_mask=torch.ones_like(ids), labels=torch.tensor([0, 1, 2, 0])
    )
    out.loss.backward()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
    opt.step()
    for n, p in model.named_parameters():
        if not p.requires_grad:
            assert torch.equal(before[n], p), f"{name}: frozen {n} changed"
    # the head must always train (it starts random)
    head = [n for n, p in model.named_parameters() if "classifier" in n and p.requires_grad]
    assert head, f"{name}: classifier head is not trainable"


def test_bitfit_trains_only_biases_and_the_head(tiny_bert_dir: str) -> None:
    model = get_method("bitfit").apply(_load(tiny_bert_dir), ModelConfig(method="bitfit"))
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert all(n.endswith(".bias") or n.startswith("classifier.") for n in names)


def test_freeze_freezes_exactly_the_bottom_layers(tiny_bert_dir: str) -> None:
    model = get_method("freeze").apply(
        _load(tiny_bert_dir), ModelConfig(method="freeze", freeze_layers=1)
    )
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert any(".layer.0." in n for n in frozen)
    assert not any(".layer.1." in n for n in frozen)
    assert all("embeddings" in n or ".layer.0." in n for n in frozen)
    with pytest.raises(ConfigError, match="at most the model's 2 layers"):
        get_method("freeze").apply(
            _load(tiny_bert_dir), ModelConfig(method="freeze", freeze_layers=5)
        )


def test_lora_rank_sets_adapter_size(tiny_bert_dir: str) -> None:
    small = get_method("lora").apply(_load(tiny_bert_dir), ModelConfig(method="lora", lora_r=2))
    big = get_method("lora").apply(_load(tiny_bert_dir), ModelConfig(method="lora", lora_r=8))
    assert count_parameters(big)[0] > count_parameters(small)[0]
    assert any("lora_A" in n for n, _ in small.named_parameters())


def test_bad_target_modules_list_the_real_ones(tiny_bert_dir: str) -> None:
    with pytest.raises(ConfigError, match="its linear layers are named: .*query"):
        get_method("lora").apply(
            _load(tiny_bert_dir), ModelConfig(method="lora", target_modules="nonexistent")
        )


@pytest.mark.parametrize("method", ["full", "freeze"])
def test_l2sp_anchors_the_pretrained_weights_not_the_new_head(
    tiny_bert_dir: str, method: str
) -> None:
    """L2-SP pulls every trainable pretrained weight (not the fresh head) towards its
    starting value: the penalty is 0 at the start and α/2·Σ‖w − w₀‖² after."""
    from workbench.config import TrainConfig
    from workbench.regularization.l2sp import L2SP

    knobs = {"freeze_layers": 1} if method == "freeze" else {}
    cfg = TrainConfig().replace(model=tiny_bert_dir, method=method, l2sp=0.5, **knobs)
    model = get_method(method).apply(_load(tiny_bert_dir), cfg.model)
    reg = L2SP()
    reg.on_model_ready(model, cfg)
    anchored = {id(p) for p, _ in reg.anchors}
    names = [n for n, p in model.named_parameters() if id(p) in anchored]
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert not any("classifier" in n for n in names), names
    # every trainable weight but the head: embeddings, layers, LayerNorm (those not frozen)
    assert names and names == [n for n in trainable if not n.startswith("classifier.")]
    penalty = reg.penalty(model)
    assert penalty is not None and float(penalty) == 0.0
    with torch.no_grad():
        for p, _ in reg.anchors[:2]:
            p.add_(0.1)
    moved = sum(p.numel() for p, _ in reg.anchors[:2])
    assert float(reg.penalty(model)) == pytest.approx(0.5 * 0.5 * moved * 0.01, rel=1e-4)


@pytest.mark.parametrize("method", [m for m, impl in METHODS.items() if not impl.trains_pretrained])
def test_l2sp_with_a_method_that_trains_no_pretrained_weight_is_an_error(method: str) -> None:
    """LoRA, IA3 and head-only train adapters or a new head only: L2-SP would anchor
    nothing and silently do nothing, so the config says so instead."""
    from workbench.config import TrainConfig

    assert {"lora", "ia3", "head-only"} <= {
        m for m, impl in METHODS.items() if not impl.trains_pretrained
    }
    with pytest.raises(ConfigError, match=f"no effect with method {method}"):
        TrainConfig().replace(method=method, l2sp=0.1)
    TrainConfig().replace(method=method)  # without L2-SP it is fine
