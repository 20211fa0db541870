"""Digest feeds (?digest=day or week on any topic or search feed): what the store and the
search give, grouped by feeds.digest into one item per period."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from feeds import digest
from feeds.render import FeedInfo
from settings import Config
from web.cache import CachedFeed
from web.params import FeedRequest
from web.service import Service

# Periods a digest feed holds when no ?limit= is given (?limit= counts periods).
DEFAULT_PERIODS = {"day": 14, "week": 8}
# Papers one digest feed reads at most (a topic of 100 papers a day: 14 days is 1,400).
MOST_PAPERS = 5000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def periods(asked: FeedRequest) -> int:
    return asked.limit if asked.explicit_limit else DEFAULT_PERIODS[asked.digest]


def topic_info(config: Config, name: str, page: str, self_url: str) -> FeedInfo:
    """What a topic's feed (and its mailed digest) says about itself; page: the base URL."""
    topic = config.topics[name]
    return FeedInfo(
        key=name,
        title=f"{topic.title} — paperfeed",
        description=topic.description or f"Papers matching {topic.query.text}",
        self_url=self_url,
        page_url=f"{page}/topics/{name}",
        ttl_minutes=max(1, round(config.refresh_minutes)),
        papers_url=f"{page}/papers/",
    )


def period_url(base: str, name: str) -> str:
    """The topic page of one period ({since} and {until} filled in by feeds.digest)."""
    return f"{base}/topics/{name}?since={{since}}&until={{until}}"


def topic_digest(svc: Service, asked: FeedRequest, info: FeedInfo, base: str) -> CachedFeed:
    """A topic's digest: its papers by when they entered it (memberships.first_seen)."""
    name, kind = asked.name, asked.digest
    newest = svc.store.topic_entered(name, EPOCH, 1)
    entries: list[digest.Entered] = []
    if newest:
        since = digest.since(kind, newest[0][1], periods(asked))
        rows = svc.store.topic_entered(name, since, MOST_PAPERS)
        entries = [digest.Entered(paper, at) for paper, at in rows]
    items = digest.digest_items(kind, info, entries, period_url(base, name))
    return _feed(kind, asked.fmt, info, items)


def search_digest(svc: Service, asked: FeedRequest, info: FeedInfo, base: str) -> CachedFeed:
    """A search's digest: the newest papers it matches (max_feed_items at most), by when
    paperfeed first saw them."""
    assert asked.query is not None
    kind = asked.digest
    found = svc.search(asked.query, svc.config.max_feed_items)
    entries = [digest.Entered(paper, paper.first_seen) for paper in found]
    if entries:
        since = digest.since(kind, max(e.at for e in entries), periods(asked))
        entries = [e for e in entries if e.at >= since]
    # One GUID per query and period: the key names the query by a hash of its text.
    key = "search:" + hashlib.sha256(asked.text.encode()).hexdigest()[:16]
    info = replace(info, key=key)
    period_url = f"{base}/search?{urlencode({'q': asked.text})}".replace("{", "{{").replace(
        "}", "}}"
    )
    return _feed(kind, asked.fmt, info, digest.digest_items(kind, info, entries, period_url))


def _feed(kind: str, fmt: str, info: FeedInfo, items: list[digest.DigestItem]) -> CachedFeed:
    feed = digest.DigestFeed(kind, info, items)
    return CachedFeed.build(feed.to_bytes(fmt), feed.updated, len(items))
