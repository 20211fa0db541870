"""The set-based write path (store.batch, store.papers.upsert), on SQLite and PostgreSQL: a
batch stores what storing its papers one at a time stores; an unchanged paper read again
costs no write; a search after a one-refresh import stops at its limit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from migrations import upgrade
from parsing.model import Paper, make_paper
from store import Store, StoredPaper
from store import papers as store_papers
from store.schema import papers
from topics import search
from topics.membership import Topics
from topics.query import parse

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def paper(title: str, **fields: Any) -> Paper:
    return make_paper(title=title, abstract=fields.pop("abstract", f"About {title}."), **fields)


# Batches whose papers meet each other and the stored records in every way the identity
# rules know: by title then arXiv id, by DOI then arXiv id, an item id, two stored records
# that one paper shows to be one, a paper listed twice, a DOI that says "another paper".
STORED = [
    paper("Quokka Nets"),
    paper("Wombat Graphs", doi="10.1000/wombat"),
    paper("Platypus Trees", item_id="urn:item:7"),
]
BATCHES = [
    [paper("Quokka Nets", arxiv_id="2611.00001"), paper("Quokka Nets", upvotes=5)],
    [paper("Wombat Graphs", arxiv_id="2611.00002", doi="10.1000/wombat")],
    [paper("Platypus Trees, corrected", item_id="urn:item:7")],
    [paper("Echidna Sets"), paper("Echidna Sets", arxiv_id="2611.00003", upvotes=2)],
    [paper("Quokka Nets", doi="10.1000/other")],
    [
        paper("Numbat Maps", arxiv_id="2611.00004"),
        paper("Numbat Maps", doi="10.1000/numbat"),
        paper("Numbat Maps", arxiv_id="2611.00004", doi="10.1000/numbat", abstract="Longer."),
    ],
]


def what_is_stored(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(papers).order_by(papers.c.guid)).all()
    return [(r.guid, r.title, r.arxiv_id, r.doi, r.item_id, r.abstract, r.upvotes) for r in rows]


@pytest.fixture
def twin(store: Store, tmp_path) -> Store:  # type: ignore[no-untyped-def]
    """A second, empty store on SQLite beside store (of either kind)."""
    other = Store(f"sqlite:///{tmp_path / 'twin.db'}")
    upgrade(other.engine)
    yield other
    other.dispose()


@pytest.mark.parametrize("batch", BATCHES, ids=range(len(BATCHES)))
def test_a_batch_stores_what_its_papers_one_at_a_time_store(
    store: Store, twin: Store, batch: list[Paper]
) -> None:
    topics = Topics({"nets": parse("nets OR maps")})
    for db in (store, twin):
        db.upsert(STORED, "src", T0, topics)
    whole = store.upsert(batch, "src", T1, topics)
    for one in batch:
        twin.upsert([one], "src", T1, topics)
    assert what_is_stored(store) == what_is_stored(twin)
    assert store.count_papers() == twin.count_papers()
    assert len(whole.new) == store.count_papers() - len(STORED) + len(whole.merged_away)


def test_papers_read_again_unchanged_cost_no_write(store: Store) -> None:
    listed = [paper(f"Paper number {n}", arxiv_id=f"2611.{n:05d}") for n in range(1, 40)]
    first = store.upsert(listed, "src", T0)
    assert len(first.new) == len(listed)
    again = store.upsert(listed, "src", T1)
    assert (again.new, again.changed, again.unchanged) == ([], [], len(listed))
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.max(papers.c.updated))).scalar() == T0
    # A changed paper among them is still noticed.
    changed = [*listed[:-1], paper("Paper number 39", arxiv_id="2611.00039", upvotes=9)]
    assert len(store.upsert(changed, "src", T1).changed) == 1


def test_papers_stored_before_content_hashes_get_theirs_when_read_again(store: Store) -> None:
    listed = [paper(f"Old paper {n}", arxiv_id=f"2611.{n:05d}") for n in range(1, 6)]
    store.upsert(listed, "src", T0)
    with store.engine.begin() as conn:
        conn.execute(sa.update(papers).values(content_hash=None))
    again = store.upsert(listed, "src", T1)
    assert again.unchanged == len(listed) and not again.changed
    with store.engine.connect() as conn:
        hashes = conn.execute(sa.select(papers.c.content_hash)).scalars().all()
    records = store.papers_by_ids(range(1, 100))
    assert sorted(hashes) == sorted(StoredPaper.content_hash.func(r) for r in records)


def test_a_search_after_a_one_refresh_import_stops_at_its_limit(store: Store) -> None:
    listed = [paper(f"Diffusion study {n}", arxiv_id=f"2611.{n:05d}") for n in range(1, 301)]
    store.upsert(listed, "src", T0)  # every paper first seen in one second
    read: list[int] = []
    with store.searching() as index:
        candidates = index.candidates

        def counted(*args: Any) -> Any:
            found = candidates(*args)
            read.append(len(found))
            return found

        index.candidates = counted  # type: ignore[method-assign]
        hits = search.find(index, parse("diffusion"), limit=10)
    assert [hit.paper_id for hit in hits] == list(range(300, 290, -1))  # the newest ten
    assert sum(read) < 100, read  # one slice, not the whole second


def test_papers_read_again_with_a_later_date_are_decided_unread(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing's date on each item (arXiv's RSS): read again a day later, the merge keeps
    the first date, so the records are left as they are without reading their rows; a date
    the merge does take (the v1 date, in the arXiv id's month) is still merged in."""
    listed = [
        paper(f"Dated paper {n}", arxiv_id=f"2611.{n:05d}", published=T0 + timedelta(days=40))
        for n in range(1, 6)
    ]
    store.upsert(listed, "src", T0)
    read: list[int] = []
    original = store_papers.papers_by_ids
    monkeypatch.setattr(
        store_papers, "papers_by_ids", lambda conn, ids: read.extend(ids) or original(conn, ids)
    )
    later = [replace(p, published=T0 + timedelta(days=41)) for p in listed]
    again = store.upsert(later, "src", T1)
    assert (again.new, again.changed, again.unchanged, read) == ([], [], len(listed), [])
    v1 = [replace(p, published=datetime(2026, 11, 2, tzinfo=UTC)) for p in listed[:2]]
    assert len(store.upsert(v1, "src", T1).changed) == 2
    assert len(read) == 2
    assert {p.published for p in store.papers_by_ids(range(1, 3))} == {v1[0].published}
