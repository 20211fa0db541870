"""The text index: each paper's words, written in the transaction that writes the paper.

The tokens are the exact matcher's own (topics.analysis folds, splits and stems each field),
so an index lookup can over-find but never miss what the matcher accepts. The index owns
its layout (layout: the fields it keeps, the token cap, the order key that sorts papers
newest first) and answers a search's plan (topics.plan) through the few functions below;
each dialect keeps its own tables and SQL: an FTS5 table on SQLite (sqlite), tsvector
columns with GIN indexes on PostgreSQL (postgres).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from store.index import postgres, sqlite
from store.index.layout import (
    FIELDS,
    ID_BITS,
    MAX_TOKEN,
    SHAPE,
    PaperText,
    entries,
    field_tokens,
    order_key,
    split_key,
)
from store.index.postgres import day_lexemes, lexemes
from store.schema import paper_index, papers, state
from topics.analysis import VERSION as ANALYSIS_VERSION
from topics.analysis import Document
from topics.plan import Lookup

__all__ = [
    "FIELDS",
    "ID_BITS",
    "MAX_TOKEN",
    "ANALYSIS",
    "SHAPE",
    "IndexStore",
    "PaperText",
    "build",
    "candidates",
    "clear",
    "counts",
    "day_lexemes",
    "field_tokens",
    "insert_rows",
    "lexemes",
    "order_key",
    "reindex",
    "repair",
    "split_key",
]

# DDL, shared by the migrations and the benchmark.
SQLITE_WORDS_TABLE = sqlite.WORDS_TABLE
POSTGRES_FIRST_SEEN_COLUMN = postgres.FIRST_SEEN_COLUMN
POSTGRES_WORDS_COLUMN = postgres.WORDS_COLUMN
POSTGRES_IN_ROW = postgres.IN_ROW
POSTGRES_WORDS_INDEXES = postgres.WORDS_INDEXES
POSTGRES_UNREPAIRED_INDEX = postgres.UNREPAIRED_INDEX


class Dialect(Protocol):
    """What each dialect's module offers the index."""

    def forget(self, conn: Connection, paper_ids: Sequence[int]) -> None: ...

    def insert(self, conn: Connection, entries: Sequence[Any]) -> None: ...

    def before_build(self, conn: Connection) -> None: ...

    def clear(self, conn: Connection) -> None: ...

    def after_build(self, conn: Connection) -> None: ...

    def unrepaired(self, conn: Connection) -> list[int]: ...

    def candidates_query(
        self, plan: Lookup | None, before: int | None, stems: bool, today: int
    ) -> tuple[Any, Mapping[str, Any]]: ...

    def read(
        self, conn: Connection, statement: Any, params: Mapping[str, Any], stems: bool
    ) -> Sequence[Any]: ...

    def counts(self, conn: Connection, plans: Sequence[Lookup], cap: int) -> list[int]: ...


def _dialect(conn: Connection) -> Dialect:
    return sqlite if conn.dialect.name == "sqlite" else postgres  # type: ignore[return-value]


# ---- writing ------------------------------------------------------------------------------

# The state row that says which analyser (topics.analysis.VERSION) wrote the index: another
# number means its tokens are not the matcher's, and the index is emptied and filled again
# (store.backfill), without a migration.
ANALYSIS = "index_analysis"


def clear(conn: Connection) -> None:
    """Empty the index and record that what fills it now is this analyser's."""
    _dialect(conn).clear(conn)
    conn.execute(sa.delete(state).where(state.c.key == ANALYSIS))
    conn.execute(sa.insert(state).values(key=ANALYSIS, number=ANALYSIS_VERSION))


def reindex(
    conn: Connection,
    written: Iterable[Any],
    removed: Iterable[int] = (),
    fresh: Collection[int] = (),
    docs: Mapping[int, Document] | None = None,
) -> None:
    """Make the index hold these papers as they are now, and forget the removed ones.
    fresh: papers just inserted (nothing of theirs to forget); docs: papers already
    analysed for the matcher, by id (their tokens are the index's too)."""
    rows = list(written)
    forget = [p.id for p in rows if p.id not in fresh] + list(removed)
    dialect = _dialect(conn)
    for start in range(0, len(forget), 500):
        chunk = forget[start : start + 500]
        dialect.forget(conn, chunk)
        conn.execute(sa.delete(paper_index).where(paper_index.c.paper_id.in_(chunk)))
    insert_rows(conn, [(p.id, p.first_seen, p.title, p.abstract, p.authors) for p in rows], docs)


def insert_rows(
    conn: Connection, rows: Sequence[PaperText], docs: Mapping[int, Document] | None = None
) -> None:
    """Index papers that have no index rows yet, in bulk."""
    if rows:
        _dialect(conn).insert(conn, entries(rows, docs))


def build(conn: Connection, progress: Callable[[int, int], None] | None = None) -> int:
    """Index every paper, in bulk, into an empty index (the migration; papers loaded in
    bulk outside upsert)."""
    dialect = _dialect(conn)
    clear(conn)
    dialect.before_build(conn)
    total = int(conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one())
    done, last = 0, 0
    while True:
        batch = conn.execute(
            sa.select(
                papers.c.id,
                papers.c.first_seen,
                papers.c.title,
                papers.c.abstract,
                papers.c.authors,
            )
            .where(papers.c.id > last)
            .order_by(papers.c.id)
            .limit(2000)
        ).all()
        if not batch:
            break
        insert_rows(conn, [tuple(row) for row in batch])  # type: ignore[misc]
        done, last = done + len(batch), batch[-1].id
        if progress:
            progress(done, total)
    dialect.after_build(conn)
    return done


def repair(conn: Connection) -> int:
    """Index again the papers an earlier release indexed in an older layout (PostgreSQL:
    rows without first_seen or day lexemes, which a search's tiers cannot see)."""
    ids = _dialect(conn).unrepaired(conn)
    if ids:
        columns = (papers.c.id, papers.c.first_seen, papers.c.title, papers.c.abstract)
        selected = sa.select(*columns, papers.c.authors).where(papers.c.id.in_(ids))
        found = list(conn.execute(selected))
        gone = set(ids) - {paper.id for paper in found}  # its paper deleted meanwhile
        reindex(conn, found, removed=gone)
    return len(ids)


# ---- reading ------------------------------------------------------------------------------


def candidates(
    conn: Connection, plan: Lookup | None, before: int | None, count: int, stems: bool
) -> Sequence[Any]:
    """Papers plan may match (every paper when None) with order keys below before (all
    when None), newest first, at most count: rows with .key, and with stems also .id,
    .first_seen and each indexed field's stems as the index keeps them (space-separated).
    One statement: a round trip is a good part of a search that finds its answer in the
    newest papers."""
    name = conn.dialect.name
    today = 0 if name == "sqlite" else postgres.today()
    query = _candidates_query if before is not None else _newest_candidates
    statement, fixed = query(name, plan, before, stems, today)
    return _dialect(conn).read(conn, statement, {**fixed, "count": count}, stems)


def counts(conn: Connection, plans: Sequence[Lookup], cap: int) -> list[int]:
    """How many papers each plan may match (as many as candidates() would give), each
    counted to cap at most, by the database."""
    return _dialect(conn).counts(conn, plans, cap) if plans else []


def _candidates_query(
    dialect: str, plan: Lookup | None, before: int | None, stems: bool, today: int
) -> tuple[Any, Mapping[str, Any]]:
    """The statement of candidates and its parameters but :count (read-only: cached)."""
    module: Dialect = sqlite if dialect == "sqlite" else postgres  # type: ignore[assignment]
    return module.candidates_query(plan, before, stems, today)


# The first chunk's statement, made once for a query (and day): building it, and
# sa.text() parsing its parameters out again, cost a fifth of a search that finds nothing.
_newest_candidates = functools.lru_cache(maxsize=256)(_candidates_query)


class IndexStore:
    engine: Engine

    def repair_index(self) -> int:
        """Index again papers an earlier release indexed without first_seen and days."""
        with self.engine.begin() as conn:
            return repair(conn)

    def build_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Index every paper into an empty index (papers written in bulk, outside upsert)."""
        with self.engine.begin() as conn:
            return build(conn, progress)
