"""The feed cache: a least-recently-used map bounded by the bytes it holds."""

from __future__ import annotations

from datetime import UTC, datetime

from web.cache import CachedFeed, FeedCache, size_of

MOMENT = datetime(2026, 1, 1, tzinfo=UTC)


def feed(text: str) -> CachedFeed:
    return CachedFeed.build(text.encode() * 100, MOMENT, 1)


def test_a_hot_feed_read_through_the_fast_path_survives_eviction() -> None:
    entries = {name: feed(name) for name in ("hot", "cold", "new")}
    cost = {name: entry.size + size_of(name) for name, entry in entries.items()}
    cache = FeedCache(budget_bytes=cost["hot"] + cost["cold"] + 10)  # room for two
    cache.get_or_build("hot", lambda: entries["hot"])
    cache.get_or_build("cold", lambda: entries["cold"])
    assert cache.peek("hot") is entries["hot"]  # what the fast path does on every poll
    cache.get_or_build("new", lambda: entries["new"])  # over budget: one entry must go
    assert cache.peek("hot") is entries["hot"]
    assert cache.peek("cold") is None
    assert cache.used <= cache.budget


def test_the_budget_counts_bytes_and_a_body_larger_than_it_is_served_but_not_kept() -> None:
    small, huge = feed("s"), feed("h" * 50)
    cache = FeedCache(budget_bytes=small.size * 2)
    assert cache.get_or_build("huge", lambda: huge) is huge
    assert len(cache) == 0 and cache.used == 0
    cache.get_or_build("small", lambda: small)
    # The key and the entry's overhead count too, not only the bodies.
    assert cache.used == small.size + size_of("small") > len(small.body) + len(small.gzipped)
    assert (cache.hits, cache.misses) == (0, 2)


def test_stale_entries_are_dropped() -> None:
    cache = FeedCache(budget_bytes=10**6)
    for generation in (1, 2, 3):
        cache.get_or_build(("topic", "t", generation), lambda: feed("x"))
    cache.drop(lambda key: key[-1] < 3)  # type: ignore[index]
    assert len(cache) == 1 and cache.peek(("topic", "t", 3)) is not None
