"""JSON files: one object per line (``.jsonl``/``.ndjson``) or one array of objects (``.json``).

A ``.json`` file may also hold an object of equal-length columns
(``{"text": [...], "label": [...]}``) or, as many exports do, JSON lines despite its
name. Each line is parsed on its own so that an error can name the line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from workbench.data.sources.base import FileSource, read_utf8
from workbench.errors import DataError


class JsonRecords(FileSource):
    """JSON Lines or a JSON array of records."""

    name: ClassVar[str] = "json"
    summary: ClassVar[str] = "JSON Lines (one object per line) or a JSON array of objects (UTF-8)"
    extensions: ClassVar[tuple[str, ...]] = (".jsonl", ".ndjson", ".json")

    def read_file(self, path: Path) -> pd.DataFrame:
        text = read_utf8(path)
        if path.suffix.lower() == ".json":
            try:
                return _frame_from_document(json.loads(text), path)
            except json.JSONDecodeError as err:
                if err.msg != "Extra data":  # several documents: JSON lines after all
                    raise DataError(
                        f"data file {path} is not valid JSON at line {err.lineno}, column "
                        f"{err.colno}: {err.msg}"
                    ) from None
        return pd.DataFrame.from_records(_parse_lines(text, path))


def _parse_lines(text: str, path: Path) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(
                f"data file {path}: line {number} is not valid JSON ({err.msg}); "
                "JSON Lines needs one complete object per line"
            ) from None
        if not isinstance(record, dict):
            raise DataError(
                f"data file {path}: line {number} holds a {type(record).__name__}, "
                'not an object like {"text": ..., "label": ...}'
            )
        records.append(record)
    return records


def _frame_from_document(document: object, path: Path) -> pd.DataFrame:
    if isinstance(document, list) and all(isinstance(r, dict) for r in document):
        return pd.DataFrame.from_records(document)
    if isinstance(document, dict) and all(isinstance(v, list) for v in document.values()):
        lengths = {len(v) for v in document.values()}
        if len(lengths) <= 1:
            return pd.DataFrame(document)
    raise DataError(
        f"data file {path} must hold an array of objects or an object of equal-length "
        f"columns; found a {type(document).__name__} of another shape"
    )
