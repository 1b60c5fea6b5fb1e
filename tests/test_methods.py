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
    """L2-SP anchors every trainable pretrained weight (not the fresh head) at its starting
    value; after an optimizer step it removes the share ``lr_t/lr · α`` of their drift."""
    from workbench.config import TrainConfig
    from workbench.regularization.l2sp import anchored_parameters, l2sp_pull
    from workbench.training.session import build_optimizer

    knobs = {"freeze_layers": 1} if method == "freeze" else {}
    cfg = TrainConfig().replace(model=tiny_bert_dir, method=method, l2sp=0.5, lr=1e-3, **knobs)
    model = get_method(method).apply(_load(tiny_bert_dir), cfg.model)
    names = [n for n, _ in anchored_parameters(model)]
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert not any("classifier" in n for n in names), names
    # every trainable weight but the head: embeddings, layers, LayerNorm (those not frozen)
    assert names and names == [n for n in trainable if not n.startswith("classifier.")]
    opt = build_optimizer(model, cfg)
    pull = l2sp_pull(opt)
    assert pull is not None and len(pull.anchors) == len(names)
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1)  # a drift of 0.1 everywhere
    for p in model.parameters():  # zero gradients: Adam moves nothing, only the pull acts
        p.grad = torch.zeros_like(p) if p.requires_grad else None
    opt.step()
    params = dict(model.named_parameters())
    for n in names:  # drift 0.1 · (1 − 0.5) left: half of it undone at the peak rate
        torch.testing.assert_close(params[n] - start[n], torch.full_like(start[n], 0.05))
    assert torch.equal(params["classifier.bias"], start["classifier.bias"] + 0.1)


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
