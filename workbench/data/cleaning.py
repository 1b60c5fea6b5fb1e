"""The cleaning pipeline: ordered, switchable steps, each reported with what it did.

Steps run in this order (the switch in :class:`~workbench.config.DataConfig` in brackets):

1. ``drop missing labels``   always: rows whose label is empty or missing.
2. ``min confidence``        [min_confidence > 0] rows whose label confidence is lower;
                             rows with no confidence value are kept.
3. ``normalize whitespace``  always: runs of spaces, tabs, ``\\r``, ``\\n`` become one space.
4. ``fix unicode``           [fix_unicode] ftfy repairs mojibake and HTML entities.
5. ``strip mangled text``    [fix_unicode] cut runs ftfy cannot repair (see ``text``).
6. ``strip urls``            [strip_urls] links, including truncated ones.
7. ``replace mentions``      [replace_mentions] ``@name`` becomes ``@user``.
8. ``drop empty``            [drop_empty] nothing left but whitespace or ``@user``.
9. ``drop duplicates``       [drop_duplicates] same cleaned text seen before; first kept.

Whitespace is normalized as its own always-on step (the brief folds it into fix_unicode) so
that the other steps' ``changed`` counts only real edits, and so that duplicates differing
only in spacing are caught even with fix_unicode off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from workbench.config import DataConfig
from workbench.data import text as T
from workbench.errors import DataError

Report = list[dict[str, int | str]]


@dataclass(frozen=True)
class Step:
    """One cleaning step: rewrites the ``text`` column and/or drops rows of a frame."""

    name: str
    apply: Callable[[pd.DataFrame], pd.DataFrame]
    #: What to change when this step leaves no rows at all.
    if_empty: str


def build_steps(cfg: DataConfig, has_confidence: bool) -> list[Step]:
    """The steps ``cfg`` switches on, in pipeline order."""
    steps = [Step("drop missing labels", _drop_missing_labels, "check label_column")]
    if has_confidence and cfg.min_confidence > 0:
        steps.append(
            Step("min confidence", _min_confidence(cfg.min_confidence), "lower min_confidence")
        )
    steps.append(Step("normalize whitespace", _map_text(T.squeeze), "check text_column"))
    if cfg.fix_unicode:
        steps.append(Step("fix unicode", _map_text(T.fix_unicode), "set fix_unicode: false"))
        steps.append(
            Step("strip mangled text", _map_text(T.strip_mangled), "set fix_unicode: false")
        )
    if cfg.strip_urls:
        steps.append(Step("strip urls", _map_text(T.strip_urls), "set strip_urls: false"))
    if cfg.replace_mentions:
        steps.append(
            Step("replace mentions", _map_text(T.replace_mentions), "set replace_mentions: false")
        )
    if cfg.drop_empty:
        steps.append(Step("drop empty", _drop_empty, "check text_column or set drop_empty: false"))
    if cfg.drop_duplicates:
        steps.append(Step("drop duplicates", _drop_duplicates, "set drop_duplicates: false"))
    return steps


def run_steps(frame: pd.DataFrame, steps: list[Step]) -> tuple[pd.DataFrame, Report]:
    """Apply ``steps`` to a frame with ``text``/``label`` columns; report each step's counts.

    Raises :class:`DataError` naming the step that removed the last row.
    """
    report: Report = []
    for step in steps:
        after = step.apply(frame)
        kept_before = frame["text"].loc[after.index]
        changed = int((after["text"] != kept_before).sum())
        removed = len(frame) - len(after)
        report.append(
            {"step": step.name, "removed": removed, "changed": changed, "rows_after": len(after)}
        )
        if len(after) == 0:
            raise DataError(
                f"no rows left after cleaning step {step.name!r} (it removed all {removed:,}); "
                f"{step.if_empty}"
            )
        frame = after
    return frame, report


def _map_text(function: Callable[[str], str]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def apply(frame: pd.DataFrame) -> pd.DataFrame:
        texts = pd.Series([function(t) for t in frame["text"]], index=frame.index, dtype=object)
        return frame.assign(text=texts)

    return apply


def _drop_missing_labels(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["label"].notna()]


def _min_confidence(threshold: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def apply(frame: pd.DataFrame) -> pd.DataFrame:
        confidence = frame["confidence"]
        # No confidence value is no evidence against the label: keep those rows.
        return frame[confidence.isna() | (confidence >= threshold)]

    return apply


def _drop_empty(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[not T.is_empty(t) for t in frame["text"]]]


def _drop_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame["text"].duplicated(keep="first")]
