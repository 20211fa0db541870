"""store.sqlite_rows writes, through SQLite's own executemany, the bytes SQLAlchemy writes:
a paper stored by upsert reads back, column by column as stored, as the same record
inserted by SQLAlchemy does; its id is the one SQLite would have given it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from migrations import upgrade
from parsing.model import make_paper
from store import Store
from store.merge import sighting
from store.paper_rows import row_values
from store.schema import papers

NOW = datetime(2026, 11, 2, 9, 30, 15, tzinfo=UTC)
PAPER = make_paper(
    title="Quokka Nets: Pouches All the Way Down",
    abstract="We study quokkas. Naïve résumé; x² and 50%.",
    arxiv_id="2611.00042",
    authors=["Ada Lovelace", "Émile Borel"],
    categories=["cs.LG", "stat.ML"],
    url="https://arxiv.org/abs/2611.00042",
    published=datetime(2026, 11, 1, 0, 0, tzinfo=UTC),
    upvotes=7,
    links=[("code", "https://example.org/code"), ("pdf", "https://arxiv.org/pdf/2611.00042")],
    versions=[(1, "2026-11-01T00:00:00+00:00"), (2, "2026-11-02T00:00:00+00:00")],
    license="http://creativecommons.org/licenses/by/4.0/",
    version=2,
    announce_type="replace",
    journal_ref="J. Marsupials 3 (2026)",
)


def _raw_rows(path: Path) -> list[tuple[object, ...]]:
    """Every papers row as SQLite holds it (no SQLAlchemy type read it back)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM papers ORDER BY id").all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_a_paper_is_stored_as_sqlalchemy_stores_it(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    for path in (ours, theirs):
        store = Store(f"sqlite:///{path}")
        upgrade(store.engine)
        if path == ours:
            store.upsert([PAPER], "arxiv", NOW)
            store.upsert([make_paper(title="A second paper", arxiv_id="2611.00043")], "arxiv", NOW)
        else:
            with store.engine.begin() as conn:
                conn.execute(sa.insert(papers), [row_values(sighting(PAPER, "arxiv", NOW))])
                second = make_paper(title="A second paper", arxiv_id="2611.00043")
                conn.execute(sa.insert(papers), [row_values(sighting(second, "arxiv", NOW))])
        store.dispose()
    assert _raw_rows(ours) == _raw_rows(theirs)
    assert [row[0] for row in _raw_rows(ours)] == [1, 2]


def test_a_batch_whose_rows_share_times_is_stored_as_sqlalchemy_stores_it(tmp_path: Path) -> None:
    """One batch: its times converted once each, the same instant in another zone too."""
    in_paris = datetime(2026, 11, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    batch = [PAPER, make_paper(title="A second paper", arxiv_id="2611.00043", published=in_paris)]
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    for path in (ours, theirs):
        store = Store(f"sqlite:///{path}")
        upgrade(store.engine)
        if path == ours:
            store.upsert(batch, "arxiv", NOW)
        else:
            with store.engine.begin() as conn:
                for paper in batch:
                    conn.execute(sa.insert(papers), [row_values(sighting(paper, "arxiv", NOW))])
        store.dispose()
    assert _raw_rows(ours) == _raw_rows(theirs)


def test_a_batch_gets_the_ids_sqlite_gives_in_its_order(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(store.engine)
    first = store.upsert([make_paper(title="Old", arxiv_id="2611.00001")], "arxiv", NOW)
    with store.engine.begin() as conn:  # an id above the rest, then a gap below it
        conn.exec_driver_sql("UPDATE papers SET id = 40 WHERE id = ?", (first.new[0],))
    batch = [make_paper(title=f"Paper {n}", arxiv_id=f"2611.{n:05d}") for n in range(2, 6)]
    result = store.upsert(batch, "arxiv", NOW)
    with store.engine.connect() as conn:
        stored = dict(conn.exec_driver_sql("SELECT id, arxiv_id FROM papers").all())
    assert result.new == [41, 42, 43, 44]
    assert [stored[i] for i in result.new] == [paper.arxiv_id for paper in batch]
    store.dispose()
