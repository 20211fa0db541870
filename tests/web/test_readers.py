"""Real readers against a running server: newsboat, feedparser, headless Chromium."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest
import requests

from tests.helpers import (
    LISTINGS,
    ROOT,
    live_server,
    need_tool,
    newsboat_reload,
    refresh,
    toml_sources,
)

TOPICS = ["residual", "imagenet-not-medical", "vit"]
ARTIFACTS = ROOT / "test-artifacts"


def newsboat_items(tmp_path: Path, urls: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Reload each URL with newsboat; return {url: [(guid, title)]} from its cache.

    newsboat keeps one item per GUID across all its feeds (a paper in two topics is shown
    once), so each URL gets its own cache here to count per-feed items.
    """
    found: dict[str, list[tuple[str, str]]] = {}
    for index, url in enumerate(urls):
        cache = newsboat_reload(tmp_path / f"newsboat-{index}", url)
        with sqlite3.connect(cache) as db:
            found[url] = db.execute("SELECT guid, title FROM rss_item").fetchall()
    return found


def feed_titles(url: str) -> dict[str, str]:
    parsed = feedparser.parse(requests.get(url, timeout=10).content)
    assert parsed.bozo == 0
    return {entry.id: entry.title for entry in parsed.entries}


@pytest.mark.slow
def test_newsboat_sees_every_item_once_and_exactly_the_new_ones(
    tmp_path, make_app, write_config
) -> None:
    listings = tmp_path / "listings"
    listings.mkdir()
    shutil.copy(LISTINGS / "000_0937d812811fcc18.txt", listings)
    config = write_config(
        sources=toml_sources(
            {"name": "samples", "kind": "hf-text", "path": str(listings / "*.txt")}
        )
    )
    app = make_app(config)
    svc = app.extensions["paperfeed"]
    svc.refresher.run(force=True)
    with live_server(app) as base:
        urls = [f"{base}/feeds/{t}.{fmt}?limit=500" for t in TOPICS for fmt in ("rss", "atom")]
        expected = {url: feed_titles(url) for url in urls}
        first = newsboat_items(tmp_path, urls)
        for url in urls:
            assert sorted(t for _, t in first[url]) == sorted(expected[url].values()), url
            assert len({g for g, _ in first[url]}) == len(first[url])

        shutil.copy(LISTINGS / "001_9997b832c2f801ba.txt", listings)
        svc.refresher.run(force=True)
        svc.invalidate()
        added = {url: set(feed_titles(url)) - set(expected[url]) for url in urls}
        assert any(added.values())
        second = newsboat_items(tmp_path, urls)
        for url in urls:
            guids = [g for g, _ in second[url]]
            assert len(guids) == len(set(guids)), f"duplicates in {url}"
            assert len(second[url]) - len(first[url]) == len(added[url]), url
            assert set(guids) - {g for g, _ in first[url]} == added[url]


@pytest.mark.slow
def test_newsboat_with_three_overlapping_topics_shows_every_item_of_every_feed(
    tmp_path, app
) -> None:
    """One newsboat, three topics that share papers: each feed shows all its items
    (newsboat keeps one item per GUID across its feeds; each feed has GUIDs of its own)."""
    refresh(app)
    with live_server(app) as base:
        urls = [f"{base}/feeds/{t}.rss?limit=500" for t in TOPICS]
        expected = {url: feed_titles(url) for url in urls}
        shared = set.intersection(*({e.split("#")[0] for e in ids} for ids in expected.values()))
        cache = newsboat_reload(tmp_path / "newsboat", urls)
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT feedurl, guid, title FROM rss_item").fetchall()
    assert shared, "the topics overlap"
    for url in urls:
        shown = {guid: title for feed, guid, title in rows if feed == url}
        assert shown == expected[url], url


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.alternates: list[dict[str, str | None]] = []
        self.subscribe: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and values.get("rel") == "alternate":
            self.alternates.append(values)
        if tag == "a" and "subscribe" in (values.get("class") or ""):
            self.subscribe.append(values)


def chromium(*args: str) -> str:
    browser = need_tool("chromium")
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--user-data-dir=" + str(ARTIFACTS / ".chromium"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.slow
def test_chromium_finds_subscribe_links_and_autodiscovery(app) -> None:

    refresh(app)
    ARTIFACTS.mkdir(exist_ok=True)
    with live_server(app) as base:
        index = _Dom()
        index.feed(chromium("--dump-dom", f"{base}/"))
        topic = _Dom()
        topic.feed(chromium("--dump-dom", f"{base}/topics/residual"))
        chromium(f"--screenshot={ARTIFACTS / 'index.png'}", "--window-size=1200,1600", f"{base}/")
        chromium(
            f"--screenshot={ARTIFACTS / 'topic-residual.png'}",
            "--window-size=400,900",
            f"{base}/topics/residual",
        )
    topics = ["residual", "imagenet-not-medical", "vit", "hot"]
    hrefs = {a["href"] for a in index.subscribe}
    for name in topics:
        for fmt in ("rss", "atom", "json"):
            assert f"{base}/feeds/{name}.{fmt}" in hrefs
    types = {(a["type"], a["href"]) for a in index.alternates}
    assert ("application/rss+xml", f"{base}/feeds/vit.rss") in types
    assert ("application/feed+json", f"{base}/feeds/hot.json") in types
    assert {a["href"] for a in topic.alternates} == {
        f"{base}/feeds/residual.{fmt}" for fmt in ("rss", "atom", "json")
    }
    assert (ARTIFACTS / "index.png").stat().st_size > 10_000
    assert (ARTIFACTS / "topic-residual.png").stat().st_size > 5_000
