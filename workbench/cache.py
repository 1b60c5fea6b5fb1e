"""Keep the last prepared dataset and the last loaded pretrained model in memory.

Re-running with a different learning rate or method should not re-read and re-clean
38k tweets or re-load weights from disk: with both cached, clicking **Train** reaches the
first loss point in about a second. One entry each (memory stays bounded); anything that
changes what would be loaded (config, seed, file contents, dropout overrides) misses.
The cached model is never handed out: callers get a deep copy.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_entries: dict[str, tuple[Any, Any]] = {}  # slot -> (key, value)


def cached(slot: str, key: Any, build: Callable[[], T], copy_out: bool = False) -> T:
    """Value for ``key`` in ``slot`` (one entry per slot), building it on a miss."""
    with _lock:
        hit = _entries.get(slot)
    if hit is not None and hit[0] == key:
        value = hit[1]
    else:
        value = build()
        with _lock:
            _entries[slot] = (key, value)
    return copy.deepcopy(value) if copy_out else value


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
