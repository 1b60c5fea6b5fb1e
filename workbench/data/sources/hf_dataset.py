"""A Hugging Face :class:`datasets.Dataset` passed straight to ``prepare_data``.

``datasets`` is slow to import, so it is only looked at when the caller has already
imported it (an object cannot be a ``Dataset`` otherwise). ``ClassLabel`` columns are
turned back into their class names, so labels read as words rather than bare integers.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar

import pandas as pd

from workbench.data.sources.base import Source
from workbench.errors import DataError


class HFDataset(Source):
    """A ``datasets.Dataset`` (one split)."""

    name: ClassVar[str] = "hf-dataset"
    summary: ClassVar[str] = "Hugging Face datasets.Dataset in memory (one split)"

    def accepts(self, spec: object) -> bool:
        datasets = sys.modules.get("datasets")
        if datasets is None:
            return False
        if isinstance(spec, (datasets.DatasetDict, datasets.IterableDatasetDict)):
            splits = ", ".join(spec.keys())
            raise DataError(
                f"got a DatasetDict with splits {splits}; pass one split, e.g. ds['train'] "
                "(the workbench makes its own train/val/test split)"
            )
        if isinstance(spec, datasets.IterableDataset):
            raise DataError(
                "got a streaming IterableDataset; load it without streaming=True so its "
                "rows can be counted and split"
            )
        return isinstance(spec, datasets.Dataset)

    def read(self, spec: Any) -> tuple[pd.DataFrame, str]:
        datasets = sys.modules["datasets"]
        frame = spec.to_pandas()
        for column, feature in spec.features.items():
            if isinstance(feature, datasets.ClassLabel):
                frame[column] = [
                    None if v is None or v < 0 else feature.int2str(int(v)) for v in frame[column]
                ]
        name = getattr(spec.info, "dataset_name", None) or "datasets.Dataset"
        return frame, f"{name} ({len(frame):,} rows)"
