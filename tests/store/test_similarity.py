"""like: against a real store, on SQLite and PostgreSQL: profiles from stored papers and
the text index's counts, a score per membership, and topics ordered by it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

import parsing
from store import SearchReader, Store
from store.recent import RecentPapers
from tests.helpers import LISTINGS, SEED_COUNTS
from topics.membership import Topics
from topics.query import Query, QueryError, parse
from topics.search import find

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def stored(store: Store) -> None:
    for n, name in enumerate(sorted(SEED_COUNTS)):
        batch = parsing.parse("hf-text", (LISTINGS / name).read_bytes()).papers
        store.upsert(batch, "samples", T0 + timedelta(hours=n))


def guid(store: Store, title: str) -> str:
    (paper,) = store.find_papers_by_title(title)
    return paper.guid


def test_an_unknown_id_is_an_error_naming_it(store: Store) -> None:
    with pytest.raises(QueryError, match="'2401.99999'"):
        store.bind(parse("like:(2401.99999)"))


def test_a_like_topic_is_scored_when_stored_and_ordered_by_relevance(store: Store) -> None:
    stored(store)
    seeds = [guid(store, "PreF3R"), guid(store, "Self-Calibrating Gaussian Splatting")]
    query = store.bind(parse(f'like:("{seeds[0]}" "{seeds[1]}")'))
    # A topic changed: its members found through the text index, each with its score.
    with store.searching() as index:
        found = Topics({"splat": query}).members(index, "splat")
    store.set_topic("splat", query.fingerprint, found)
    best = store.topic_items("splat", 50, order="relevance")
    newest = store.topic_items("splat", 50)
    scores = [p.score for p in best]
    assert len(best) >= 3 and all(s is not None for s in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert {p.guid for p in best[:2]} == set(seeds)  # the examples are the most like them
    assert "splatting" in " ".join(p.title.lower() for p in best[:4])
    assert [p.guid for p in newest] != [p.guid for p in best]  # another order
    assert {p.guid for p in newest} == {p.guid for p in best}
    line = best[2].matched[0][0]
    assert line.startswith("like '") and "): " in line


def test_papers_stored_later_are_scored_on_the_way_in(store: Store) -> None:
    stored(store)
    seed = guid(store, "PreF3R")
    query = store.bind(parse(f'"gaussian splatting" OR like:"{seed}"'))
    topics = Topics({"splat": query})
    batch = parsing.parse("hf-text", (LISTINGS / sorted(SEED_COUNTS)[0]).read_bytes()).papers
    late = [replace(batch[0], title="Gaussian Splatting Again", arxiv_id="2611.00001")]
    store.upsert(late, "samples", T0 + timedelta(days=1), topics)
    (paper,) = store.topic_items("splat", 50)[:1]
    assert paper.title == "Gaussian Splatting Again"
    assert paper.score is not None and paper.score >= 0.5  # the rule's prior at least


def test_the_counts_a_profile_reads_are_the_stores(store: Store) -> None:
    """A store smaller than the sample is read whole: its document frequencies and mean
    length must be what counting every stored paper gives (the words asked only)."""
    from topics.analysis import Document
    from topics.similarity import CountedCorpus

    stored(store)
    exact = CountedCorpus.of(
        Document.of(title=p.title, abstract=p.abstract or "") for p in store.iter_papers()
    )
    seed = Document.of_paper(store.find_papers_by_title("PreF3R")[0])
    words = sorted(set(seed.fields["title"].stems) | set(seed.fields["abstract"].stems))
    with store.search_engine.connect() as conn:
        counts = store._corpus(conn)
        found = counts.doc_freq_on(conn, words)
    assert counts.documents == exact.documents
    assert counts.average_length == pytest.approx(exact.average_length)
    assert {w: found[w] for w in words} == {w: exact.frequencies.get(w, 0) for w in words}
    assert any(found[w] >= 20 for w in words) and any(found[w] < 20 for w in words)


def _like_hits(store: Store, query: Query, recent: RecentPapers | None) -> list[tuple[object, ...]]:
    with store.search_engine.connect() as conn:
        reader = SearchReader(conn, recent)
        return [
            (h.paper_id, h.first_seen, list(h.matched), h.matched.score)
            for h in find(reader, query, limit=40)
        ]


def test_a_like_search_scored_from_vectors_in_memory_finds_what_the_index_finds(
    store: Store,
) -> None:
    """The newest papers scored from their vectors held in memory (store.recent), a few
    slices of them and the index below: the same papers, the same matches and scores as the
    index alone; a paper stored later is found once it is published (a new generation)."""
    stored(store)
    seeds = [guid(store, "PreF3R"), guid(store, "Self-Calibrating Gaussian Splatting")]
    query = store.bind(parse(f'like:("{seeds[0]}" "{seeds[1]}") AND NOT medical'))
    recent = RecentPapers(budget=1, size=7)  # one slice of 7 papers kept; the index below
    alone = _like_hits(store, query, None)
    assert len(alone) >= 5
    assert _like_hits(store, query, recent) == alone
    assert _like_hits(store, query, recent) == alone  # from the kept slice
    assert _like_hits(store, query, RecentPapers(size=7)) == alone  # every paper in memory
    with store.search_engine.connect() as conn:
        kept = list(recent.slices(conn))
    assert len(kept) == 1 and len(kept[0].rows) == 7

    batch = parsing.parse("hf-text", (LISTINGS / sorted(SEED_COUNTS)[0]).read_bytes()).papers
    (paper,) = store.find_papers_by_title("PreF3R")
    late = replace(
        batch[0], title=paper.title + " Again", abstract=paper.abstract, arxiv_id="2611.00002"
    )
    store.upsert([late], "samples", T0 + timedelta(days=2))
    store.bump_generation()
    found = _like_hits(store, query, recent)
    assert found == _like_hits(store, query, None)
    assert len(found) == len(alone) + 1 and found[0][0] not in {hit[0] for hit in alone}
    with store.search_engine.connect() as conn:
        assert next(recent.slices(conn)) is not kept[0]  # read again for the new generation


def test_a_word_counted_before_a_refresh_is_counted_again_after_it(store: Store) -> None:
    """A seed's rare word counted once, then papers holding it stored (the store grew by
    far less than a new sample needs): the next profile must see the new count, or a word
    left out for being too rare stays out until the process restarts."""
    stored(store)
    word = "wombatgraph"
    with store.search_engine.connect() as conn:
        assert store._corpus(conn).doc_freq_on(conn, [word]) == {word: 0}
    batch = parsing.parse("hf-text", (LISTINGS / sorted(SEED_COUNTS)[0]).read_bytes()).papers
    late = [
        replace(batch[0], title=f"Wombatgraph networks, part {n}", arxiv_id=f"2611.0000{n}")
        for n in range(3)
    ]
    store.upsert(late, "samples", T0 + timedelta(days=1))
    store.bump_generation()
    with store.search_engine.connect() as conn:
        assert store._corpus(conn).doc_freq_on(conn, [word]) == {word: 3}
