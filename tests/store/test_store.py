"""Identity, merging and idempotent writes, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import parsing
from parsing.model import Paper, make_paper
from store import Store, StoreError
from store.schema import papers
from tests.helpers import LISTINGS, SEED_COUNTS, parser_fixture
from topics.search import Hit

FIXTURE_KINDS = {
    "hf_daily_papers.json": "hf-api",
    "hf_papers_page.html": "hf-page",
    "arxiv_api.atom": "arxiv-api",
    "arxiv_rss.xml": "arxiv-rss",
}
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def seed_papers() -> list[tuple[str, list[Paper]]]:
    return [
        (name, parsing.parse("hf-text", (LISTINGS / name).read_bytes()).papers)
        for name in sorted(SEED_COUNTS)
    ]


def fixture_papers() -> list[tuple[str, list[Paper]]]:
    return [
        (name, parsing.parse(kind, parser_fixture(f"cases/{name}").read_bytes()).papers)
        for name, kind in FIXTURE_KINDS.items()
    ]


def test_the_four_captures_store_431_distinct_papers(store: Store) -> None:
    for _name, batch in seed_papers():
        store.upsert(batch, "samples", T0)
    assert store.count_papers() == 431


def test_storing_the_same_listings_again_writes_nothing(store: Store) -> None:
    for _, batch in seed_papers():
        store.upsert(batch, "samples", T0)
    with store.engine.connect() as conn:
        before = conn.execute(sa.select(papers).order_by(papers.c.id)).all()
    for _, batch in seed_papers():
        again = store.upsert(batch, "samples", T0 + timedelta(hours=1))
        assert again.new == [] and again.changed == []
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(papers).order_by(papers.c.id)).all() == before


def test_seeds_and_every_fixture_give_434_papers_one_item_each(store: Store) -> None:
    for _, batch in seed_papers() + fixture_papers():
        store.upsert(batch, "mixed", T0)
    assert store.count_papers() == 434
    with store.engine.connect() as conn:
        keys = conn.execute(sa.select(papers.c.title_key)).scalars().all()
        ids = [i for i in conn.execute(sa.select(papers.c.arxiv_id)).scalars().all() if i]
    assert len(keys) == len(set(keys))
    assert len(ids) == len(set(ids)) == 9


def test_guid_and_first_seen_survive_a_merge_from_title_to_arxiv_id(store: Store) -> None:
    store.upsert([make_paper(title="Hyper-Connections", abstract="short")], "samples", T0)
    before = store.papers_by_ids([1])[0]
    later = make_paper(
        title="Hyper Connections",
        abstract="a longer abstract than before",
        arxiv_id="2409.19606v2",
        authors=["Defa Zhu"],
        upvotes=12,
    )
    result = store.upsert([later], "hf-daily", T0 + timedelta(days=2))
    assert result.new == []
    after = store.find_paper("2409.19606")
    assert after is not None
    assert after.guid == before.guid and after.guid.startswith("urn:paperfeed:title:")
    assert after.first_seen == T0
    assert after.abstract == "a longer abstract than before"
    assert after.authors == ("Defa Zhu",) and after.upvotes == 12
    assert after.sources == ("hf-daily", "samples")
    assert store.count_papers() == 1


def test_title_record_and_arxiv_record_seen_apart_merge_keeping_the_oldest_guid(
    store: Store,
) -> None:
    store.upsert([make_paper(title="Deep Residual Learning", abstract="x")], "a", T0)
    old = store.papers_by_ids([1])[0]
    # The same paper arrives by id with a different title spelling first, then by title.
    store.upsert(
        [make_paper(title="Deep residual learning!", arxiv_id="1512.03385")],
        "b",
        T0 + timedelta(days=1),
    )
    assert store.count_papers() == 1
    merged = store.find_paper("1512.03385")
    assert merged is not None and merged.guid == old.guid and merged.first_seen == T0


def test_two_stored_records_becoming_one_keep_url_counts_and_the_arxiv_guid(
    store: Store,
) -> None:
    """A title-keyed record and an arXiv-keyed record, both stored, turn out to be one paper:
    the arXiv GUID that readers have stays (the arXiv id is what every later listing names),
    with the oldest first_seen."""
    by_title = make_paper(
        title="Scaling Laws", url="https://example.org/scaling", upvotes=7, comments=2
    )
    store.upsert([by_title], "page", T0)
    store.upsert([make_paper(title="Scaling laws v2", arxiv_id="2001.08361")], "api", T0)
    assert store.count_papers() == 2
    oldest = store.papers_by_ids([1])[0]
    # Now a listing gives the arXiv id under the first title: the two records are one paper.
    result = store.upsert(
        [make_paper(title="Scaling Laws", arxiv_id="2001.08361")], "rss", T0 + timedelta(days=1)
    )
    assert store.count_papers() == 1 and result.merged_away == [1]
    merged = store.find_paper("2001.08361")
    assert merged is not None
    assert oldest.guid.startswith("urn:paperfeed:title:")
    assert (merged.guid, merged.first_seen) == ("urn:arxiv:2001.08361", T0)
    assert merged.url == "https://example.org/scaling"
    assert (merged.upvotes, merged.comments) == (7, 2)
    assert merged.sources == ("api", "page", "rss")


def test_a_new_version_is_the_same_paper(store: Store) -> None:
    store.upsert([make_paper(title="Identity Mappings", arxiv_id="1603.05027v3")], "api", T0)
    replaced = make_paper(
        title="Identity Mappings in Deep Residual Networks",
        arxiv_id="oai:arXiv.org:1603.05027v4",
        abstract="replaced version",
    )
    result = store.upsert([replaced], "rss", T0 + timedelta(days=1))
    assert result.new == [] and store.count_papers() == 1
    paper = store.find_paper("1603.05027")
    assert paper is not None and paper.guid == "urn:arxiv:1603.05027"
    assert paper.abstract == "replaced version"


def test_lease_is_exclusive_until_it_expires(store: Store) -> None:
    ttl = timedelta(seconds=30)
    assert store.acquire_lease("refresh", "a", ttl, now=T0)
    assert not store.acquire_lease("refresh", "b", ttl, now=T0 + timedelta(seconds=10))
    assert store.acquire_lease("refresh", "a", ttl, now=T0 + timedelta(seconds=10))  # renew
    assert store.acquire_lease("refresh", "b", ttl, now=T0 + timedelta(seconds=41))  # expired
    store.release_lease("refresh", "b")
    assert store.acquire_lease("refresh", "c", ttl)


def test_reads_the_pages_need_title_search_dates_and_topic_offsets(store: Store) -> None:
    for name, batch in fixture_papers():
        store.upsert(batch, name, T0)
    found = store.find_papers_by_title("deep RESIDUAL learning")
    assert [p.arxiv_id for p in found] == ["1512.03385"]
    assert store.find_papers_by_title("100%_") == []  # LIKE wildcards are literal
    dates = store.paper_dates_since(datetime(1900, 1, 1, tzinfo=UTC))
    assert datetime(2015, 12, 10, 19, 51, 55, tzinfo=UTC) in dates  # the paper's own date
    assert len(dates) == store.count_papers()
    stored = list(store.iter_papers())
    ids = [p.id for p in stored]
    store.set_topic("all", "every paper", [Hit(p.id, p.first_seen, []) for p in stored])  # type: ignore[arg-type]
    first, second = store.topic_items("all", 2), store.topic_items("all", 2, offset=2)
    assert [p.id for p in first + second] == ids[:4]
    assert store.topic_size("all") == len(ids) and store.topic_size("none") == 0


def test_a_sqlite_file_that_is_not_a_database_is_a_store_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SQLite reports a garbled file ("file is not a database", "database disk image is
    malformed") as a DatabaseError, which the web layer answered with a 500. It is the store
    being unusable, as when it is unreachable: a StoreError (503, cached feeds served)."""
    path = tmp_path / "store.db"
    path.write_bytes(b"this is not a database" * 1000)
    store = Store(f"sqlite:///{path}")
    with pytest.raises(StoreError, match="not a database"):
        store.count_papers()
    store.dispose()
