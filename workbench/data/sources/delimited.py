"""Delimited text files: ``.csv``, ``.tsv`` and ``.txt``, with the delimiter sniffed.

The file must be UTF-8. The delimiter is the candidate (comma, tab, semicolon, pipe) that
occurs most often in the header line; ``.tsv`` is always tab-separated. Empty cells are
missing values, while words such as ``NA`` or ``null`` stay text (they are real tweets).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import ClassVar

import pandas as pd

from workbench.data.sources.base import FileSource, read_utf8
from workbench.errors import DataError

DELIMITERS = (",", "\t", ";", "|")


class DelimitedFile(FileSource):
    """CSV/TSV/TXT table with a header row."""

    name: ClassVar[str] = "delimited"
    summary: ClassVar[str] = "CSV, TSV or delimited TXT file with a header row (UTF-8)"
    extensions: ClassVar[tuple[str, ...]] = (".csv", ".tsv", ".txt")

    def read_file(self, path: Path) -> pd.DataFrame:
        text = read_utf8(path)
        delimiter = sniff_delimiter(text, path.suffix.lower())
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
        duplicates = sorted({h for h in header if header.count(h) > 1})
        if duplicates:
            raise DataError(
                f"data file {path} has duplicate column names: {', '.join(duplicates)}; "
                "rename them so each column has its own name"
            )
        try:
            frame = pd.read_csv(
                io.StringIO(text), sep=delimiter, keep_default_na=False, na_values=[""]
            )
        except pd.errors.ParserError as err:
            raise DataError(f"data file {path} is not well-formed: {_explain(err)}") from None
        except pd.errors.EmptyDataError:
            raise DataError(f"data file {path} has no header row") from None
        _check_delimiter(path, header, delimiter)
        return frame


def sniff_delimiter(text: str, extension: str) -> str:
    """The delimiter of a table: tab for ``.tsv``, else the commonest in the header line."""
    if extension == ".tsv":
        return "\t"
    first_line = text.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties keep the order above
    if counts[best] == 0:
        return "," if extension == ".csv" else "\t"
    return best


def _check_delimiter(path: Path, header: list[str], delimiter: str) -> None:
    """One column whose name holds another delimiter: the file is split by something else
    (a ``.tsv`` that is really semicolon-separated); say so instead of guessing columns."""
    if len(header) != 1:
        return
    others = [d for d in DELIMITERS if d != delimiter and d in header[0]]
    if others:
        shown = {"\t": "tab"}.get(others[0], repr(others[0]))
        expected = {"\t": "tab"}.get(delimiter, repr(delimiter))
        raise DataError(
            f"data file {path} reads as one column {header[0]!r}: it looks separated by "
            f"{shown}, but it was read as {expected}-separated (.tsv files are always "
            "tab-separated); save it with the right delimiter or rename it to .csv"
        )


def _explain(err: pd.errors.ParserError) -> str:
    """pandas' tokenizer message as a fix-it sentence that names the line."""
    message = str(err)
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:
        start = int(quote.group(1)) + 1  # pandas counts rows from 0, header included
        return (
            f"a quoted field starting near line {start} is never closed (unterminated quote); "
            "close the quote or escape it as two double quotes"
        )
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if fields:
        want, line, saw = fields.groups()
        return (
            f"line {line} has {saw} fields but the header has {want}; quote fields that "
            "contain the delimiter"
        )
    return message.replace("Error tokenizing data. C error: ", "").strip()
