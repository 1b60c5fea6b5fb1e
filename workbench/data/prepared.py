"""What ``prepare_data`` returns: three splits plus a record of how they were made.

:class:`PreparedData` carries everything a user should see about the data before training
on it (where it came from, which columns, what each cleaning step removed or changed, class
balance per split) and renders it with :meth:`PreparedData.summary`.
"""

from __future__ import annotations

from dataclasses import dataclass

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """One split: texts and their labels as indices into ``PreparedData.labels``."""

    texts: list[str]
    labels: list[int]
    #: Label confidence per row (NaN where unknown), when the data has a confidence column.
    confidence: list[float] | None = None

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class PreparedData:
    """Cleaned, split data and the report of how it was cleaned and split."""

    train: Split
    val: Split
    test: Split
    #: Class names: sorted strings, or ``str(int)`` sorted numerically for integer labels.
    labels: list[str]
    text_column: str
    label_column: str
    #: One dict per cleaning step, in order: step, removed, changed, rows_after.
    cleaning: list[dict]
    #: Rows per class in each split: ``{"train": {label: count}, "val": …, "test": …}``.
    balance: dict[str, dict[str, int]]
    source: str

    def summary(self) -> str:
        """A multi-line report: source, columns, cleaning counts, split sizes, class balance."""
        lines = [
            f"Data:     {self.source}",
            f"Columns:  text {self.text_column!r}, label {self.label_column!r}",
            *self._cleaning_lines(),
            "Splits:   " + " · ".join(f"{s} {len(getattr(self, s)):,}" for s in SPLITS),
            f"Classes:  {len(self.labels)}",
            *self._balance_lines(),
        ]
        return "\n".join(lines)

    def _cleaning_lines(self) -> list[str]:
        if not self.cleaning:
            return ["Cleaning: none"]
        first = self.cleaning[0]
        read = int(first["removed"]) + int(first["rows_after"])
        width = max(len(str(step["step"])) for step in self.cleaning)
        lines = [
            f"Cleaning: {read:,} rows read",
            f"  {'step':<{width}}  {'removed':>8}  {'changed':>8}  {'rows left':>9}",
        ]
        for step in self.cleaning:
            lines.append(
                f"  {step['step']!s:<{width}}  {step['removed']:>8,}  {step['changed']:>8,}"
                f"  {step['rows_after']:>9,}"
            )
            if step["step"] == "min confidence":
                lines.append("    (rows with no confidence value are kept)")
        return lines

    def _balance_lines(self) -> list[str]:
        width = max([len("class"), *(len(label) for label in self.labels)])
        header = "".join(f"  {s:>14}" for s in SPLITS)
        lines = [f"  {'class':<{width}}{header}"]
        for label in self.labels:
            cells = ""
            for s in SPLITS:
                count, total = self.balance[s].get(label, 0), max(len(getattr(self, s)), 1)
                cells += f"  {f'{count:,} ({count / total:.0%})':>14}"
            lines.append(f"  {label:<{width}}{cells}")
        return lines
