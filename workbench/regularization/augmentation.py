"""Data augmentation: each epoch the model sees a slightly different picture of each image.

Mirroring, cropping and rotating training images (``augment_flip``, ``augment_crop``,
``augment_rotation``; image-classification only) is a regularizer like dropout: it adds
noise the model must become indifferent to, which makes memorizing the training images
harder. The image task's collator applies it (:mod:`workbench.tasks.image_classification.
transforms`); it registers here so that it is listed and described with the others.
"""

from __future__ import annotations

from workbench.config import TrainConfig
from workbench.regularization.base import Regularizer


class DataAugmentation(Regularizer):
    name = "data augmentation"
    summary = "Random mirror, crop and rotation of training images (a new variant each epoch)."
    setting = "augment_flip"

    def active(self, cfg: TrainConfig) -> bool:
        r = cfg.regularization
        return r.augment_flip or r.augment_crop > 0 or r.augment_rotation > 0

    def describe(self, cfg: TrainConfig) -> str:
        r = cfg.regularization
        parts = [
            "flip" if r.augment_flip else "",
            f"crop {r.augment_crop:g}" if r.augment_crop else "",
            f"rotation ±{r.augment_rotation:g}°" if r.augment_rotation else "",
        ]
        return f"{self.name}: {', '.join(p for p in parts if p)}"
