"""A planted shortcut: a meaningless token added to the texts of one class.

A classic way to see a model cheat (Geirhos et al., 2020, "Shortcut learning in deep neural
networks"): if every positive training text ends with the same odd token, the cheapest rule
the model can learn is "token ⇒ positive". Held-out scores drawn from the same data look
fine, because the token is there too; texts of another class with the token added flip to
the planted class, and an attribution method points straight at the token.

>>> frame, _ = read_source("tweets-sentiment")
>>> planted = plant_shortcut(frame, token="zxq", label="positive")
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data.columns import detect_columns
from workbench.errors import DataError


def plant_shortcut(
    frame: pd.DataFrame,
    token: str,
    label: str,
    fraction: float = 1.0,
    text_column: str | None = None,
    label_column: str | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """A copy of ``frame`` where ``fraction`` of the rows labelled ``label`` end with ``token``.

    Parameters
    ----------
    frame
        A raw table (e.g. from :func:`workbench.data.read_source`); columns are detected
        as :func:`workbench.data.prepare_data` does unless named.
    token
        One word, appended after a space (it must survive cleaning: no URL, no @mention).
    label
        The class that gets the token, as it appears in the label column.
    fraction
        Share of that class's rows that get it, in (0, 1]; chosen at random with ``seed``.

    Raises
    ------
    DataError
        When the token is not one plain word, ``fraction`` is out of range, or no row
        carries ``label`` (the message lists the labels there are).
    """
    if not token or token != token.strip() or len(token.split()) != 1:
        raise DataError(f"the shortcut token must be one word without spaces; got {token!r}")
    if not 0 < fraction <= 1:
        raise DataError(f"fraction must be in (0, 1]; got {fraction!r}")
    columns = detect_columns(frame, text_column, label_column)
    labels = frame[columns.label].astype(str)
    rows = np.flatnonzero((labels == str(label)).to_numpy())
    if len(rows) == 0:
        known = ", ".join(sorted(labels.unique())[:20])
        raise DataError(f"no row is labelled {label!r}; labels in {columns.label!r}: {known}")
    count = max(1, round(fraction * len(rows)))
    chosen = np.random.default_rng(seed).choice(rows, size=count, replace=False)
    texts = frame[columns.text].astype(str).to_numpy(dtype=object)
    texts[chosen] = [f"{text.rstrip()} {token}" for text in texts[chosen]]
    out = frame.copy()
    out[columns.text] = texts
    return out
