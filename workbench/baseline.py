"""The classical baseline a fine-tune must beat: TF-IDF (word 1–2-grams) + logistic regression.

Trained and tested on exactly the same split as the fine-tune, so the comparison is fair.
"""

from __future__ import annotations

from typing import Any

from workbench.data import PreparedData


def tfidf_baseline(data: PreparedData, seed: int = 0) -> dict[str, Any]:
    """Fit on ``data.train``, score on ``data.test``: accuracy and macro-F1."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=2000, C=4.0, random_state=seed),
    )
    pipe.fit(data.train.texts, data.train.labels)
    pred = pipe.predict(data.test.texts)
    return {
        "test_accuracy": float(accuracy_score(data.test.labels, pred)),
        "test_macro_f1": float(f1_score(data.test.labels, pred, average="macro")),
    }
