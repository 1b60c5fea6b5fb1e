"""Parquet files (``.parquet``/``.pq``), read with pyarrow through pandas.

Parquet stores its own column types and always UTF-8 strings, so no encoding or
delimiter has to be guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pandas as pd

from workbench.data.sources.base import FileSource
from workbench.errors import DataError


class ParquetFile(FileSource):
    """A Parquet table."""

    name: ClassVar[str] = "parquet"
    summary: ClassVar[str] = "Parquet file"
    extensions: ClassVar[tuple[str, ...]] = (".parquet", ".pq")

    def read_file(self, path: Path) -> pd.DataFrame:
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
            detail = (str(err).strip() or type(err).__name__).splitlines()[0]
            raise DataError(f"data file {path} is not a readable Parquet file: {detail}") from None
