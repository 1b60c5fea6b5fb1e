"""A finished image run, used: predict on image files, re-evaluate, find its test images.

Everything here reads the run directory only (``config.yaml``, ``model/``,
``test_predictions.jsonl``), so it works in a fresh process or on another machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.errors import DataError
from workbench.tasks.image_classification.data import as_rgb, load_image

#: Images per forward pass when predicting.
PREDICT_BATCH = 64


def as_image(item: Any) -> np.ndarray:
    """A path, a PIL image or an array as ``(h, w, 3)`` uint8."""
    if isinstance(item, (str, Path)):
        return load_image(str(Path(item).expanduser()))
    if isinstance(item, np.ndarray):
        return as_rgb(item)
    convert = getattr(item, "convert", None)  # a PIL image
    if callable(convert):
        return np.asarray(convert("RGB"), dtype=np.uint8)
    raise DataError(
        f"cannot read an image from a {type(item).__name__}; give a file path, a PIL image "
        "or a (height, width[, 3]) uint8 array"
    )


@torch.no_grad()
def predict_images(
    model: torch.nn.Module, processor: Any, inputs: list[Any]
) -> list[dict[str, Any]]:
    """Class and probabilities for each image (file paths, PIL images or arrays).

    Returns one dict per input: ``image`` (the path, or its position), ``label``,
    ``confidence`` and ``probs`` (class name → probability).
    """
    labels = list(model_labels(model))
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out: list[dict[str, Any]] = []
    try:
        for start in range(0, len(inputs), PREDICT_BATCH):
            chunk = inputs[start : start + PREDICT_BATCH]
            x = processor([as_image(item) for item in chunk]).to(device)
            probs = torch.softmax(model(x).float(), -1).cpu()
            for j, (item, row) in enumerate(zip(chunk, probs.tolist(), strict=True)):
                best = int(np.argmax(row))
                name = str(item) if isinstance(item, (str, Path)) else f"#{start + j}"
                out.append(
                    {
                        "image": name,
                        "label": labels[best],
                        "confidence": row[best],
                        "probs": dict(zip(labels, row, strict=True)),
                    }
                )
    finally:
        model.train(was_training)
    return out


def model_labels(model: torch.nn.Module) -> list[str]:
    """Class names of an image classifier of this task (looking through a peft wrapper)."""
    get_base = getattr(model, "get_base_model", None)
    base = get_base() if callable(get_base) else model
    return [str(x) for x in getattr(getattr(base, "config", None), "labels", [])]


def image_of(ref: str) -> np.ndarray:
    """The pixels ``(h, w, 3)`` of an image named in ``test_predictions.jsonl``: a file
    path, or ``dataset#row`` for a built-in dataset (read once per kernel, then cached)."""
    name, _, row = ref.rpartition("#")
    if name and row.isdigit():
        from workbench.cache import cached
        from workbench.data.sources import builtin_dataset
        from workbench.data.sources.images import ImageBuiltin

        source = builtin_dataset(name)
        if isinstance(source, ImageBuiltin):
            pixels = cached("image-builtin", name, lambda: source.arrays()[0])
            return as_rgb(pixels[int(row)])
    return load_image(ref)


def evaluate_run(run: Any, batch_size: int = 64) -> dict[str, Any]:
    """Test metrics of a run's exported model, recomputed from disk on its test split."""
    from torch.utils.data import DataLoader

    from workbench.tasks.image_classification.data import prepare_images
    from workbench.tasks.image_classification.evaluation import evaluate_images
    from workbench.tasks.image_classification.transforms import ImageCollator, ImageExamples

    model, processor = run.load_model()
    data = prepare_images(run.config.data, run.config.optim.seed)
    labels = list(model.config.labels)
    if labels != list(data.labels):
        raise DataError(
            f"the test data of {run.path} has classes {data.labels}, the model knows {labels}; "
            "evaluate on data with the model's classes, or train a new run on this data"
        )
    examples = ImageExamples(data.test, processor.size)
    loader = DataLoader(examples, batch_size=batch_size, collate_fn=ImageCollator())
    metrics = evaluate_images(model, loader, labels)
    metrics.pop("probs")
    metrics["examples"] = len(data.test)
    return metrics
