"""The data layer: read a dataset, clean it, split it, and report what was done.

>>> from workbench.config import DataConfig
>>> data = prepare_data(DataConfig(), seed=42)   # the built-in tweets-sentiment
>>> print(data.summary())                         # doctest: +SKIP

Modules: :mod:`~workbench.data.sources` (one file per kind of input, registry ``SOURCES``),
:mod:`~workbench.data.columns` (which column is text/label), :mod:`~workbench.data.labels`,
:mod:`~workbench.data.text` (per-text cleaning functions), :mod:`~workbench.data.cleaning`
(the reported pipeline), :mod:`~workbench.data.split`, :mod:`~workbench.data.prepare`.
"""

from __future__ import annotations

from workbench.data.prepare import prepare_data
from workbench.data.prepared import PreparedData, Split
from workbench.data.sources import SOURCES, list_datasets, read_source

__all__ = ["SOURCES", "PreparedData", "Split", "list_datasets", "prepare_data", "read_source"]
