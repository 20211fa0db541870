"""The newest papers' term vectors, kept in memory for one store generation.

A like: search scores the newest papers first (topics.search): read from the text index
each time, the 2,000 or so of them that hold a profile word cost most of it (BENCHMARKS.md,
a like: search's cost). Here they are read and counted once, a slice at a time as searches
reach further back, into topics.similarity.Vectors, until BUDGET bytes; below the last
slice the index answers as before. The slices are read again when the store's stamp
changes: its generation (a refresh publishes one once it has written) or its newest order
key (papers written outside a refresh). A paper rewritten in place is scored as it was
until the refresh's generation, as the web process's cached feeds show it until then.
Read again, a paper whose key and text are unchanged keeps its counts, and a slice whose
papers are all unchanged is kept whole (with the postings made in it): after a refresh
only its new and changed papers are counted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from store import index
from topics.similarity import Carried, Vectors

BUDGET = 32 << 20  # bytes (Vectors.size): two slices of papers of 110-170 words, 25 MB
SLICE = 2000  # papers read and counted at a time


class RecentPapers:
    """Slices of the newest papers' vectors, newest first, for the generation they were
    read at. Shared by the searches of one process (thread-safe)."""

    def __init__(self, budget: int = BUDGET, size: int = SLICE) -> None:
        self.budget, self.size = budget, size
        self._lock = threading.Lock()
        self._generation: tuple[int, int] | None = None
        self._slices: list[Vectors] = []
        self._complete = False  # the slices hold every paper of the store
        # The papers of the slices of the stamp before, until this stamp's reach as far.
        self._earlier: dict[int, Carried] = {}
        self._earlier_slices = 0

    def slices(self, conn: Connection) -> Iterator[Vectors]:
        """The slices, newest first: those kept, then more read on conn while a search asks
        for them and the budget allows."""
        generation = stamp(conn)
        with self._lock:
            if generation != self._generation:
                if self._slices:
                    self._earlier = Vectors.carried(self._slices)
                    self._earlier_slices = len(self._slices)
                self._generation, self._slices, self._complete = generation, [], False
        at, before = 0, None
        while True:
            with self._lock:
                ours = generation == self._generation
                kept = self._slices[at] if ours and at < len(self._slices) else None
            if kept is None:
                with self._lock:
                    held = [v.size for v in self._slices]
                    if self._complete or sum(held) + max(held, default=0) > self.budget:
                        return  # another slice would pass the budget
                rows = index.candidates(conn, None, before, self.size, True)
                with self._lock:
                    earlier = self._earlier
                kept = _unchanged(rows, earlier) or Vectors(rows, earlier)
                with self._lock:
                    # Another search read this slice meanwhile, or a new generation came:
                    # the kept ones stay, and this one serves this search only.
                    if generation == self._generation and len(self._slices) == at:
                        self._slices.append(kept)
                        self._complete = len(rows) < self.size
                        if self._complete or len(self._slices) >= self._earlier_slices:
                            self._earlier, self._earlier_slices = {}, 0
            yield kept
            if len(kept.rows) < self.size:
                return
            before = kept.rows[-1].key
            at += 1


def _unchanged(rows: Sequence[Any], earlier: Mapping[int, Carried]) -> Vectors | None:
    """The slice of the stamp before that holds exactly these papers, as they are."""
    found = earlier.get(rows[0].key) if rows else None
    if found is None or found[1] != 0 or len(found[0].rows) != len(rows):
        return None
    # Rows compare column by column, in C: every column of every row the same.
    return found[0] if list(found[0].rows) == list(rows) else None


# One statement, written out: building it with SQLAlchemy cost more than running it.
_STAMP = sa.text(
    "SELECT (SELECT number FROM state WHERE key = 'generation'), "
    "(SELECT max(order_key) FROM paper_index)"
)


def stamp(conn: Connection) -> tuple[int, int]:
    """The store's generation and its newest order key: a refresh publishes a new
    generation; papers written outside one (a test, a bulk load) are seen by the newest key."""
    generation, newest = conn.execute(_STAMP).one()
    return int(generation or 0), int(newest or 0)
