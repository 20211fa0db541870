"""What a reader sees, on the real captures (tests/parsing/data/real): a replacement keeps
its paper's date and carries its version; a paper that enters a topic late leads it; a
Hugging Face correction reaches the feed; two sources that disagree settle, so a refresh
that brings nothing new changes nothing (no new generation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import parsing
from feeds.items import item_facts
from feeds.render import FeedInfo, render
from parsing.model import Paper, arxiv_id_month, make_paper
from parsing.text import title_key
from store import Store
from store.merge import sighting
from store.schema import papers as table
from store.schema import state
from tests.helpers import parser_fixture
from topics.membership import Topics
from topics.query import parse as parse_query

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=2)
RSS = parser_fixture("real/arxiv_rss_2024-11-28_part1.xml").read_bytes()
HF = parser_fixture("real/hf_api_2024-10-11.json").read_bytes()


def papers(kind: str, body: bytes) -> list[Paper]:
    return parsing.parse(kind, body).papers


def with_topics(store: Store, rules: dict[str, str]) -> Topics:
    topics = Topics({name: parse_query(rule) for name, rule in rules.items()})
    for name, query in topics.queries.items():
        store.set_topic(name, query.fingerprint, [])
    return topics


def test_every_replacement_in_the_capture_carries_its_version_and_its_v1_month() -> None:
    replaced = [p for p in papers("arxiv-rss", RSS) if (p.version or 1) > 1]
    assert len(replaced) == 13  # 11 replace, 2 cross-lists of a v3
    for paper in replaced:
        assert paper.published == arxiv_id_month(paper.arxiv_id), paper.arxiv_id
        assert paper.published is not None and paper.published.date().isoformat() < "2024-11"
    keevash = next(p for p in replaced if p.arxiv_id == "1401.3665")
    assert (keevash.version, keevash.announce_type) == (4, "replace")
    assert keevash.published == datetime(2014, 1, 1, tzinfo=UTC)


def test_a_replacement_keeps_the_papers_date_and_is_marked_revised(store: Store) -> None:
    topics = with_topics(store, {"all": "*", "fresh": "announce:new", "revised": "version:>=2"})
    store.upsert(papers("arxiv-rss", RSS), "arxiv", T0, topics)
    # The same item a week later, as arXiv announces its v2 (the capture, edited as arXiv would).
    v2 = RSS.replace(
        b"arXiv:2411.17700v1 Announce Type: new", b"arXiv:2411.17700v2 Announce Type: replace"
    ).replace(b"oai:arXiv.org:2411.17700v1", b"oai:arXiv.org:2411.17700v2")
    v2 = v2.replace(b"<arxiv:announce_type>new<", b"<arxiv:announce_type>replace<", 1)
    later = [p for p in papers("arxiv-rss", v2) if p.arxiv_id == "2411.17700"]
    assert later[0].announce_type == "replace" and later[0].version == 2
    store.upsert(later, "arxiv", T1, topics)
    paper = store.find_paper("2411.17700")
    assert paper is not None
    assert paper.published == datetime(2024, 11, 28, 5, 0, tzinfo=UTC)  # v1's announcement
    assert (paper.version, paper.announce_type) == (2, "replace")
    assert "revised (v2)" in item_facts(paper)
    fresh = {p.arxiv_id for p in store.topic_items("fresh", 500)}
    revised = {p.arxiv_id for p in store.topic_items("revised", 500)}
    assert "2411.17700" in revised and "2411.17700" not in fresh
    assert "1401.3665" in revised and len(revised) == 14 and len(fresh) == 229


def test_a_withdrawn_paper_is_marked() -> None:
    # The capture's Proudnikov v4, as arXiv announces a withdrawal: a new version whose
    # abstract says so.
    withdrawn = RSS.replace(
        b"Abstract: There are given conditions for represention",
        b"Abstract: This paper has been withdrawn by the author. There are given conditions",
    )
    [paper] = [p for p in papers("arxiv-rss", withdrawn) if p.arxiv_id == "1708.06999"]
    assert paper.withdrawn and paper.version == 4
    assert "withdrawn (v4)" in item_facts(sighting(paper, "arxiv", T0))
    assert not any(p.withdrawn for p in papers("arxiv-rss", RSS))


def test_a_late_entry_leads_its_topic_feed(store: Store) -> None:
    topics = with_topics(store, {"hot": "upvotes:[20 TO *]"})
    store.upsert(papers("hf-api", HF), "hf", T0, topics)
    assert len(store.topic_items("hot", 50)) == 3
    # Two days later DICE (15 upvotes) crosses 20.
    crossed = HF.replace(b'"upvotes": 15,', b'"upvotes": 31,', 1)
    store.upsert(papers("hf-api", crossed), "hf", T1, topics)
    items = store.topic_items("hot", 50)
    assert [p.arxiv_id for p in items][0] == "2410.08207"
    assert items[0].entered == T1 and items[0].first_seen == T0
    assert {p.entered for p in items[1:]} == {T0}
    info = FeedInfo("hot", "Hot", "", "http://x/feeds/hot.json", "http://x/topics/hot", 30)
    body = render("json", info, items).decode()
    assert body.index('"date_published":"2026-11-04T12:00:00Z"') < body.index("2026-11-02")


def test_a_hugging_face_correction_reaches_the_feed(store: Store) -> None:
    topics = with_topics(store, {"math": "math"})
    store.upsert(papers("hf-api", HF), "hf", T0, topics)
    fixed = HF.replace(b"MathCoder2: Better Math", b"MathCoder 2: Better Math").replace(
        b'"name": "Zimu Lu"', '"name": "Zimu Lü"'.encode()
    )
    result = store.upsert(papers("hf-api", fixed), "hf", T1, topics)
    assert len(result.changed) == 1
    [item] = [p for p in store.topic_items("math", 50) if p.arxiv_id == "2410.08196"]
    assert item.title.startswith("MathCoder 2: Better Math")
    assert item.authors[0] == "Zimu Lü"
    # Another source with the old title does not take the correction back.
    old = papers("hf-api", HF)[0]
    store.upsert([old], "arxiv", T1 + timedelta(hours=1), topics)
    paper = store.find_paper("2410.08196")
    assert paper is not None and paper.title.startswith("MathCoder 2")


def test_two_disagreeing_sources_settle_and_a_no_op_refresh_changes_nothing(
    store: Store,
) -> None:
    topics = with_topics(store, {"all": "*", "shapley": "shapley"})
    # arXiv RSS announces v5 with the short abstract; Hugging Face lists the same paper with
    # a longer one, another title and its upvotes.
    rss = [p for p in papers("arxiv-rss", RSS) if p.arxiv_id == "1903.04209"]
    assert rss[0].supersedes and rss[0].version == 5
    hf = make_paper(
        title="From Interpretability to Inference: An Estimation Framework for Universal "
        "Approximators",
        abstract=rss[0].abstract + " Code and data are released.",
        arxiv_id="1903.04209",
        authors=["Andreas Joseph"],
        upvotes=12,
        published=datetime(2019, 3, 11, tzinfo=UTC),
    )
    for hour in range(2):  # the first two refreshes settle the two views
        store.upsert(rss, "arxiv", T0 + timedelta(hours=hour), topics)
        store.upsert([hf], "hf", T0 + timedelta(hours=hour, minutes=30), topics)
    settled = store.find_paper("1903.04209")
    generations = store.topic_generations()
    for hour in range(2, 5):
        for batch, source in ((rss, "arxiv"), ([hf], "hf")):
            result = store.upsert(batch, source, T0 + timedelta(hours=hour), topics)
            assert (result.touched, result.memberships_changed) == ([], 0)
    assert store.topic_generations() == generations
    assert store.find_paper("1903.04209") == settled
    assert settled is not None
    assert settled.abstract == hf.abstract and settled.version == 5
    assert settled.published == datetime(2019, 3, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("$\\alpha$-NeRF: Fast Radiance Fields", "α-NeRF: Fast Radiance Fields"),
        ("SRe$^2$L: Squeeze, Recover and Relabel", "SRe2L: Squeeze, Recover and Relabel"),
        ("SRe^2L: Squeeze, Recover and Relabel", "SRe²L: Squeeze, Recover and Relabel"),
        ("Attention in $\\mathcal{O}(n)$ Time", "Attention in O(n) Time"),
        ('Schr\\"odinger Bridges', "Schrödinger Bridges"),
        ("QC$_2$D at Finite Density", "QC2D at finite density"),
    ],
)
def test_title_keys_see_through_notation(a: str, b: str) -> None:
    assert title_key(make_paper(title=a).title) == title_key(b)


def test_a_title_only_listing_and_its_tex_title_are_one_item(store: Store) -> None:
    store.upsert([make_paper(title="α-NeRF: Fast Radiance Fields")], "page", T0)
    tex = make_paper(title="$\\alpha$-NeRF: Fast Radiance Fields", arxiv_id="2611.05555")
    result = store.upsert([tex], "arxiv", T1)
    assert store.count_papers() == 1 and not result.new
    assert store.find_paper("2611.05555") is not None


def test_the_index_fill_rekeys_titles_an_older_title_key_wrote(store: Store) -> None:
    store.upsert([make_paper(title="SRe$^2$L: Squeeze, Recover and Relabel")], "page", T0)
    with store.engine.begin() as conn:
        conn.execute(sa.update(table).values(title_key="sre 2 l squeeze recover and relabel"))
        conn.execute(sa.delete(state).where(state.c.key == "title_key_version"))
    store.fill_index()
    result = store.upsert([make_paper(title="SRe2L: Squeeze, Recover and Relabel")], "page", T1)
    assert store.count_papers() == 1 and not result.new
