"""Pre-flight: the same (or nearly the same) text in training and in test/validation.

A test text whose copy was trained on measures memory, not generalization: the test
score overstates. Exact copies are compared after lowercasing and dropping punctuation;
near copies by the cosine similarity of character 3–5-gram TF-IDF vectors (≥ 0.9: a
retweet with one word changed, a ticket with another order number).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from workbench.coach.base import Check, Finding, PreflightFacts, share

#: Cosine similarity from which two texts count as near copies.
NEAR = 0.9
#: Share of a held-out split with a copy in training from which it is worth a word. A leak
#: of share s moves the test accuracy by at most s: under 5 % that is within the noise of
#: most comparisons. (The tweets demo has 2.2 %: retweets of test tweets in training.)
QUIET_SHARE = 0.05
#: Rows compared at most per split (a random sample beyond: the TF-IDF product grows as
#: held-out × train).
MOST_ROWS = 20_000


def normalized(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def copies(train: list[str], held_out: list[str]) -> tuple[int, int]:
    """``(exact, near)``: held-out texts with an exact / a near copy in ``train``."""
    if not train or not held_out:
        return 0, 0
    seen = {normalized(t) for t in train}
    exact = sum(normalized(t) in seen for t in held_out)
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=1)
    try:
        train_m = vectorizer.fit_transform(train[:MOST_ROWS])
    except ValueError:  # nothing but empty/short texts: no n-grams
        return exact, exact
    held_m = vectorizer.transform(held_out[:MOST_ROWS])
    # rows are L2-normalized: the product is the cosine similarity, (held_out, train)
    best = (held_m @ train_m.T).max(axis=1).toarray().ravel()
    return exact, int((best >= NEAR).sum())


class Leakage(Check):
    name = "leakage"
    summary = "Exact or near-duplicate texts shared by training and test/validation."

    def run(self, facts: PreflightFacts) -> list[Finding]:
        train = list(_texts(facts.data.train))
        found = {}  # split -> (held-out rows, exact, near), for splits over the threshold
        for split in ("test", "val"):
            held_split = getattr(facts.data, split)
            held = list(_texts(held_split))
            exact, near = remembered(
                split, facts.data.train, held_split, partial(copies, train, held)
            )
            if held and near / len(held) >= QUIET_SHARE:
                found[split] = (len(held), exact, near)
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


def remembered(name: str, train: object, held: object, count: Callable[[], tuple[int, int]]) -> Any:
    """``count()``, remembered for these two split objects (the kernel's data cache hands
    out the same objects on every warm start, so a re-run pays nothing). The cached value
    holds the splits, so their ids cannot be reused while the entry lives."""
    from workbench.cache import cached

    key = (id(train), id(held))
    return cached(f"coach-leakage-{name}", key, lambda: (count(), train, held))[0]


def _texts(split: object) -> list[str]:
    texts = getattr(split, "texts", [])
    return list(texts() if callable(texts) else texts)
