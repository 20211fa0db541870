"""Rendered feed bodies kept in memory, keyed by (what, format, limit, generation).

A request for an unchanged feed then costs a dictionary lookup: no query, no rendering.
The body is gzipped once when stored, not per request.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime


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

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gz"'

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped) + 200


class FeedCache:
    """A least-recently-used map bounded by the bytes it holds."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.used = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, CachedFeed] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key: Hashable) -> CachedFeed | None:
        """The cached body for key, or None; counts as a hit."""
        entry = self._entries.get(key)  # a dict read is atomic: no lock on the hot path
        if entry is not None:
            self.hits += 1
        return entry

    def get_or_build(self, key: Hashable, build: Callable[[], CachedFeed]) -> CachedFeed:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry
            self.misses += 1
        entry = build()  # outside the lock: a slow render must not stall cached requests
        with self._lock:
            if key not in self._entries and entry.size <= self.budget:
                self._entries[key] = entry
                self.used += entry.size
                while self.used > self.budget:
                    _, old = self._entries.popitem(last=False)
                    self.used -= old.size
        return entry

    def drop(self, stale: Callable[[Hashable], bool]) -> None:
        """Forget the bodies whose keys are stale (of a past generation)."""
        with self._lock:
            for key in [k for k in self._entries if stale(k)]:
                self.used -= self._entries.pop(key).size

    def __len__(self) -> int:
        return len(self._entries)
