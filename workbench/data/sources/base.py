"""The small base every data source builds on, plus the checks all sources share.

A data source turns one kind of input (a built-in dataset name, a file of some format,
an in-memory table) into a raw :class:`pandas.DataFrame` and a one-line description of
where it came from. Sources do no cleaning and no column guessing: that happens once,
for every source alike, in :mod:`workbench.data.prepare`. Each source is one file that
registers in ``SOURCES`` (:mod:`workbench.data.sources`, CONVENTIONS rule 3).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from workbench.errors import DataError


class Source:
    """Base class: subclasses set ``name``/``summary`` and override ``accepts`` and ``read``."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def accepts(self, spec: object) -> bool:
        """Whether this source reads ``spec`` (a name, a path or an in-memory table)."""
        raise NotImplementedError

    def read(self, spec: Any) -> tuple[pd.DataFrame, str]:
        """The raw table and a human description of where it came from."""
        raise NotImplementedError


class BuiltinDataset(Source):
    """A dataset that ships with the workbench, asked for by name (``workbench datasets``)."""

    #: Facts about the shipped data, so that listing datasets reads no rows.
    rows: ClassVar[int] = 0
    classes: ClassVar[tuple[str, ...]] = ()
    #: The task this dataset is made for (``workbench.tasks``).
    task: ClassVar[str] = "text-classification"

    def accepts(self, spec: object) -> bool:
        return isinstance(spec, str) and spec == self.name

    def available(self) -> bool:
        """Whether the data is installed (no rows are read)."""
        raise NotImplementedError


class FileSource(Source):
    """A source for files with given extensions; ``read_file`` gets an existing path."""

    extensions: ClassVar[tuple[str, ...]] = ()

    def accepts(self, spec: object) -> bool:
        return isinstance(spec, (str, os.PathLike)) and file_extension(spec) in self.extensions

    def read(self, spec: Any) -> tuple[pd.DataFrame, str]:
        path = Path(spec).expanduser()
        return self.read_file(path), str(spec)

    def read_file(self, path: Path) -> pd.DataFrame:
        raise NotImplementedError


def file_extension(spec: str | os.PathLike[str]) -> str:
    """Lower-case extension of a path, with its dot (``'.csv'``)."""
    return Path(spec).suffix.lower()


def read_utf8(path: Path) -> str:
    """The whole file as text, insisting on UTF-8 (a byte-order mark is allowed).

    Guessing another encoding silently garbles text, so a file that is not UTF-8 is an
    error naming the first bad byte.
    """
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read data file {path}: {err.strerror or err}") from None
    if not raw.strip():
        raise DataError(f"data file {path} is empty")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        byte = raw[err.start]
        raise DataError(
            f"data file {path} is not UTF-8 text (byte 0x{byte:02x} at offset {err.start}); "
            "save it as UTF-8 and try again"
        ) from None


def check_frame(frame: pd.DataFrame, description: str) -> pd.DataFrame:
    """Shared checks on what any source returns: string column names, no duplicates, rows."""
    names = [str(c) for c in frame.columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DataError(
            f"{description} has duplicate column names: {', '.join(duplicates)}; "
            "rename them so each column has its own name"
        )
    if len(frame) == 0:
        raise DataError(f"{description} has no rows (columns: {', '.join(names) or 'none'})")
    return frame.set_axis(names, axis=1)
