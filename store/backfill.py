"""Index the papers the text index lacks: every paper after a migration that made or
emptied the index (0005 makes it; on PostgreSQL 0006 and 0007 change what a row holds),
and papers a release before 0005 wrote beside this one during a rolling deploy.

Migrations import nothing of ours, so they leave this to the application, which runs it
once the schema is current: `paperfeed migrate`, and each refresh before it matches topics
(a paper the index cannot find is a paper a topic misses).

Papers are read in order of id from a checkpoint (the state row index_checked_through), a
batch per transaction that moves the checkpoint on: a fill that was stopped resumes where
it got to, and one with nothing to do reads a few rows. Each batch begins by writing the
checkpoint row, which takes its lock (SQLite: the write lock), so processes that fill at
once take turns and each sees what the other indexed. A migration that empties the index
deletes the checkpoint: the next fill starts over. So does a new analyser
(topics.analysis.VERSION, recorded in the state row index_analysis): the index is emptied
once, by the first process to fill, and filled again with the new tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from store.index import ANALYSIS, ANALYSIS_VERSION, clear, insert_rows
from store.rekey import rekey_titles
from store.schema import paper_index, papers, state

CHECKPOINT = "index_checked_through"
TASK = "indexing papers"
# Papers a transaction indexes: analysing them holds the write lock (SQLite) or the
# checkpoint row, for no longer than a refresh's batch of 500 papers holds it.
BATCH = 500
# Ids this far below the checkpoint are checked again: a transaction of an earlier release
# that took its ids before a fill passed them may commit after.
_LATE = 1000

# (task, done, total), as migrations.Steps: the CLI draws a bar.
Steps = Callable[[str, int, int], None]


class IndexFillStore:
    engine: Engine

    def fill_index(self, steps: Steps | None = None, batch: int = BATCH) -> int:
        """Index every paper that has no index row; how many it indexed. Steps counts the
        papers past the checkpoint (none: nothing to say). Title keys an older title_key
        wrote are re-keyed first (store.rekey)."""
        rekey_titles(self.engine)
        with self.engine.connect() as conn:
            analysed = _number(conn, ANALYSIS) == ANALYSIS_VERSION
        if not analysed:
            with self.engine.begin() as conn:
                _take_turn(conn, ANALYSIS)
                if _number(conn, ANALYSIS) != ANALYSIS_VERSION:  # no other process did it
                    clear(conn)
                    conn.execute(sa.delete(state).where(state.c.key == CHECKPOINT))
        with self.engine.connect() as conn:
            start = _checked_through(conn)
            total = int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(papers).where(papers.c.id > start)
                ).scalar_one()
            )
            if not total and not _unindexed(conn, max(start - _LATE, 0), start):
                return 0  # the everyday case: read, nothing written
        report = steps if steps and total else lambda task, done, total: None
        report(TASK, 0, total)
        after, done, indexed = max(start - _LATE, 0), 0, 0
        while True:
            with self.engine.begin() as conn:
                _take_turn(conn)
                checked = _checked_through(conn)
                after = max(after, checked - _LATE)  # another process may have gone further
                ids = (
                    conn.execute(
                        sa.select(papers.c.id)
                        .where(papers.c.id > after)
                        .order_by(papers.c.id)
                        .limit(batch)
                    )
                    .scalars()
                    .all()
                )
                if not ids:
                    break
                missing = _unindexed(conn, after, ids[-1])
                insert_rows(conn, missing)
                _save_checkpoint(conn, max(checked, ids[-1]))
            indexed += len(missing)
            done += sum(1 for paper_id in ids if paper_id > start)
            after = ids[-1]
            report(TASK, min(done, total), total)
            if len(ids) < batch:
                break
        if done < total:
            report(TASK, total, total)  # another process indexed the rest
        return indexed


def _checked_through(conn: Connection) -> int:
    return _number(conn, CHECKPOINT) or 0


def _number(conn: Connection, key: str) -> int | None:
    found = conn.execute(sa.select(state.c.number).where(state.c.key == key)).scalar()
    return None if found is None else int(found)


def _take_turn(conn: Connection, key: str = CHECKPOINT) -> None:
    """Lock the key's row until this transaction ends; a first write on SQLite, so the
    transaction holds the write lock from its start (no read to upgrade later)."""
    conn.execute(
        sa.text("INSERT INTO state (key, number) VALUES (:key, 0) ON CONFLICT (key) DO NOTHING"),
        {"key": key},
    )
    conn.execute(sa.update(state).where(state.c.key == key).values(number=state.c.number))


def _save_checkpoint(conn: Connection, through: int) -> None:
    conn.execute(sa.update(state).where(state.c.key == CHECKPOINT).values(number=through))


def _unindexed(conn: Connection, after: int, last: int) -> list[Any]:
    """The papers with ids in (after, last] that have no index row, as insert_rows takes them."""
    columns = (papers.c.id, papers.c.first_seen, papers.c.title, papers.c.abstract)
    rows = conn.execute(
        sa.select(*columns, papers.c.authors)
        .select_from(papers.outerjoin(paper_index, paper_index.c.paper_id == papers.c.id))
        .where(papers.c.id > after, papers.c.id <= last, paper_index.c.paper_id.is_(None))
    )
    return [tuple(row) for row in rows]
