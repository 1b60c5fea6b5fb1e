"""Labels as class names: strings or integers in, sorted class names and indices out.

Integer labels (``0, 1, 2`` or ``"0", "1", "2"``) become the names ``"0", "1", "2"`` sorted
numerically, so ``"10"`` comes after ``"9"``; any other labels are names sorted as strings.
Fractional numbers are refused: the workbench classifies, it does not regress.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import DataError

MIN_CLASS_ROWS = 3  # one each for train, val and test
_INTEGER = re.compile(r"-?\d+")


def is_missing(value: Any) -> bool:
    """True for None, NaN and pandas' NA (but not for lists or other containers)."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def label_names(column: pd.Series, name: str) -> list[str | None]:
    """Each row's label as a class name; None where the label is missing or blank."""
    if pd.api.types.is_bool_dtype(column):
        return [None if is_missing(v) else str(bool(v)) for v in column.tolist()]
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        present = values[~np.isnan(values)]
        bad = present[~np.isfinite(present) | (present != np.round(present))]
        if len(bad):
            raise DataError(
                f"label column {name!r} holds fractional numbers (e.g. {bad[0]:g}); labels must "
                "be class names or integer class ids"
            )
        return [None if math.isnan(v) else str(int(v)) for v in values]
    out: list[str | None] = []
    for value in column.tolist():
        text = "" if is_missing(value) else str(value).strip()
        out.append(text or None)
    return out


def sorted_classes(names: list[str]) -> list[str]:
    """Distinct class names: numerically when all are integers, else alphabetically."""
    distinct = set(names)
    if distinct and all(_INTEGER.fullmatch(n) for n in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def check_classes(names: list[str], column: str) -> list[str]:
    """The sorted classes of cleaned labels, refusing data that cannot be split stratified."""
    classes = sorted_classes(names)
    counts = pd.Series(names).value_counts()
    if len(classes) < 2:
        found = f"only {classes[0]!r}" if classes else "none"
        raise DataError(
            f"label column {column!r} has fewer than 2 classes after cleaning ({found}); "
            "a classifier needs at least 2"
        )
    small = [f"{c!r} ({counts[c]} rows)" for c in classes if counts[c] < MIN_CLASS_ROWS]
    if small:
        raise DataError(
            f"class {', '.join(small)} in {column!r} has too few rows to split into "
            f"train/val/test (each class needs at least {MIN_CLASS_ROWS}); merge it into "
            "another class or remove those rows"
        )
    return classes
