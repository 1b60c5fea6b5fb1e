"""Which column holds the text, which the label, and which (if any) the label confidence.

Columns given by the user are checked to exist. Otherwise a column is found by its name
(``text``, ``review``, ``label``, ``sentiment`` … any case), then by its content: the text is
the string column with the longest mean length, the label a column with 2 to 50 distinct
values. When two columns fit equally well the workbench refuses to guess and asks for
``text_column`` / ``label_column``: training on the wrong column silently is worse than a
one-line error.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from workbench.errors import DataError

TEXT_NAMES = ("text", "sentence", "review", "tweet", "content", "body", "document", "input")
LABEL_NAMES = ("label", "labels", "sentiment", "class", "category", "target", "y")
CONFIDENCE_NAMES = ("confidence", "label_confidence", "score", "agreement")
MAX_CLASSES = 50
# A runner-up text column this close to the longest is a real second candidate.
AMBIGUOUS_LENGTH_RATIO = 0.8


@dataclass(frozen=True)
class Columns:
    """The columns prepare_data uses; ``confidence`` is None when there is none."""

    text: str
    label: str
    confidence: str | None


def detect_columns(
    frame: pd.DataFrame, text_column: str | None = None, label_column: str | None = None
) -> Columns:
    """Pick the text, label and confidence columns of ``frame``.

    Explicit names win; otherwise names from ``TEXT_NAMES``/``LABEL_NAMES``, then content.
    Raises :class:`DataError` listing the columns when a name is unknown or a guess is
    ambiguous.
    """
    names = [str(c) for c in frame.columns]
    for given, setting in ((text_column, "text_column"), (label_column, "label_column")):
        if given is not None and given not in names:
            raise DataError(f"{setting} {given!r} is not a column; columns: {_listing(names)}")
    if text_column is not None and text_column == label_column:
        raise DataError(f"text_column and label_column are both {text_column!r}; pick two columns")
    text = text_column or _by_name(names, TEXT_NAMES, "text", exclude={label_column})
    label = label_column or _by_name(names, LABEL_NAMES, "label", exclude={text})
    confidence = _confidence_column(frame, exclude={text, label})
    if text is None:
        text = _longest_text_column(frame, exclude={label, confidence})
    if label is None:
        label = _class_like_column(frame, exclude={text, confidence})
    return Columns(text=text, label=label, confidence=confidence)


def _listing(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _by_name(names: list[str], wanted: tuple[str, ...], role: str, exclude: set) -> str | None:
    hits = [n for n in names if n.strip().lower() in wanted and n not in exclude]
    if len(hits) > 1:
        raise DataError(
            f"several columns could hold the {role}: {_listing(hits)}; columns: "
            f"{_listing(names)}; pass {role}_column to choose one"
        )
    return hits[0] if hits else None


def _confidence_column(frame: pd.DataFrame, exclude: set) -> str | None:
    for name in frame.columns:
        if name in exclude or str(name).strip().lower() not in CONFIDENCE_NAMES:
            continue
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
            continue
        values = column.dropna()
        if len(values) and values.between(0.0, 1.0).all():
            return str(name)
    return None


def _longest_text_column(frame: pd.DataFrame, exclude: set) -> str:
    names = [str(c) for c in frame.columns]
    lengths: dict[str, float] = {}
    for name in names:
        if name in exclude:
            continue
        values = frame[name].dropna()
        if not len(values) or not all(isinstance(v, str) for v in values.head(200)):
            continue
        if values.nunique() > 1:  # a constant column carries no text to learn from
            lengths[name] = float(values.astype(str).str.len().mean())
    ranked = sorted(lengths, key=lambda n: -lengths[n])
    if not ranked:
        raise DataError(
            f"found no text column (no column of strings); columns: {_listing(names)}; "
            "pass text_column"
        )
    if len(ranked) > 1 and lengths[ranked[1]] >= AMBIGUOUS_LENGTH_RATIO * lengths[ranked[0]]:
        raise DataError(
            f"cannot tell which column holds the text: {_listing(ranked[:2])} are both long "
            f"strings; columns: {_listing(names)}; pass text_column"
        )
    return ranked[0]


def _class_like_column(frame: pd.DataFrame, exclude: set) -> str:
    names = [str(c) for c in frame.columns]
    candidates = []
    for name in names:
        if name in exclude:
            continue
        values = frame[name].dropna()
        if pd.api.types.is_float_dtype(values) and not (values == values.round()).all():
            continue  # fractional numbers are measurements, not classes
        distinct = values.astype(str).nunique()
        if 2 <= distinct <= MAX_CLASSES and distinct < len(values):
            candidates.append(name)
    if len(candidates) == 1:
        return candidates[0]
    found = f"{_listing(candidates)} could all be" if candidates else "no column looks like"
    raise DataError(
        f"cannot tell which column holds the label: {found} a label (2 to {MAX_CLASSES} "
        f"distinct values); columns: {_listing(names)}; pass label_column"
    )
