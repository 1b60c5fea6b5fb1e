"""Images and their labels, read, checked and split: what the image task trains on.

Four ways to bring images, all ending in the same :class:`ImageData`:

* a **built-in** dataset by name (``fashion-mnist``, ``mnist-5k``; ``workbench datasets``):
  pixels in memory;
* a **folder** with one subfolder per class (``pets/cat/1.jpg``, ``pets/dog/2.png`` …);
* a **table** (CSV/TSV/JSONL/Parquet file, or a pandas DataFrame passed in) with a column of
  image file paths (relative ones are read from the table's folder) and a label column;
* a DataFrame whose image column holds the pixel arrays themselves.

Files are opened lazily (a folder of large photos is never all in memory); at preparation
only each file's header is read, and files that are missing or not images are dropped and
reported as a cleaning step, like empty texts are. Splitting and caps are the text task's
(:mod:`workbench.data.split`): stratified, deterministic for a seed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.data.labels import check_classes, label_names
from workbench.data.split import split_indices, stratified_cap
from workbench.errors import DataError

SPLITS = ("train", "val", "test")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
IMAGE_NAMES = ("image", "image_path", "path", "file", "filename", "filepath", "img")
LABEL_NAMES = ("label", "labels", "class", "category", "target", "y")


@dataclass(frozen=True)
class ImageSplit:
    """One split: either pixels in memory or image files, and a label index per image.

    ``ids`` name each image in prediction files: the file path, or ``dataset#row``.
    """

    labels: list[int]
    ids: list[str]
    pixels: np.ndarray | None = None  # (n, height, width[, 3]) uint8
    paths: list[str] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, i: int) -> np.ndarray:
        """Image ``i`` at its own size: ``(height, width, 3)`` uint8 RGB."""
        if self.pixels is not None:
            return as_rgb(self.pixels[i])
        assert self.paths is not None
        return load_image(self.paths[i])


@dataclass(frozen=True)
class ImageData:
    """Split images, class names, and the report of how they were read and cleaned.

    The same fields the engine and the coach read from the text task's ``PreparedData``:
    ``train``/``val``/``test``, ``labels``, ``cleaning``, ``balance``, ``source``.
    """

    train: ImageSplit
    val: ImageSplit
    test: ImageSplit
    labels: list[str]
    cleaning: list[dict[str, Any]]
    balance: dict[str, dict[str, int]]
    source: str
    image_column: str = "image"
    label_column: str = "label"

    def split(self, name: str) -> ImageSplit:
        if name not in SPLITS:
            raise DataError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        split: ImageSplit = getattr(self, name)
        return split

    def summary(self) -> str:
        """Source, cleaning, split sizes and class balance, one fact per line."""
        lines = [f"Data:     {self.source}"]
        lines += [
            f"Cleaning: {s['step']}: {s['removed']:,} removed, {s['rows_after']:,} left"
            for s in self.cleaning
            if s["removed"]
        ]
        lines.append("Splits:   " + " · ".join(f"{s} {len(self.split(s)):,}" for s in SPLITS))
        lines.append(f"Classes:  {len(self.labels)}")
        width = max(len("class"), *(len(x) for x in self.labels))
        for label in self.labels:
            counts = "  ".join(f"{self.balance[s].get(label, 0):>7,}" for s in SPLITS)
            lines.append(f"  {label:<{width}}  {counts}")
        return "\n".join(lines)


def prepare_images(cfg: Any, seed: int, source: Any = None) -> ImageData:
    """Read, check and split the images ``cfg`` (a ``DataConfig``) names, or ``source``.

    Raises
    ------
    DataError
        When the images cannot be found or read, the labels are unusable, or a class is too
        small to split; the message says what to change.
    """
    spec = cfg.dataset if source is None else source
    table = read_images(spec, cfg.image_column, cfg.label_column)
    names = label_names(table.labels, table.label_column)
    keep = np.array([n is not None for n in names])
    cleaning = [_step("drop missing labels", len(names), int(keep.sum()))]
    if table.paths is not None:
        readable = np.array(
            [k and is_image_file(p) for k, p in zip(keep, table.paths, strict=True)]
        )
        cleaning.append(_step("drop unreadable images", int(keep.sum()), int(readable.sum())))
        keep = readable
    if not keep.any():
        raise DataError(f"{table.description} has no labelled, readable images left")
    kept = [n for n, k in zip(names, keep, strict=True) if k and n is not None]
    classes = check_classes(kept, table.label_column)
    codes = np.array([classes.index(n) for n in kept], dtype=np.int64)
    rows = np.flatnonzero(keep)
    train, val, test = split_indices(codes, cfg.val_fraction, cfg.test_fraction, seed)
    caps = (cfg.max_train_samples, cfg.max_eval_samples, cfg.max_eval_samples)
    splits = {}
    for i, (name, part, cap) in enumerate(zip(SPLITS, (train, val, test), caps, strict=True)):
        chosen = stratified_cap(part, codes, cap, seed + i)
        splits[name] = _subset(table, rows[chosen], codes[chosen])
    balance = {
        name: {c: int(sum(1 for y in s.labels if y == i)) for i, c in enumerate(classes)}
        for name, s in splits.items()
    }
    return ImageData(
        splits["train"],
        splits["val"],
        splits["test"],
        classes,
        cleaning,
        balance,
        table.description,
        table.image_column,
        table.label_column,
    )


@dataclass
class _Table:
    """What a reader found: labels (raw) and either pixels or file paths per row."""

    labels: pd.Series
    description: str
    pixels: np.ndarray | None = None
    paths: list[str] | None = None
    ids: list[str] | None = None
    image_column: str = "image"
    label_column: str = "label"


def read_images(spec: Any, image_column: str | None, label_column: str | None) -> _Table:
    """Dispatch on what ``spec`` is: a built-in name, a folder, a table file, a DataFrame."""
    from workbench.data.sources import builtin_dataset
    from workbench.data.sources.images import ImageBuiltin

    builtin = builtin_dataset(spec)
    if isinstance(builtin, ImageBuiltin):
        pixels, codes, description = builtin.arrays()
        names = pd.Series(np.asarray(builtin.classes, dtype=object)[codes])
        ids = [f"{builtin.name}#{i}" for i in range(len(codes))]
        return _Table(names, description, pixels=pixels, ids=ids)
    if builtin is not None:
        raise DataError(
            f"dataset {spec!r} holds texts, not images; built-in image datasets: "
            f"{', '.join(image_builtins())}"
        )
    if isinstance(spec, pd.DataFrame):
        return _from_frame(spec, "the DataFrame passed in", None, image_column, label_column)
    if isinstance(spec, (str, os.PathLike)):
        path = Path(spec).expanduser()
        if path.is_dir():
            return read_folder(path)
        if not path.exists():
            raise DataError(
                f"image data not found: {path} (give a folder with one subfolder per class, a "
                f"CSV/Parquet file of image paths and labels, or a built-in dataset: "
                f"{', '.join(image_builtins())})"
            )
        from workbench.data.sources import read_source

        frame, description = read_source(str(path))
        return _from_frame(frame, description, path.parent, image_column, label_column)
    raise DataError(
        f"cannot read images from a {type(spec).__name__}; pass a built-in dataset name, a "
        "folder, a CSV/Parquet file of image paths, or a pandas DataFrame"
    )


def image_builtins() -> list[str]:
    from workbench.data.sources import builtin_names

    return builtin_names("image-classification")


def read_folder(folder: Path) -> _Table:
    """``folder/<class>/<image>``: the class is the subfolder's name."""
    paths, labels = [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for file in sorted(sub.rglob("*")):
            if file.is_file() and file.suffix.lower() in IMAGE_EXTENSIONS:
                paths.append(str(file))
                labels.append(sub.name)
    if not paths:
        raise DataError(
            f"folder {folder} has no images in class subfolders: put each class's images "
            f"({', '.join(IMAGE_EXTENSIONS)}) in a subfolder named after the class, e.g. "
            f"{folder / 'cat' / '1.jpg'}"
        )
    return _Table(pd.Series(labels, dtype=object), f"{folder} (folder of images)", paths=paths)


def _from_frame(
    frame: pd.DataFrame,
    description: str,
    base: Path | None,
    image_column: str | None,
    label_column: str | None,
) -> _Table:
    """A table with an image column (file paths, or pixel arrays) and a label column."""
    columns = [str(c) for c in frame.columns]
    image = _pick(columns, image_column, IMAGE_NAMES, "image_column", description)
    label = _pick(columns, label_column, LABEL_NAMES, "label_column", description, exclude=image)
    values = frame[image].tolist()
    labels = frame[label].reset_index(drop=True)
    if values and all(isinstance(v, np.ndarray) for v in values):
        shapes = {v.shape for v in values}
        if len(shapes) > 1:
            raise DataError(
                f"the images in column {image!r} of {description} have {len(shapes)} different "
                "shapes; resize them to one size first, or give file paths instead"
            )
        pixels = np.stack([np.clip(v, 0, 255).astype(np.uint8) for v in values])
        ids = [f"row {i}" for i in range(len(values))]
        return _Table(labels, description, pixels=pixels, ids=ids, image_column=image,
                      label_column=label)  # fmt: skip
    paths = [_resolve(v, base) for v in values]
    return _Table(labels, description, paths=paths, image_column=image, label_column=label)


def _pick(
    columns: list[str],
    given: str | None,
    names: tuple[str, ...],
    setting: str,
    description: str,
    exclude: str | None = None,
) -> str:
    if given is not None:
        if given not in columns:
            raise DataError(
                f"{setting} {given!r} is not a column of {description}; columns: "
                f"{', '.join(columns)}"
            )
        return given
    lower = {c.lower(): c for c in columns if c != exclude}
    for name in names:
        if name in lower:
            return lower[name]
    rest = [c for c in columns if c != exclude]
    if exclude is not None and len(rest) == 1:
        return rest[0]  # two columns: the other one is the label
    raise DataError(
        f"cannot tell which column of {description} holds the "
        f"{'image paths' if setting == 'image_column' else 'labels'} (columns: "
        f"{', '.join(columns)}); set {setting}"
    )


def _resolve(value: Any, base: Path | None) -> str:
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    path = Path(text).expanduser()
    if text and base is not None and not path.is_absolute():
        path = base / path
    return str(path)


def _subset(table: _Table, rows: np.ndarray, codes: np.ndarray) -> ImageSplit:
    if table.pixels is not None:
        ids = table.ids or [str(r) for r in range(len(table.pixels))]
        return ImageSplit(
            codes.tolist(), [ids[r] for r in rows], pixels=table.pixels[rows], paths=None
        )
    assert table.paths is not None
    paths = [table.paths[r] for r in rows]
    return ImageSplit(codes.tolist(), list(paths), pixels=None, paths=paths)


def _step(name: str, before: int, after: int) -> dict[str, Any]:
    return {"step": name, "removed": before - after, "changed": 0, "rows_after": after}


def is_image_file(path: str) -> bool:
    """True when ``path`` exists and PIL recognizes it as an image (only the header is read)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.size  # noqa: B018 - parsing the header is the check
        return True
    except (OSError, UnidentifiedImageError, ValueError):
        return False


def load_image(path: str) -> np.ndarray:
    """The image file as ``(height, width, 3)`` uint8 RGB (grey and RGBA converted)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise DataError(f"cannot read image {path}: {err}") from None


def as_rgb(pixels: np.ndarray) -> np.ndarray:
    """``(h, w)`` grey or ``(h, w, 1|3|4)`` as ``(h, w, 3)`` uint8."""
    array = np.asarray(pixels)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array[:, :, :3]).astype(np.uint8, copy=False)
