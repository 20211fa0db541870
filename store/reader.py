"""The reads of one search, on one connection: what the planner (topics.search) reads.

A search reads in several steps (candidates, with their stems or then their columns,
the papers found). Checking a connection out of the pool for each step costs a ping, and on
PostgreSQL a BEGIN and a ROLLBACK: a third of a common word's search. So a search holds one
connection, in autocommit (it only reads; each statement sees the latest commit, as under
READ COMMITTED, and a paper merged away meanwhile is simply not found).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from store import index, papers
from store.recent import RecentPapers
from store.records import StoredPaper
from store.schema import paper_index
from store.schema import papers as papers_table
from topics.plan import IndexShape, Lookup
from topics.similarity import Vectors


class SearchReader:
    """The planner's TextIndex on one connection."""

    shape: IndexShape = index.SHAPE

    def __init__(self, conn: Connection, recent: RecentPapers | None = None) -> None:
        self._conn = conn
        self._recent = recent

    def split_key(self, key: int) -> tuple[int, int]:
        return index.split_key(key)

    def candidates(
        self, plan: Lookup | None, before: int | None, count: int, stems: bool
    ) -> Sequence[Any]:
        return index.candidates(self._conn, plan, before, count, stems)

    def paper_columns(self, ids: Sequence[int], columns: Sequence[str]) -> list[sa.Row[Any]]:
        return papers.paper_columns(self._conn, ids, columns)

    def papers_by_ids(self, ids: Iterable[int]) -> list[StoredPaper]:
        return papers.papers_by_ids(self._conn, list(ids))

    def recent(self) -> Iterator[Vectors]:
        """The newest papers' vectors the store keeps in memory (none without a cache)."""
        return self._recent.slices(self._conn) if self._recent is not None else iter(())

    def identified(self, known: Collection[tuple[str, str]]) -> list[sa.Row[Any]]:
        """Papers with one of these identifiers ("id": arXiv id, "doi"), newest first, with
        their order keys (.key): an id: or doi: search reads them, not the text index."""
        columns = {"id": papers_table.c.arxiv_id, "doi": papers_table.c.doi}
        wanted = [columns[name] == value for name, value in known]
        return list(
            self._conn.execute(
                sa.select(paper_index.c.order_key.label("key"))
                .join(papers_table, papers_table.c.id == paper_index.c.paper_id)
                .where(sa.or_(*wanted))
                .order_by(paper_index.c.order_key.desc())
            )
        )


class ReaderStore:
    search_engine: Engine
    _recent: RecentPapers | None = None

    @contextmanager
    def searching(self) -> Iterator[SearchReader]:
        """What a search reads, on one connection held for the block; a like: search scores
        the newest papers from this process's vectors of them (store.recent)."""
        recent = self.recent_papers()
        with self.search_engine.connect() as conn:
            yield SearchReader(conn.execution_options(isolation_level="AUTOCOMMIT"), recent)

    def recent_papers(self) -> RecentPapers:
        """This process's newest papers' vectors (store.recent), made on first use."""
        if self._recent is None:
            self._recent = RecentPapers()
        return self._recent
