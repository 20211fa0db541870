"""Rendered feed bodies kept in memory: a least-recently-used cache bounded by bytes.

A request for an unchanged feed then costs a dictionary lookup: no query, no rendering.
The body is gzipped once when stored, not per request. The pages keep their store reads
of one generation here too (Service.per_generation), under the same budget and the same
rule for when an entry is stale.
"""

from __future__ import annotations

import gzip
import hashlib
import sys
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any, TypeVar

from cachetools import LRUCache

from feeds.render import FORMATS, FeedInfo
from store import StoredPaper


@dataclass(frozen=True)
class CachedFeed:
    body: bytes
    gzipped: bytes
    etag: str  # strong, quoted; the gzip variant adds -gz
    last_modified: datetime
    items: int
    http_date: str = ""  # Last-Modified, formatted once

    @classmethod
    def build(cls, body: bytes, last_modified: datetime, items: int) -> CachedFeed:
        digest = hashlib.sha256(body).hexdigest()[:32]
        # mtime=0 keeps the gzip bytes identical in every process too.
        moment = last_modified.replace(microsecond=0)
        return cls(
            body,
            gzip.compress(body, compresslevel=6, mtime=0),
            f'"{digest}"',
            moment,
            items,
            format_datetime(moment, usegmt=True),
        )

    @classmethod
    def of(cls, fmt: str, info: FeedInfo, items: Sequence[StoredPaper]) -> CachedFeed:
        """items rendered as a feed in fmt (a topic's, or a search's)."""
        feed = FORMATS[fmt](info, items)
        return cls.build(feed.to_bytes(), feed.updated, len(items))

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gz"'

    @property
    def size(self) -> int:
        """Bytes this entry holds: both bodies and its small fields."""
        return sys.getsizeof(self.body) + sys.getsizeof(self.gzipped) + _ENTRY_OVERHEAD


# The entry object, its ETag and date strings, and the LRU's three dict slots for it
# (measured with tracemalloc and rounded up; the figure is in BENCHMARKS.md).
_ENTRY_OVERHEAD = 512


T = TypeVar("T")


def size_of(value: object) -> int:
    """Bytes a key or a kept store read holds, its parts counted (search keys carry the
    query text, so they can be large); a feed body says its own (CachedFeed.size)."""
    if isinstance(value, CachedFeed):
        return value.size
    size = sys.getsizeof(value)
    if isinstance(value, tuple | list | set | frozenset):
        return size + sum(size_of(part) for part in value)
    if isinstance(value, dict):
        return size + sum(size_of(k) + size_of(v) for k, v in value.items())
    if hasattr(value, "__dict__"):  # a record (a dataclass): its fields
        return size + size_of(vars(value))
    return size


class FeedCache:
    """Feed bodies (and the pages' store reads) by key; reading an entry marks it used, so
    the hottest feeds stay.

    The byte budget counts what an entry really holds: its bodies, its key (the query text
    of a search feed) and a per-entry overhead, so many small entries cannot exceed it.
    """

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.hits = 0
        self.misses = 0
        # Values are (entry, bytes held by entry and key).
        self._entries: LRUCache[Hashable, tuple[Any, int]] = LRUCache(
            maxsize=budget_bytes, getsizeof=lambda slot: slot[1]
        )
        # cachetools caches are not thread-safe, and a read reorders the LRU list.
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        return int(self._entries.currsize)

    def peek(self, key: Hashable) -> Any:
        """The cached entry for key (marked as recently used), or None."""
        with self._lock:
            try:  # one lookup: LRUCache.get asks `key in` first, then looks it up again
                slot = self._entries[key]
            except KeyError:
                return None
            self.hits += 1
            return slot[0]

    def get_or_build(self, key: Hashable, build: Callable[[], T]) -> T:
        entry = self.peek(key)
        if entry is not None:
            return entry  # type: ignore[no-any-return]
        with self._lock:
            self.misses += 1
        entry = build()  # outside the lock: a slow render must not stall cached requests
        cost = size_of(entry) + size_of(key)
        if cost <= self.budget:
            with self._lock:
                self._entries.setdefault(key, (entry, cost))
        return entry

    def drop(
        self,
        stale: Callable[[Hashable], bool],
        keep_as: Callable[[Hashable], Hashable | None] = lambda key: None,
    ) -> None:
        """Forget the bodies whose keys are stale (of a past generation), but keep each one
        under keep_as(key) when that gives a key (the last body of a feed, for when it
        cannot be rendered again at once)."""
        with self._lock:
            for key in [k for k in self._entries if stale(k)]:
                entry, cost = self._entries.pop(key)
                kept = keep_as(key)
                if kept is not None:
                    self._entries[kept] = (entry, cost - size_of(key) + size_of(kept))

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
