"""What an explanation of one prediction holds, and how it reads in plain words.

Scores explain the *logit* (the pre-softmax score) of the target class: a positive word score
pushed that class's logit up, a negative one pushed it down. Probabilities are shown beside them
for the prediction, but are not what the scores add up to.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class Explanation:
    """One text, its prediction, and the per-word scores for one target class.

    ``word_scores[i]`` is the sum of the scores of the sub-word tokens of ``words[i]``;
    ``word_spans[i]`` is where that word sits in ``text`` (character offsets, end exclusive;
    ``(-1, -1)`` when the tokenizer gives no offsets). ``target`` and ``predicted`` are
    ``{"label": name, "index": i}``. ``delta`` is the convergence delta of the methods that
    have one, and ``delta_kind`` says what it measures: ``"completeness"`` (integrated
    gradients) and ``"summation-to-delta"`` (DeepLIFT) are ``sum(scores) − (logit −
    baseline_logit)``; ``"expected-gradients"`` (GradientSHAP, not complete) is the mean
    absolute error of its one-point samples, each against its own gap. None for the others.
    ``trust`` holds the faithfulness and sanity measures (see :mod:`workbench.attribution.trust`
    and :mod:`workbench.attribution.sanity`).
    """

    text: str
    words: list[str]
    word_scores: list[float]
    word_spans: list[tuple[int, int]]
    tokens: list[str]
    token_scores: list[float]
    target: dict[str, Any]
    predicted: dict[str, Any]
    probs: dict[str, float]
    method: str
    signed: bool
    logit: float
    baseline_logit: float
    delta: float | None = None
    delta_kind: str | None = None
    n_steps: int | None = None
    baseline: str = "pad"  # the token that stood in for removed words
    trust: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def explains(self) -> str:
        """One sentence: what the scores measure."""
        return f"scores explain the logit of class {self.target['label']!r}"

    @property
    def logit_gap(self) -> float:
        return self.logit - self.baseline_logit

    def top_words(self, n: int = 10) -> list[tuple[str, float]]:
        """The ``n`` words with the highest scores (most support for the target), best first."""
        order = sorted(range(len(self.words)), key=lambda i: -self.word_scores[i])
        return [(self.words[i], self.word_scores[i]) for i in order[:n]]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Explanation:
        """The inverse of :meth:`to_dict` (derived keys such as ``explains`` are dropped)."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["word_spans"] = [tuple(s) for s in values.get("word_spans") or []]
        values["word_scores"] = [_number(s) for s in values.get("word_scores") or []]
        values["token_scores"] = [_number(s) for s in values.get("token_scores") or []]
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (NaN/inf become None; tuples become lists)."""
        data = asdict(self)
        data["word_spans"] = [list(s) for s in self.word_spans]
        data["explains"] = self.explains
        return _json_safe(data)


def _number(value: Any) -> float:
    """A score read back from JSON (None stood for NaN/inf)."""
    return float("nan") if value is None else float(value)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy / torch scalars
        return _json_safe(value.item())
    return value
