"""like: against a real store, on SQLite and PostgreSQL: profiles from stored papers and
the text index's counts, a score per membership, and topics ordered by it."""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

import parsing
from parsing.model import Paper, make_paper
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


def test_a_new_generation_counts_only_the_papers_it_changed(store: Store) -> None:
    """After a refresh the newest papers are read again, but a slice whose papers are all
    as they were is kept whole, and an unchanged paper keeps its counts: only a paper
    rewritten in place is counted again, and the search finds what the index alone finds."""
    stored(store)
    seeds = [guid(store, "PreF3R"), guid(store, "Self-Calibrating Gaussian Splatting")]
    query = store.bind(parse(f'like:("{seeds[0]}" "{seeds[1]}")'))
    recent = RecentPapers(size=50)
    assert _like_hits(store, query, recent) == _like_hits(store, query, None)
    with store.search_engine.connect() as conn:
        before = list(recent.slices(conn))
    assert len(before) > 2

    store.bump_generation()  # a refresh that changed nothing
    with store.search_engine.connect() as conn:
        again = list(recent.slices(conn))
    assert len(again) == len(before) and all(a is b for a, b in zip(again, before, strict=True))

    (paper,) = store.find_papers_by_title("PreF3R")
    batch = parsing.parse("hf-text", (LISTINGS / sorted(SEED_COUNTS)[0]).read_bytes()).papers
    rewritten = replace(
        batch[0],
        title=paper.title,
        abstract=paper.abstract + " Splatting splatting gaussian pose-free splatting.",
        arxiv_id=paper.arxiv_id,
        doi=paper.doi,
        item_id=None,
    )
    store.upsert([rewritten], "samples", T0 + timedelta(days=2))
    store.bump_generation()
    with store.search_engine.connect() as conn:
        after = list(recent.slices(conn))
    was = {
        row.key: (row.abstract, counts)
        for v in before
        for row, counts in zip(v.rows, v._counts, strict=True)
    }
    remade = [at for at, v in enumerate(after) if v is not before[at]]
    assert len(after) == len(before) and len(remade) == 1  # the slice of the rewritten paper
    vectors = after[remade[0]]
    kept = [
        was[row.key][1] is counts for row, counts in zip(vectors.rows, vectors._counts, strict=True)
    ]
    changed = [was[row.key][0] != row.abstract for row in vectors.rows]
    assert sum(changed) == 1 and kept == [not c for c in changed]  # it alone counted again
    assert _like_hits(store, query, recent) == _like_hits(store, query, None)


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


def test_rule_or_like_learns_only_from_the_rules_papers_that_are_like_the_seeds(
    store: Store,
) -> None:
    """`rule OR like:` takes the rule's papers most like the seeds as more examples; when
    the seeds are of another topic than the rule, none of its papers is like them, and the
    like: finds what it finds alone. (Taking the rule's 20 best-scoring papers whatever
    their score taught the profile the rule's words: every "diffusion OR like:X" below
    added 154-319 papers outside the rule, where like:X alone finds one or two.)"""
    stored(store)
    rule = _ids(store, "diffusion")
    others = [
        p.guid
        for p in sorted(store.iter_papers(), key=lambda p: p.guid)
        if "diffusion" not in f"{p.title} {p.abstract}".lower()
    ][:3]
    for seed in others:
        alone = _ids(store, f'like:"{seed}"')
        assert _ids(store, f'diffusion OR like:"{seed}"') == rule | alone, seed
        assert len(alone) <= 3


def _ids(store: Store, text: str) -> frozenset[int]:
    query = store.bind(parse(text))  # as the web's /search: bind, then find
    with store.searching() as index:
        return frozenset(hit.paper_id for hit in find(index, query))


def _unrelated(count: int, first: int) -> list[Paper]:
    """Papers holding "diffusion" and otherwise only made-up words: like no stored paper."""
    rng = random.Random(first)
    words = ["zq" + "".join(rng.choices("bcdfghjklmnpqrstvwxz", k=6)) for _ in range(400)]
    return [
        make_paper(
            title=" ".join(rng.choices(words, k=8)) + f" {n}",
            abstract=" ".join([*rng.choices(words, k=90), "diffusion"]),
            arxiv_id=f"2612.{n:05d}",
        )
        for n in range(first, first + count)
    ]


def test_rule_and_like_keeps_the_rules_papers_like_the_seeds_while_a_refresh_writes(
    store: Store,
) -> None:
    """`rule AND like:` is the rule's papers that are like the seeds, found by the seeds'
    profile alone: widened by the rule's own newest papers (as `rule OR like:` is), it let
    every paper of the rule through, and more of them each time a refresh stored some (a
    search binding before a batch and reading after it got every new "diffusion" paper).
    Searches in threads while another stores batches all get that answer."""
    stored(store)
    (seed,) = store.find_papers_by_title("Learning to Prompt for Open-Vocabulary Object")
    query = f'diffusion AND like:"{seed.guid}"'
    expected = _ids(store, "diffusion") & _ids(store, f'like:"{seed.guid}"')
    assert len(expected) == 1 and len(_ids(store, "diffusion")) > 20
    assert _ids(store, query) == expected

    answers: list[frozenset[int]] = []
    writing = threading.Event()
    writing.set()

    def search() -> None:
        while writing.is_set():
            answers.append(_ids(store, query))

    searchers = [threading.Thread(target=search) for _ in range(4)]
    for thread in searchers:
        thread.start()
    for batch in range(4):
        store.upsert(_unrelated(150, 150 * batch), "refresh", T0 + timedelta(days=1, minutes=batch))
    store.bump_generation()
    writing.clear()
    for thread in searchers:
        thread.join()
    assert len(answers) >= 4 and set(answers) == {expected}
    assert _ids(store, query) == expected and len(_ids(store, "diffusion")) > 600
