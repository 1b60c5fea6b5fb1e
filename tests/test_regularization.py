"""Regularizers that act on training as a whole: L2-SP's pull towards the pretrained weights
(with no weight decay on what it anchors, exact on resume) and early stopping with a patience
above 1, whose best weights, not the last, are tested and exported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from workbench import TrainConfig, train
from workbench.runs.handle import RunHandle


def _drift(model: torch.nn.Module, pretrained: dict[str, torch.Tensor]) -> float:
    """‖w − w₀‖ / ‖w₀‖ over the encoder layers (L2-SP anchors them in a full fine-tune)."""
    params = dict(model.named_parameters())
    names = [n for n in pretrained if n.startswith("bert.encoder.")]
    moved = sum(float(((params[n].detach().cpu() - pretrained[n]) ** 2).sum()) for n in names)
    size = sum(float((pretrained[n] ** 2).sum()) for n in names)
    return (moved / size) ** 0.5


def _trained(handle: RunHandle) -> torch.nn.Module:
    assert handle.session is not None
    return handle.session.accelerator.unwrap_model(handle.session.model)  # type: ignore[no-any-return]


def test_l2sp_keeps_the_pretrained_weights_nearer_their_start(
    tiny_config: TrainConfig, toy_data, tiny_bert_dir: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Same run, same batches, with and without L2-SP (α 0.3: 30 % of the drift undone per
    step at the peak rate): the encoder ends measurably nearer its pretrained weights."""
    from transformers import AutoModelForSequenceClassification

    pretrained = {
        n: p.detach().clone()
        for n, p in AutoModelForSequenceClassification.from_pretrained(
            tiny_bert_dir
        ).named_parameters()
    }
    # epochs 1: one evaluation, at the last step, so the best weights are the last ones
    cfg = tiny_config.replace(epochs=1.0, weight_decay=0.0, save_checkpoints=False)
    plain = train(cfg.replace(out=str(tmp_path / "plain")), data=toy_data, block=True)
    pulled = train(cfg.replace(l2sp=0.3, out=str(tmp_path / "l2sp")), data=toy_data, block=True)
    assert plain.status == pulled.status == "completed", (plain.summary, pulled.summary)
    assert plain.summary and plain.summary["best_step"] == plain.summary["steps"]
    without, with_l2sp = _drift(_trained(plain), pretrained), _drift(_trained(pulled), pretrained)
    # measured: 0.233 without, 0.103 with (7 steps at peak lr 1e-2, linear schedule); α 0.01
    # gives 0.227, 0.1 gives 0.176, 1.0 gives 0.024: the pull grows steadily with α
    print(f"relative drift of the encoder: {without:.3f} without L2-SP, {with_l2sp:.3f} with")
    assert without > 0.05, without  # the run did move the encoder
    assert with_l2sp < 0.6 * without, (with_l2sp, without)


def test_l2sp_anchored_weights_get_no_weight_decay(tiny_bert_dir: str) -> None:
    """With zero gradients Adam moves nothing: only decay and the pull act. The anchored
    weights (at w₀) stay exactly where they are; the new head's weight decays by lr·λ."""
    from transformers import AutoModelForSequenceClassification

    from workbench.regularization.l2sp import anchored_parameters
    from workbench.training.session import build_optimizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir)
    cfg = TrainConfig().replace(model=tiny_bert_dir, lr=1e-2, weight_decay=0.5, l2sp=0.1)
    opt = build_optimizer(model, cfg)
    anchored = dict(anchored_parameters(model))
    groups = {id(p): g for g in opt.param_groups for p in g["params"]}
    assert all(groups[id(p)]["weight_decay"] == 0.0 for p in anchored.values())
    assert groups[id(model.classifier.weight)]["weight_decay"] == 0.5  # the head keeps it
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    for _ in range(3):
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        opt.step()
    params = dict(model.named_parameters())
    for name in anchored:
        assert torch.equal(params[name], start[name]), name
    torch.testing.assert_close(
        model.classifier.weight, start["classifier.weight"] * (1 - 1e-2 * 0.5) ** 3
    )


def _stop_at(cfg: TrainConfig, data: Any, step: int) -> RunHandle:
    """Run ``cfg``, pressing Stop from inside the worker the moment step ``step`` is logged."""
    handle = RunHandle(cfg.resolved())
    emit = handle.log.emit

    def emit_then_stop(type: str, **fields: Any) -> Any:
        event = emit(type, **fields)
        if type == "step" and fields["step"] >= step:
            handle.stop()
        return event

    handle.log.emit = emit_then_stop  # type: ignore[method-assign]
    return handle.start(data, block=True)


def test_resume_with_l2sp_continues_exactly(tiny_config: TrainConfig, toy_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The anchors of a resumed run are the pretrained weights, not the resumed ones: every
    step after the resume point has the uninterrupted run's loss, and the weights end equal."""
    from workbench.runs.directory import check_resumable
    from workbench.training.checkpoint import load_checkpoint

    cfg = tiny_config.replace(epochs=2.0, l2sp=0.2, dropout=0.0, attention_dropout=0.0)
    straight = train(cfg.replace(out=str(tmp_path / "straight")), data=toy_data, block=True)
    part = tmp_path / "interrupted"
    assert _stop_at(cfg.replace(out=str(part)), toy_data, 5).status == "stopped"
    resumed = RunHandle(TrainConfig.load(check_resumable(part) / "config.yaml"), part)
    resumed.start(toy_data, block=True)
    assert straight.status == resumed.status == "completed"

    def losses(handle: RunHandle) -> dict[int, float]:
        return {e["step"]: e["loss"] for e in handle.history if e["type"] == "step"}

    a, b = losses(straight), losses(resumed)
    after = [k for k in a if k > 5]
    assert len(after) >= 8 and after == [k for k in b if k > 5]
    for k in after:
        assert b[k] == pytest.approx(a[k], rel=1e-6, abs=1e-7), (k, a[k], b[k])
    wa = load_checkpoint(tmp_path / "straight" / "checkpoints" / "last")["weights"]
    wb = load_checkpoint(part / "checkpoints" / "last")["weights"]
    assert max(float((wa[n] - wb[n]).abs().max()) for n in wa) <= 1e-6


# ------------------------------------------------------------------------ early stopping
# Validation losses, one per evaluation: a single bad evaluation (3), then a new best (4),
# then only worse ones. Patience 2 stops at evaluation 6, patience 3 at 7; best is 4.
SCRIPTED_VAL_LOSS = [1.0, 0.9, 0.95, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.91, 0.92]


@pytest.mark.parametrize("patience", [2, 3])
def test_early_stopping_waits_for_patience_bad_evaluations_in_a_row(
    patience: int, tiny_config: TrainConfig, toy_data, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """One bad evaluation does not stop the run, ``patience`` in a row do; the best
    weights (evaluation 4), not the last, are what is tested and exported."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from workbench.runs.restore import model_from_checkpoint, pick_checkpoint
    from workbench.tasks.text_classification.task import TextClassification

    real = TextClassification.evaluate
    val_losses = iter(SCRIPTED_VAL_LOSS)

    def scripted(self, s, loader):  # type: ignore[no-untyped-def]
        out = real(self, s, loader)
        if loader is s.val_loader:  # the test split is measured for real
            out["loss"] = next(val_losses)
        return out

    monkeypatch.setattr(TextClassification, "evaluate", scripted)
    cfg = tiny_config.replace(
        epochs=10.0, eval_every=1, early_stopping=patience, early_stopping_metric="val_loss"
    )
    handle = train(cfg, data=toy_data, block=True)
    assert handle.status == "completed", handle.summary
    summary = handle.summary
    assert summary is not None and summary["early_stopped"]
    stop = 4 + patience
    assert [e["step"] for e in handle.history if e["type"] == "eval"] == list(range(1, stop + 1))
    assert summary["steps"] == stop and summary["best_step"] == 4
    assert summary["val_loss"] == 0.8  # the best evaluation's, not the last one's

    run = Path(cfg.run.out or "")
    rows = [json.loads(x) for x in (run / "test_predictions.jsonl").read_text().splitlines()]
    exported = AutoModelForSequenceClassification.from_pretrained(run / "model").eval()
    tokenizer = AutoTokenizer.from_pretrained(run / "model")
    inputs = tokenizer([r["text"] for r in rows], padding=True, return_tensors="pt")
    labels = summary["labels"]

    def logits(model: torch.nn.Module) -> torch.Tensor:
        with torch.no_grad():
            return model(**inputs).logits  # type: ignore[no-any-return]

    best = model_from_checkpoint(cfg, pick_checkpoint(run, "best"), labels, merge=True)[0]  # type: ignore[arg-type]
    last = model_from_checkpoint(cfg, pick_checkpoint(run, "last"), labels, merge=True)[0]  # type: ignore[arg-type]
    assert pick_checkpoint(run, "best").step == 4  # type: ignore[union-attr]
    shipped = logits(exported)
    torch.testing.assert_close(shipped, logits(best), atol=1e-5, rtol=0)
    # the last weights are far from the best ones: the comparison above can tell them apart
    assert float((logits(last) - shipped).abs().max()) > 1e-2
    # what was tested: the prediction file's probabilities are the exported model's
    tested = torch.tensor([r["probs"] for r in rows])
    torch.testing.assert_close(tested, torch.softmax(shipped, -1), atol=1e-5, rtol=0)


# ------------------------------------------------------------------------ conformance
# One row per registered regularizer: the setting that switches it on (and its "off"), any
# other setting it needs, and what its effect on a short run is seen in. A regularizer
# whose effect shows only in other conditions names the test that shows it.
CONFORMANCE: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]] = {
    "weight_decay": ({"weight_decay": 0.5}, {"weight_decay": 0.0}, {}, "weights"),
    # a dropout rate is off at None (the model's own rate): 0.0 is a rate like any other
    "dropout": ({"dropout": 0.5}, {"dropout": None}, {}, "losses"),
    "attention_dropout": ({"attention_dropout": 0.5}, {"attention_dropout": None}, {}, "losses"),
    "classifier_dropout": (
        {"classifier_dropout": 0.5},
        {"classifier_dropout": None},
        {},
        "losses",
    ),
    "label_smoothing": ({"label_smoothing": 0.3}, {"label_smoothing": 0.0}, {}, "losses"),
    "max_grad_norm": ({"max_grad_norm": 1e-3}, {"max_grad_norm": 0.0}, {}, "weights"),
    "l2sp": ({"l2sp": 0.5}, {"l2sp": 0.0}, {}, "weights"),
    "lora_dropout": ({"lora_dropout": 0.5}, {"lora_dropout": 0.0}, {"method": "lora"}, "losses"),
}
SHOWN_ELSEWHERE = {
    "early_stopping": "test_regularization.py::test_early_stopping_waits_for_patience_bad_"
    "evaluations_in_a_row",
    "augmentation": "test_image_classification.py::test_augmentation_touches_training_batches_only",
}


def test_every_registered_regularizer_has_a_conformance_row() -> None:
    from workbench.regularization import REGULARIZERS

    assert set(REGULARIZERS) == set(CONFORMANCE) | set(SHOWN_ELSEWHERE)
    tests = Path(__file__).parent
    for where in SHOWN_ELSEWHERE.values():
        module, name = where.split("::")
        assert f"def {name}(" in (tests / module).read_text("utf-8"), f"{where} is gone"


@pytest.mark.parametrize("name", sorted(CONFORMANCE))
def test_a_regularizer_is_on_exactly_when_its_setting_says_and_acts_on_training(
    name: str, tiny_config: TrainConfig, toy_data: Any, tmp_path: Path
) -> None:
    """Its setting is a config field with help text; build_regularizers includes it when the
    setting is on and leaves it out when off; describe() names the value; and a short run
    with it on differs from the same run (same seed, same batches) with it off."""
    from workbench.config import all_fields
    from workbench.regularization import REGULARIZERS, build_regularizers

    on, off, needs, effect = CONFORMANCE[name]
    reg = REGULARIZERS[name]()
    assert reg.name and reg.summary and reg.setting in TrainConfig().flat()
    helps = {f.name: f.metadata.get("help") for _, f, _ in all_fields()}
    assert helps.get(reg.setting), f"{reg.setting} has no help text"
    base = tiny_config.replace(epochs=1.0, save_checkpoints=False, **needs)
    cfg_on, cfg_off = base.replace(**on), base.replace(**off)
    kinds = REGULARIZERS[name]
    assert any(isinstance(r, kinds) for r in build_regularizers(cfg_on))
    assert not any(isinstance(r, kinds) for r in build_regularizers(cfg_off))
    assert str(next(iter(on.values()))) in reg.describe(cfg_on)

    seen = {}
    for label, cfg in (("on", cfg_on), ("off", cfg_off)):
        handle = train(cfg.replace(out=str(tmp_path / label)), data=toy_data, block=True)
        assert handle.status == "completed", handle.history[-3:]
        losses = [e["loss"] for e in handle.history if e["type"] == "step"]
        weights = torch.cat([p.detach().flatten() for p in _trained(handle).parameters()])
        seen[label] = (losses, weights)
    if effect == "losses":
        assert seen["on"][0] != pytest.approx(seen["off"][0], abs=1e-6), f"{name} changed no loss"
    else:
        moved = float((seen["on"][1] - seen["off"][1]).abs().max())
        assert moved > 1e-5, f"{name} changed no weight (max |Δ| {moved:g})"
