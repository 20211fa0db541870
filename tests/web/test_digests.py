"""Digest feeds: one item per day or week, by when papers entered the topic; GUIDs stable
for their period, bytes stable across a refresh that brings nothing; capped with "and N
more" linking to the topic page for that period; valid RSS, Atom and JSON Feed."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import feedparser
import pytest

import parsing
from tests.helpers import LISTINGS, live_server, newsboat_reload, parser_fixture

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
TOPICS = """
[topics.every]
title = "Everything"
query = '*'

[topics.vit]
query = 'vit OR "vision transformer"'
"""


def listing(name: str, kind: str = "hf-text") -> list[parsing.Paper]:
    return parsing.parse(kind, (LISTINGS / name).read_bytes(), today=T0.date()).papers


@pytest.fixture
def digest_app(make_app, write_config):  # type: ignore[no-untyped-def]
    """Papers entering on three days of one week and one of the next: the 16 of a Hugging
    Face API answer on Monday, 60 text-listing papers on Tuesday, 40 more on Thursday, and
    the arXiv capture's first 30 the Monday after."""
    app = make_app(write_config(topics=TOPICS))
    svc = app.extensions["paperfeed"]
    svc.refresher.sync_topics()
    text = listing("000_0937d812811fcc18.txt")
    api = parsing.parse("hf-api", parser_fixture("real/hf_api_2025-07-22.json").read_bytes()).papers
    rss = parsing.parse("arxiv-rss", (LISTINGS / "arxiv_rss_2024-11-28.xml").read_bytes()).papers
    for papers, when in (
        (api, T0),
        (text[:60], T0 + timedelta(days=1)),
        (text[60:100], T0 + timedelta(days=3, hours=5)),
        (rss[:30], T0 + timedelta(days=7)),
    ):
        svc.store.upsert(papers, "test", now=when, topics=svc.refresher.topics)
    svc.store.bump_generation(now=T0)
    svc.invalidate()
    yield app
    svc.close()


def entries(client, url: str):  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    parsed = feedparser.parse(response.data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed.entries


def test_a_daily_digest_has_one_item_per_day_with_papers_newest_first(digest_app) -> None:
    client = digest_app.test_client()
    for fmt in ("rss", "atom"):
        items = entries(client, f"/feeds/every.{fmt}?digest=day")
        assert [e.id for e in items] == [
            f"urn:paperfeed:digest:every:{day}"
            for day in ("2026-11-30", "2026-11-26", "2026-11-24", "2026-11-23")
        ]  # Wednesday, the weekend: no paper, no item
        assert [e.title.split(",")[0] for e in items] == [
            "30 papers",
            "40 papers",
            "60 papers",
            "16 papers",
        ]
    document = json.loads(client.get("/feeds/every.json?digest=day").data)
    assert [i["id"] for i in document["items"]][-1] == "urn:paperfeed:digest:every:2026-11-23"
    assert document["version"] == "https://jsonfeed.org/version/1.1"


def test_a_weekly_digest_groups_by_iso_week(digest_app) -> None:
    items = entries(digest_app.test_client(), "/feeds/every.atom?digest=week")
    assert [e.id for e in items] == [
        "urn:paperfeed:digest:every:2026-W49",
        "urn:paperfeed:digest:every:2026-W48",
    ]
    assert items[1].title == "116 papers, week of 2026-11-23"


def test_a_period_lists_its_best_papers_first_and_links_the_rest(digest_app) -> None:
    client = digest_app.test_client()
    monday = entries(client, "/feeds/every.rss?digest=day")[-1]
    upvotes = [int(n) for n in re.findall(r"(\d+) upvotes?", monday.description)]
    assert len(upvotes) == 16 and upvotes == sorted(upvotes, reverse=True)
    assert "arxiv.org/abs/" in monday.description and "/papers/2507." in monday.description
    (vit,) = [e.description for e in entries(client, "/feeds/vit.rss?digest=week")][-1:]
    assert "Matched: vision transformer (abstract)" in vit or "Matched: vit" in vit
    tuesday = entries(client, "/feeds/every.rss?digest=day")[-2]
    assert tuesday.description.count("<li>") == 25
    more = re.search(r'<a href="([^"]+)">and (\d+) more</a>', tuesday.description)
    assert more and more.group(2) == "35"
    assert tuesday.link == more.group(1).replace("&amp;", "&")
    page = client.get(tuesday.link.replace("http://localhost", "")).get_data(as_text=True)
    assert "<strong>60 papers</strong>" in page and "from 2026-11-24 to 2026-11-24" in page


def test_guids_and_bytes_hold_across_a_refresh_that_brings_nothing(digest_app) -> None:
    client = digest_app.test_client()
    svc = digest_app.extensions["paperfeed"]
    before = client.get("/feeds/every.rss?digest=day")
    svc.store.upsert(listing("000_0937d812811fcc18.txt")[:60], "test", now=T0 + timedelta(days=9))
    svc.store.bump_generation()
    svc.invalidate()
    after = client.get("/feeds/every.rss?digest=day")
    assert after.headers["ETag"] == before.headers["ETag"] and after.data == before.data
    # A new paper on a day that has an item updates that item, under the same GUID.
    newest = listing("001_9997b832c2f801ba.txt")[:1]
    svc.store.upsert(
        newest, "test", now=T0 + timedelta(days=7, hours=3), topics=svc.refresher.topics
    )
    svc.store.bump_generation()
    svc.invalidate()
    items = entries(client, "/feeds/every.rss?digest=day")
    assert items[0].id == "urn:paperfeed:digest:every:2026-11-30" and items[0].title.startswith(
        "31 papers"
    )


def test_search_feeds_have_digests_and_bad_digests_say_what_is_allowed(digest_app) -> None:
    client = digest_app.test_client()
    items = entries(client, "/feeds/search.atom?q=vit&digest=week")
    assert items and all(e.id.startswith("urn:paperfeed:digest:search:") for e in items)
    bad = client.get("/feeds/every.rss?digest=hour")
    assert bad.status_code == 400 and "digest must be day or week" in bad.get_json()["error"]
    assert client.get("/topics/every?since=yesterday").status_code == 400


@pytest.mark.slow
def test_newsboat_shows_one_item_a_day(digest_app, tmp_path) -> None:
    with live_server(digest_app) as base:
        cache = newsboat_reload(tmp_path / "newsboat", f"{base}/feeds/every.rss?digest=day")
    import sqlite3

    with sqlite3.connect(cache) as db:
        titles = [row[0] for row in db.execute("SELECT title FROM rss_item ORDER BY pubDate DESC")]
    assert titles == [
        "30 papers, Monday 2026-11-30",
        "40 papers, Thursday 2026-11-26",
        "60 papers, Tuesday 2026-11-24",
        "16 papers, Monday 2026-11-23",
    ]


def test_topic_and_search_pages_sort_by_upvotes_and_explain_relevance(digest_app) -> None:
    client = digest_app.test_client()
    for url in ("/topics/every?sort=upvotes", "/search?q=*&sort=upvotes"):
        page = client.get(url).get_data(as_text=True)
        upvotes = [int(n) for n in re.findall(r'class="upvotes">(\d+) upvote', page)]
        assert len(upvotes) == 16 and upvotes == sorted(upvotes, reverse=True), url
        assert '<strong aria-current="true">most upvoted</strong>' in page
        # A card names 3 authors and "and N more"; every name is one click away.
        long = [c for c in re.findall(r'<article class="paper">.*?</article>', page, re.DOTALL)]
        long = [c for c in long if re.search(r"and \d+ more</span>", c)]
        assert len(long) >= 10, url
        for card in long:
            listed = re.search(r"<summary>All (\d+) authors</summary><p>(.*?)</p>", card)
            assert listed and len(listed.group(2).split(", ")) == int(listed.group(1))
    newest = client.get("/topics/every").get_data(as_text=True)
    assert "2411." in re.findall(r"<h3>.*?</h3>", newest, re.DOTALL)[0]  # the arXiv batch: newest
    relevance = client.get("/topics/every?sort=relevance").get_data(as_text=True)
    assert '<strong aria-current="true">most relevant</strong>' in relevance
    assert client.get("/search?q=vit&sort=stars").status_code == 400
