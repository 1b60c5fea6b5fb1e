"""``prepare_data``: from a dataset name, file or table to cleaned, split, reported data.

The steps read top to bottom: read the source, pick the columns, turn labels into class
names, clean (:mod:`~workbench.data.cleaning`), check the classes, split and cap
(:mod:`~workbench.data.split`), and record what happened in a :class:`PreparedData`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.config import DataConfig
from workbench.data.cleaning import build_steps, run_steps
from workbench.data.columns import CONFIDENCE_NAMES, detect_columns
from workbench.data.labels import check_classes, is_missing, label_names
from workbench.data.prepared import SPLITS, PreparedData, Split
from workbench.data.sources import read_source
from workbench.data.split import split_indices, stratified_cap
from workbench.errors import DataError


def prepare_data(cfg: DataConfig, seed: int, source: Any = None) -> PreparedData:
    """Read, clean and split a dataset as ``cfg`` says.

    Parameters
    ----------
    cfg
        Data settings: dataset, columns, cleaning switches, split fractions and caps.
    seed
        Seed of the split and the caps: the same seed gives the same splits.
    source
        What to read instead of ``cfg.dataset``: a built-in name, a file path, a pandas
        DataFrame or a ``datasets.Dataset``. None uses ``cfg.dataset``.

    Raises
    ------
    DataError
        When the data cannot be read, has unusable columns or labels, or nothing is left
        after cleaning; the message says what to change.
    """
    raw, description = read_source(cfg.dataset if source is None else source)
    columns = detect_columns(raw, cfg.text_column, cfg.label_column)
    _check_text_column(raw[columns.text], columns.text, description)
    if cfg.min_confidence > 0 and columns.confidence is None:
        raise DataError(
            f"min_confidence={cfg.min_confidence} needs a confidence column (numbers in [0, 1] "
            f"named {', '.join(CONFIDENCE_NAMES)}); {description} has none: set min_confidence "
            "to 0"
        )

    # Plain Python strings (object dtype): every cleaning step loops over them in Python.
    frame = pd.DataFrame(
        {
            "text": pd.Series(
                [_as_text(v) for v in _text_values(raw[columns.text]).tolist()], dtype=object
            ),
            "label": pd.Series(label_names(raw[columns.label], columns.label), dtype=object),
        }
    )
    if columns.confidence is not None:
        frame["confidence"] = raw[columns.confidence].to_numpy(dtype=float, na_value=np.nan)
    steps = build_steps(cfg, has_confidence=columns.confidence is not None)
    frame, report = run_steps(frame, steps)

    classes = check_classes(frame["label"].tolist(), columns.label)
    codes = frame["label"].map({name: i for i, name in enumerate(classes)}).to_numpy()
    train, val, test = split_indices(codes, cfg.val_fraction, cfg.test_fraction, seed)
    caps = (cfg.max_train_samples, cfg.max_eval_samples, cfg.max_eval_samples)
    texts = frame["text"].tolist()
    confidence = frame["confidence"].tolist() if "confidence" in frame else None
    splits = {
        name: _split(texts, codes, stratified_cap(rows, codes, cap, seed + i), confidence)
        for i, (name, rows, cap) in enumerate(zip(SPLITS, (train, val, test), caps, strict=True))
    }
    balance = {
        name: {label: int(np.sum(np.asarray(s.labels) == i)) for i, label in enumerate(classes)}
        for name, s in splits.items()
    }
    return PreparedData(
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        labels=classes,
        text_column=columns.text,
        label_column=columns.label,
        cleaning=report,
        balance=balance,
        source=description,
    )


def _check_text_column(column: pd.Series, name: str, description: str) -> None:
    """A text column that holds only numbers (or true/false) is almost surely the wrong column:
    training on "3.5" and "12" as texts runs without complaint and learns nothing useful."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        example = column.dropna().head(1).tolist()
        shown = f" (e.g. {example[0]!r})" if example else ""
        raise DataError(
            f"text column {name!r} of {description} holds only numbers{shown}, not texts; "
            "pass text_column to pick the column with the texts"
        )


def _text_values(column: pd.Series) -> pd.Series:
    """Whole numbers read as floats (a column with gaps) go back to ``12``, not ``12.0``."""
    if pd.api.types.is_float_dtype(column):
        present = column.dropna()
        if (present == present.round()).all():
            return column.astype("Int64")
    return column


def _as_text(value: Any) -> str:
    return "" if is_missing(value) else str(value)


def _split(
    texts: list[str], codes: np.ndarray, rows: np.ndarray, confidence: list[float] | None
) -> Split:
    return Split(
        texts=[texts[r] for r in rows],
        labels=[int(codes[r]) for r in rows],
        confidence=None if confidence is None else [float(confidence[r]) for r in rows],
    )
