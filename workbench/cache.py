"""Keep the last prepared dataset and the last loaded pretrained model in memory.

Re-running with a different learning rate or method should not re-read and re-clean
38k tweets or re-load weights from disk: with both cached, clicking **Train** reaches the
first loss point in about a second. One entry per slot (memory stays bounded: a miss
replaces the slot's entry); anything that changes what would be loaded misses — the data
settings, the seed, a file's or a model folder's contents, a DataFrame's contents, the
dropout overrides. The cached model is never handed out: callers get a deep copy, so a
run that trains its model leaves the next run's starting weights pristine.

A caller that wants to tell the user what was reused wraps its loading in
:func:`recording`: every :func:`cached` call made by the same thread inside it notes
whether it was a hit.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_entries: dict[str, tuple[Any, Any]] = {}  # slot -> (key, value)
# Per thread: the open recordings (slot -> hit). Thread-local because the Data panel
# prepares data in its own thread while a run's worker may be loading its model.
_local = threading.local()


def cached(slot: str, key: Any, build: Callable[[], T], copy_out: bool = False) -> T:
    """Value for ``key`` in ``slot`` (one entry per slot), building it on a miss.

    Parameters
    ----------
    slot
        Which kind of thing (``"data"``, ``"model"`` …); each slot holds one entry.
    key
        Everything that changes what ``build`` returns; compared with ``==``.
    build
        Makes the value on a miss; its result replaces the slot's entry.
    copy_out
        Hand out a deep copy (for values the caller mutates, such as a model it trains).
    """
    with _lock:
        entry = _entries.get(slot)
    hit = entry is not None and entry[0] == key
    if hit:
        assert entry is not None
        value = entry[1]
    else:
        value = build()
        with _lock:
            _entries[slot] = (key, value)
    for record in getattr(_local, "records", ()):
        record[slot] = record.get(slot, True) and hit
    return copy.deepcopy(value) if copy_out else value


@contextmanager
def recording() -> Iterator[dict[str, bool]]:
    """Note, per slot, whether this thread's :func:`cached` calls were all hits.

    >>> with recording() as seen:
    ...     data = cached("data", key, build)
    >>> seen  # {"data": True} when the data came from memory
    """
    records: list[dict[str, bool]] = getattr(_local, "records", [])
    _local.records = records
    record: dict[str, bool] = {}
    records.append(record)
    try:
        yield record
    finally:
        # by identity: an equal dict of an enclosing recording must stay
        records[:] = [r for r in records if r is not record]


def clear() -> None:
    with _lock:
        _entries.clear()


def file_stamp(spec: str) -> tuple[str, float, int] | None:
    """``(path, mtime, size)`` of a data file, so an edited file misses the cache."""
    path = Path(spec)
    if path.is_file():
        st = path.stat()
        return (str(path.resolve()), st.st_mtime, st.st_size)
    return None


def folder_stamp(folder: str | Path) -> tuple[tuple[str, int, int], ...]:
    """``(name, mtime_ns, size)`` of each file in a model folder: re-exported weights (or an
    edited ``config.json``) under the same path miss the cache instead of loading stale."""
    path = Path(folder)
    if not path.is_dir():
        return ()
    return tuple(
        sorted(
            (f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in path.iterdir() if f.is_file()
        )
    )


def source_stamp(source: Any) -> Hashable | None:
    """A content fingerprint of an in-memory data source, or None when it has none.

    A pandas DataFrame is hashed row by row with its column names and dtypes (about 30 ms
    for 38k tweets, against 1.7 s to clean and split them), so the same table passed again
    hits the cache while an edited one — even the same object edited in place — misses.
    A ``datasets.Dataset`` is immutable and carries its own fingerprint.
    """
    fingerprint = getattr(source, "_fingerprint", None)
    if isinstance(fingerprint, str) and type(source).__module__.startswith("datasets"):
        return ("dataset", fingerprint)
    import pandas as pd

    if not isinstance(source, pd.DataFrame):
        return None
    try:
        rows = pd.util.hash_pandas_object(source, index=True).to_numpy()
    except (TypeError, ValueError):  # cells pandas cannot hash: prepare every time
        return None
    digest = hashlib.blake2b(rows.tobytes(), digest_size=16).hexdigest()
    columns = tuple((str(c), str(t)) for c, t in source.dtypes.items())
    return ("frame", columns, len(source), digest)
