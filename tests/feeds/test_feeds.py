"""Topic feeds end to end: listings -> store -> RSS/Atom/JSON that readers accept."""

from __future__ import annotations

import feedparser
import pytest

from tests.helpers import refresh

FORMATS = ("rss", "atom", "json")


@pytest.mark.parametrize("topic", ["residual", "imagenet-not-medical", "vit"])
@pytest.mark.parametrize(("fmt", "version"), [("rss", "rss20"), ("atom", "atom10")])
def test_every_topic_feed_is_valid_for_feedparser(loaded, topic, fmt, version) -> None:
    response = loaded.get(f"/feeds/{topic}.{fmt}")
    assert response.status_code == 200
    parsed = feedparser.parse(response.data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == version
    assert len(parsed.entries) > 0
    ids = [e.id for e in parsed.entries]
    assert len(ids) == len(set(ids))
    for entry in parsed.entries:
        # Text listings give no page for a paper: the link is its page here, by GUID.
        assert entry.title and entry.link.startswith("http://localhost/papers/urn:paperfeed:")
        assert entry.get("published_parsed")


def test_items_are_newest_first_and_limited(app, loaded) -> None:
    parsed = feedparser.parse(loaded.get("/feeds/residual.atom").data)
    assert len(parsed.entries) == 50  # feed_items default, and the topic has more
    dates = [e.published_parsed for e in parsed.entries]
    assert dates == sorted(dates, reverse=True)
    assert len(feedparser.parse(loaded.get("/feeds/residual.rss?limit=5").data).entries) == 5


def test_feed_item_carries_title_abstract_and_escapes_markup(app, loaded) -> None:
    body = loaded.get("/feeds/residual.rss?limit=500").get_data(as_text=True)
    parsed = feedparser.parse(body)
    titles = {e.title: e for e in parsed.entries}
    entry = titles["Hyper-Connections"]
    assert "alternative to residual connections" in entry.description
    assert entry.id.startswith("urn:paperfeed:title:")
    assert "Matched:" in entry.description


def test_second_refresh_gives_identical_bytes_and_etags(app, loaded) -> None:
    first = {fmt: loaded.get(f"/feeds/residual.{fmt}") for fmt in FORMATS}
    generation = app.extensions["paperfeed"].store.generation()
    report = refresh(app)
    assert report.new == 0
    assert app.extensions["paperfeed"].store.generation() == generation
    for fmt in FORMATS:
        again = loaded.get(f"/feeds/residual.{fmt}")
        assert again.data == first[fmt].data
        assert again.headers["ETag"] == first[fmt].headers["ETag"]


def test_rendering_is_the_same_in_another_process(app, loaded, make_app, write_config) -> None:
    other = make_app(write_config()).test_client()
    for fmt in FORMATS:
        mine, theirs = loaded.get(f"/feeds/vit.{fmt}"), other.get(f"/feeds/vit.{fmt}")
        assert mine.data == theirs.data
        assert mine.headers["ETag"] == theirs.headers["ETag"]


def test_if_none_match_gives_304_with_an_empty_body(loaded) -> None:
    first = loaded.get("/feeds/residual.rss")
    again = loaded.get("/feeds/residual.rss", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]


@pytest.mark.parametrize("path", ["/feeds/nope.rss", "/feeds/residual.xml", "/topics/nope"])
def test_unknown_topic_or_format_is_404(loaded, path) -> None:
    assert loaded.get(path).status_code == 404


def test_index_lists_topics_with_feed_links(loaded) -> None:
    page = loaded.get("/").get_data(as_text=True)
    for topic in ("residual", "imagenet-not-medical", "vit", "hot"):
        assert f"/feeds/{topic}.rss" in page and f"/feeds/{topic}.atom" in page


def test_status_reports_distinct_papers_and_sources(loaded) -> None:
    status = loaded.get("/status").get_json()
    assert status["papers"] == 431
    samples = status["sources"]["samples"]
    assert samples["papers_seen"] == 476  # read, before merging duplicates across the files
    assert samples["last_refresh"] and samples["last_error"] is None and not samples["failing"]


def test_index_shows_item_counts_and_the_newest_paper(app, loaded) -> None:
    page = loaded.get("/").get_data(as_text=True)
    newest = feedparser.parse(loaded.get("/feeds/vit.rss").data).entries[0].title
    summaries = app.extensions["paperfeed"].store.topic_summaries()
    assert summaries["vit"].newest_title == newest
    assert f'<span class="count">{summaries["vit"].items}</span> papers' in page
    assert f"Newest: {newest}" in page
    assert "failing" not in page  # the samples source is fine
