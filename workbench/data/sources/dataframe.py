"""An in-memory :class:`pandas.DataFrame` passed straight to ``prepare_data``.

The frame is never modified: cleaning works on its own copy of the two columns it needs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from workbench.data.sources.base import Source


class DataFrameSource(Source):
    """A pandas DataFrame."""

    name: ClassVar[str] = "dataframe"
    summary: ClassVar[str] = "pandas DataFrame in memory"

    def accepts(self, spec: object) -> bool:
        return isinstance(spec, pd.DataFrame)

    def read(self, spec: Any) -> tuple[pd.DataFrame, str]:
        frame: pd.DataFrame = spec
        return frame, f"pandas DataFrame ({len(frame):,} rows)"
