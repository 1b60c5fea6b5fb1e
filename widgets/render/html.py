"""Escaped HTML building blocks shared by the panels.

Datasets are untrusted input (PRODUCT.md, quality bar): every string that reaches an HTML
view — texts, labels, column names, error messages, file paths — goes through
:func:`html.escape` here, so no panel has to remember it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from workbench.config import ConfigError
from workbench.errors import UserError

# One style block per table instead of inline styles on every cell (a 1,000-row table stays
# small); the class name keeps it from leaking into the rest of the notebook.
STYLE = (
    "<style>.wb-table{border-collapse:collapse;font-size:12px}"
    ".wb-table th,.wb-table td{border:1px solid #ddd;padding:2px 6px;text-align:left;"
    "vertical-align:top}.wb-table th{background:#f5f5f5}</style>"
)


def plain(value: Any, digits: int = 4) -> str:
    """One value as text (not escaped): floats rounded, None as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def cell(value: Any, digits: int = 4) -> str:
    """One value as escaped text for an HTML cell."""
    return html.escape(plain(value, digits))


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """An HTML table of dict rows; every header and cell is escaped."""
    rows = list(rows)
    if columns is None:
        columns = list(rows[0]) if rows else []
    head = "".join(f"<th>{cell(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return (
        f"{STYLE}<table class='wb-table'><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def frame_table(frame: Any, max_rows: int = 5, max_chars: int = 200) -> str:
    """The first rows of a pandas DataFrame, texts cut to ``max_chars``, all escaped."""
    columns = [str(c) for c in frame.columns]
    rows = []
    for values in frame.head(max_rows).itertuples(index=False):
        row = {}
        for name, value in zip(columns, values, strict=True):
            text = str(value)
            row[name] = text if len(text) <= max_chars else text[:max_chars] + "…"
        rows.append(row)
    return table(rows, columns)


def error(message: str) -> str:
    """A red, escaped message (what a ConfigError, DataError or failed run says)."""
    return f"<div style='color:#c62828;white-space:pre-wrap'>{html.escape(message)}</div>"


def failure(err: BaseException) -> str:
    """An exception as message text (not escaped): a user error (``ConfigError``,
    ``DataError``, …) in its own words, which name the fix; anything else with its type."""
    return str(err) if isinstance(err, (UserError, ConfigError)) else f"{type(err).__name__}: {err}"


def note(message: str, color: str = "#555") -> str:
    """A muted, escaped one-line message."""
    return f"<div style='color:{color}'>{html.escape(message)}</div>"


def pre(text: str) -> str:
    """Escaped preformatted text (a multi-line engine summary keeps its layout)."""
    return f"<pre style='font-size:12px;margin:4px 0'>{html.escape(text)}</pre>"
