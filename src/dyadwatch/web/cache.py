"""A small thread-safe LRU of computed API results, keyed by the query and the store's state.

The key carries a signature of the store's catalog file (inode, size, modification time, and the same of
its write-ahead log): every ingest or compaction commits to the catalog, so a changed store never serves
an old answer, and checking costs two `stat` calls per request. Concurrent requests for the same missing
key compute it once (the others wait for the first), so a burst of identical requests after a page load
does not run the same DuckDB scan N times.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")


def store_signature(root: Path) -> tuple:
    """What changes whenever the store commits: the catalog file and its WAL."""
    sig = []
    for name in ("catalog.duckdb", "catalog.duckdb.wal"):
        try:
            st = os.stat(root / name)
            sig.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            sig.append(None)
    return tuple(sig)


class ResultCache:
    """LRU of at most `size` results; size 0 turns caching off (every call computes)."""

    def __init__(self, size: int = 256):
        self.size = size
        self._data: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, threading.Lock] = {}
        self.hits = self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        if self.size <= 0:
            return compute()
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]  # type: ignore[return-value]
            gate = self._inflight.setdefault(key, threading.Lock())
        with gate:  # one computation per key; latecomers find the result below
            with self._lock:
                if key in self._data:
                    self._data.move_to_end(key)
                    self.hits += 1
                    return self._data[key]  # type: ignore[return-value]
                self.misses += 1
            try:
                value = compute()
            except BaseException:  # not cached: the next request retries
                with self._lock:
                    self._inflight.pop(key, None)
                raise
            with self._lock:
                self._data[key] = value
                while len(self._data) > self.size:
                    self._data.popitem(last=False)
                self._inflight.pop(key, None)
            return value

    def info(self) -> dict:
        with self._lock:
            return {"size": self.size, "entries": len(self._data), "hits": self.hits, "misses": self.misses}

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
