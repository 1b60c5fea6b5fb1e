"""Pre-flight: the same (or nearly the same) text in training and in test/validation.

A test text whose copy was trained on measures memory, not generalization: the test
score overstates. Exact copies are compared after lowercasing and dropping punctuation;
near copies by the cosine similarity of character 3–4-gram TF-IDF vectors (≥ 0.9: a
retweet of a test tweet, a ticket with another order number). On the demo's 4,000 training
and 2 × 1,000 held-out tweets this takes about 0.6 s, once per kernel: the counts are
remembered for the prepared splits, which the kernel's data cache hands out again on
every warm start.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.coach.base import Check, Finding, PreflightFacts, share

#: Cosine similarity from which two texts count as near copies.
NEAR = 0.9
#: Share of a held-out split with a copy in training from which it is worth a word. A leak
#: of share s moves the test accuracy by at most s: under 5 % that is within the noise of
#: most comparisons. (The tweets demo has 2.2 %: retweets of test tweets in training.)
QUIET_SHARE = 0.05
#: Rows compared at most per split (splits are in shuffled order, so the first rows are a
#: random sample): the TF-IDF product grows as held-out × train.
MOST_ROWS = 20_000
HELD_OUT = ("test", "val")


def normalized(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def copies(train: list[str], held_out: dict[str, list[str]]) -> dict[str, tuple[int, int]]:
    """``{split: (exact, near)}``: held-out texts with an exact / a near copy in ``train``."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    seen = {normalized(t) for t in train}
    out = {name: (sum(normalized(t) in seen for t in texts), 0) for name, texts in held_out.items()}
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4), dtype=np.float32)
    try:
        train_m = vectorizer.fit_transform(train[:MOST_ROWS])
    except ValueError:  # no training text has an n-gram (empty or one-letter texts)
        return {name: (exact, exact) for name, (exact, _) in out.items()}
    for name, texts in held_out.items():
        if texts:
            held_m = vectorizer.transform(texts[:MOST_ROWS])
            # rows are L2-normalized: the product is the cosine similarity, (held, train)
            best = (held_m @ train_m.T).max(axis=1).toarray().ravel()
            out[name] = (out[name][0], int((best >= NEAR).sum()))
    return out


class Leakage(Check):
    name = "leakage"
    summary = "Exact or near-duplicate texts shared by training and test/validation."

    def run(self, facts: PreflightFacts) -> list[Finding]:
        splits = [facts.data.train, *(getattr(facts.data, s) for s in HELD_OUT)]
        counted = remembered(splits, lambda: _count(facts.data))
        found = {
            name: (len(getattr(facts.data, name)), exact, near)
            for name, (exact, near) in counted.items()
            if near >= QUIET_SHARE * max(1, len(getattr(facts.data, name))) and near
        }
        if not found:
            return []
        counts = " and ".join(
            f"{near:,} of {n:,} {split} texts ({share(near, n)})"
            for split, (n, _, near) in found.items()
        )
        exact = sum(e for _, e, _ in found.values())
        changes = {} if facts.config.data.drop_duplicates else {"drop_duplicates": True}
        return [
            self.finding(
                "warning",
                f"{counts} have a near copy in training ({exact:,} of them exact after "
                "lowercasing and dropping punctuation)",
                "a held-out score on copies of training texts measures memory, so it "
                "overstates how the model does on new texts",
                fix="drop duplicate texts"
                if changes
                else "remove near-duplicates from the data before it is split",
                changes=changes,
            )
        ]


def _count(data: Any) -> dict[str, tuple[int, int]]:
    train = _texts(data.train)
    if not train:
        return {name: (0, 0) for name in HELD_OUT}
    return copies(train, {name: _texts(getattr(data, name)) for name in HELD_OUT})


def remembered(splits: list[Any], count: Any) -> Any:
    """``count()``, remembered for these split objects. The cached value holds the splits,
    so their ids cannot be reused by other objects while the entry lives."""
    from workbench.cache import cached

    key = tuple(id(s) for s in splits)
    return cached("coach-leakage", key, lambda: (count(), splits))[0]


def _texts(split: object) -> list[str]:
    texts = getattr(split, "texts", [])
    return list(texts() if callable(texts) else texts)
