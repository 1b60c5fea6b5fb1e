"""From pixels to the model's input: resize, augment, normalise, batch — torch only.

Every image becomes ``(3, size, size)`` floats: grey images get their one channel three
times (the pretrained model saw colour photos), the side is resized to ``image_size`` with
antialiasing, and values are mapped from ``[0, 255]`` to ``[-1, 1]`` — the normalisation
EfficientNet-Lite was trained with (mean = std = 0.5 per channel).

Augmentation (training batches only, a regularizer: the model sees a slightly different
picture of each image every epoch) is one random affine map per image, applied with
``grid_sample``: a left-right mirror (``augment_flip``), a zoom into a random crop that
keeps at least ``1 − augment_crop`` of the area (``augment_crop``), and a rotation by up to
``augment_rotation`` degrees. Random numbers come from torch's global generator, which the
run's checkpoints save and restore, so a resumed run augments exactly as the uninterrupted
one would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

#: EfficientNet-Lite's input normalisation: ``(x − 0.5) / 0.5`` on values in [0, 1].
MEAN = 0.5
STD = 0.5


def to_tensor(image: np.ndarray, size: int) -> torch.Tensor:
    """``(h, w, 3)`` uint8 → ``(3, size, size)`` float in [0, 1], resized with antialiasing."""
    array = np.ascontiguousarray(image)
    if not array.flags.writeable:  # a slice of a read-only buffer: torch wants its own copy
        array = array.copy()
    x = torch.from_numpy(array).permute(2, 0, 1).float().div_(255.0)
    if x.shape[1:] != (size, size):
        x = F.interpolate(
            x[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )[0].clamp_(0.0, 1.0)
    return x


def normalize(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] pixels → the model's input range [-1, 1]."""
    return (x - MEAN) / STD


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """The model's input back to [0, 1] pixels (for showing it)."""
    return (x * STD + MEAN).clamp(0.0, 1.0)


class ImageExamples(Dataset[dict[str, Any]]):
    """One split as examples ``{"pixels": (3, size, size) in [0, 1], "labels", "index"}``.

    Files are read when an example is asked for, so a folder of photos is never all in
    memory; in-memory datasets (Fashion-MNIST) are sliced.
    """

    def __init__(self, split: Any, size: int, augment: bool = False) -> None:
        self.split = split
        self.size = size
        self.augment = augment  # a training split: its batches are augmented

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int) -> dict[str, Any]:
        pixels = to_tensor(self.split.image(i), self.size)
        return {
            "pixels": pixels,
            "labels": self.split.labels[i],
            "index": i,
            "augment": self.augment,
        }

    @property
    def lengths(self) -> list[int]:
        """Every image is the same size: the length-grouping sampler has nothing to group."""
        return [1] * len(self.split)


@dataclass(frozen=True)
class Augmentation:
    """The augmentation settings of a run (all off: the identity)."""

    flip: bool = False
    crop: float = 0.0  # largest share of the area a crop may cut away
    rotation: float = 0.0  # degrees, either way

    @classmethod
    def from_config(cls, cfg: Any) -> Augmentation:
        r = cfg.regularization
        return cls(r.augment_flip, r.augment_crop, r.augment_rotation)

    @property
    def active(self) -> bool:
        return self.flip or self.crop > 0 or self.rotation > 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Augment a batch ``(batch, 3, h, w)`` in [0, 1]; one random map per image."""
        if not self.active:
            return x
        n = x.shape[0]
        # Each image's map takes output coordinates (in [-1, 1]) to where it samples the input.
        angle = (torch.rand(n) * 2 - 1) * math.radians(self.rotation)
        # area kept in [1 − crop, 1] → side scale = sqrt(area); a smaller scale zooms in
        scale = torch.sqrt(1 - torch.rand(n) * self.crop)
        # the crop may sit anywhere inside the image: shift by up to what the zoom leaves free
        shift = (torch.rand(n, 2) * 2 - 1) * (1 - scale)[:, None]
        mirror = torch.where(torch.rand(n) < 0.5, -1.0, 1.0) if self.flip else torch.ones(n)
        cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
        theta = torch.stack(
            [
                torch.stack([cos * mirror, -sin, shift[:, 0]], dim=1),
                torch.stack([sin * mirror, cos, shift[:, 1]], dim=1),
            ],
            dim=1,
        )  # (batch, 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        # corners rotated in from outside the image are filled with its edge pixels
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class ImageCollator:
    """Stack examples into ``{"pixel_values": (batch, 3, size, size), "labels", "index"}``.

    The engine builds one collator for all its loaders; the examples of a training split
    carry ``augment=True`` (:class:`ImageExamples`), so only their batches are augmented.
    """

    def __init__(self, augment: Augmentation | None = None) -> None:
        self.augment = augment

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        pixels = torch.stack([e["pixels"] for e in examples])  # (batch, 3, size, size)
        if self.augment is not None and examples[0].get("augment"):
            pixels = self.augment(pixels)
        return {
            "pixel_values": normalize(pixels),
            "labels": torch.tensor([e["labels"] for e in examples], dtype=torch.long),
            "index": torch.tensor([e["index"] for e in examples], dtype=torch.long),
        }


@dataclass(frozen=True)
class ImageProcessor:
    """What turns images into model input for one model: its size and a run's augmentation.

    It fills the slot a tokenizer fills for text tasks (``Session.tokenizer``), so the
    engine hands it to :meth:`ImageClassification.encode` and ``collator`` unchanged.
    """

    size: int
    augmentation: Augmentation = Augmentation()

    def __call__(self, images: list[np.ndarray]) -> torch.Tensor:
        """Images ``(h, w, 3)`` uint8 of any sizes → model input ``(n, 3, size, size)``."""
        return batch_of(images, self.size)


def batch_of(images: list[np.ndarray], size: int) -> torch.Tensor:
    """Images ``(h, w, 3)`` uint8 of any sizes → the model's input ``(n, 3, size, size)``."""
    return normalize(torch.stack([to_tensor(im, size) for im in images]))
