"""Image classification as a plugin folder: data, batching, model, evaluation, explanation.

>>> from workbench import TrainConfig, train
>>> cfg = TrainConfig().replace(task="image-classification", model="efficientnet-lite0",
...                             dataset="fashion-mnist", method="full", epochs=1)
>>> run = train(cfg, block=True)
>>> from workbench.tasks.image_classification import explain_image, overlay_png
>>> e = explain_image(run.session.model, "boot.png", method="integrated-gradients")

What the UI and lessons call (all headless; pictures come back as arrays or PNG bytes):

==================================  ==========================================================
data preview, class balance         :func:`prepare_images` → ``ImageData`` (``.balance``),
                                    :func:`preview`, :func:`grid_png`
confusion matrix, misclassified     ``summary.json`` ``confusion_matrix``;
                                    :func:`misclassified` rows, :func:`image_of` pixels
explain: heatmaps, trust            :func:`explain_image` → :class:`ImageExplanation`,
                                    :func:`overlay_png`, :func:`heatmap_colors`, :func:`overlay`
predict on image files              ``workbench.load_run(dir).predict([paths])``
==================================  ==========================================================
"""

from __future__ import annotations

import numpy as np

from workbench.tasks.image_classification.data import ImageData, ImageSplit, prepare_images
from workbench.tasks.image_classification.evaluation import misclassified, read_predictions
from workbench.tasks.image_classification.explain import (
    PIXEL_METHODS,
    ImageExplanation,
    explain_image,
)
from workbench.tasks.image_classification.model import (
    ImageClassifier,
    ImageModelConfig,
    load_model_folder,
    save_model,
    swap_pointwise_convs,
)
from workbench.tasks.image_classification.render import (
    grid,
    grid_png,
    heatmap_colors,
    overlay,
    overlay_png,
    png_bytes,
)
from workbench.tasks.image_classification.runs import image_of, predict_images
from workbench.tasks.image_classification.task import ImageClassification


def preview(
    data: ImageData, split: str = "train", per_class: int = 4
) -> tuple[list[np.ndarray], list[str]]:
    """The first ``per_class`` images of each class in ``split`` and their class names:
    what the Data view's preview grid shows (``grid_png(*preview(data))`` without captions,
    ``grid_png(images, captions=names)`` with)."""
    part = data.split(split)
    images: list[np.ndarray] = []
    names: list[str] = []
    for k, label in enumerate(data.labels):
        rows = [i for i, y in enumerate(part.labels) if y == k][:per_class]
        images += [part.image(i) for i in rows]
        names += [label] * len(rows)
    return images, names


__all__ = [
    "PIXEL_METHODS",
    "ImageClassification",
    "ImageClassifier",
    "ImageData",
    "ImageExplanation",
    "ImageModelConfig",
    "ImageSplit",
    "explain_image",
    "grid",
    "grid_png",
    "heatmap_colors",
    "image_of",
    "load_model_folder",
    "misclassified",
    "overlay",
    "overlay_png",
    "png_bytes",
    "predict_images",
    "prepare_images",
    "preview",
    "read_predictions",
    "save_model",
    "swap_pointwise_convs",
]
