"""Stratified train/val/test split and stratified caps, deterministic for a seed.

The test set is split off first and validation from the rest, both with scikit-learn's
``train_test_split(stratify=…)``, so each split keeps the class proportions of the cleaned
data. Caps (``max_train_samples``, ``max_eval_samples``) then subsample each split to at
most that many rows, again keeping proportions and at least one row of every class when
the cap allows. Order within a split is the shuffled order the split produced: it never
groups rows by class, and it is the same for the same seed.
"""

from __future__ import annotations

import numpy as np

from workbench.errors import DataError

Indices = np.ndarray  # (rows,) int64 positions into the cleaned data


def split_indices(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> tuple[Indices, Indices, Indices]:
    """Positions of the train, val and test rows, stratified by ``labels`` (class ids)."""
    # Imported here: scikit-learn takes a second to import and only splitting needs it.
    from sklearn.model_selection import train_test_split

    n, k = len(labels), len(np.unique(labels))
    # Every held-out split needs room for one row per class.
    n_test = max(round(test_fraction * n), k)
    n_val = max(round(val_fraction * n), k)
    if n - n_test - n_val < k:
        raise DataError(
            f"{n} rows are too few to split into train/val/test with {k} classes; "
            f"need at least {3 * k}"
        )
    positions = np.arange(n)
    try:
        rest, test = train_test_split(
            positions, test_size=n_test, stratify=labels, random_state=seed
        )
        train, val = train_test_split(
            rest, test_size=n_val, stratify=labels[rest], random_state=seed
        )
    except ValueError as err:  # a class too small for the requested fractions
        raise DataError(
            f"cannot split stratified: {err}; merge or remove the smallest classes, or lower "
            "val_fraction / test_fraction"
        ) from None
    return train, val, test


def stratified_cap(positions: Indices, labels: np.ndarray, cap: int | None, seed: int) -> Indices:
    """At most ``cap`` of ``positions``, keeping class proportions; order is preserved."""
    if cap is None or len(positions) <= cap:
        return positions
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels[positions], return_counts=True)
    quota = _quotas(counts, cap)
    keep = np.zeros(len(positions), dtype=bool)
    for cls, take in zip(classes, quota, strict=True):
        members = np.flatnonzero(labels[positions] == cls)
        keep[rng.choice(members, size=take, replace=False)] = True
    return positions[keep]


def _quotas(counts: np.ndarray, cap: int) -> np.ndarray:
    """Rows to keep per class: largest-remainder shares of ``cap``, each class ≥ 1 if possible."""
    exact = counts * cap / counts.sum()
    quota = np.floor(exact).astype(int)
    # Hand the leftover rows to the largest fractional parts (stable: ties by class order).
    leftover = cap - quota.sum()
    order = np.argsort(-(exact - quota), kind="stable")
    quota[order[:leftover]] += 1
    if cap >= len(counts):
        while (quota == 0).any():
            quota[np.argmax(quota)] -= 1
            quota[np.flatnonzero(quota == 0)[0]] += 1
    return quota
