"""Prometheus metrics of one process (each web worker answers /metrics with its own)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from refresh.pipeline import SourceOutcome
from settings import SourceConfig
from store import SourceState

HEALTH_STATES = ("ok", "suspect", "stale")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._feed_children: dict[tuple[str, int], Any] = {}
        self.refresh_seconds = Histogram(
            "paperfeed_refresh_seconds",
            "Time to refresh one source",
            ["source"],
            registry=self.registry,
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120),
        )
        self.refreshes = Counter(
            "paperfeed_refreshes",
            "Source refreshes by outcome",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.records_skipped = Counter(
            "paperfeed_records_skipped",
            "Records of a listing skipped (unreadable, or refused by the store)",
            ["source"],
            registry=self.registry,
        )
        self.fields_dropped = Counter(
            "paperfeed_fields_dropped",
            "Fields left out of records at the parser boundary (out of range, not a link...)",
            ["source"],
            registry=self.registry,
        )
        self.feed_requests = Counter(
            "paperfeed_feed_requests",
            "Feed requests by format and status",
            ["format", "status"],
            registry=self.registry,
        )
        self.cache_hits = Gauge(
            "paperfeed_feed_cache_hits", "Feed bodies served from the cache", registry=self.registry
        )
        self.cache_misses = Gauge(
            "paperfeed_feed_cache_misses",
            "Feed bodies rendered (cache misses)",
            registry=self.registry,
        )
        self.cache_bytes = Gauge(
            "paperfeed_feed_cache_bytes", "Bytes held by the feed cache", registry=self.registry
        )
        self.stem_cache_bytes = Gauge(
            "paperfeed_stem_cache_bytes",
            "Bytes held by the word-stem cache (bounded in bytes: topics.analysis.STEMS)",
            registry=self.registry,
        )
        self.papers = Gauge("paperfeed_papers", "Distinct papers stored", registry=self.registry)
        self.database_errors = Counter(
            "paperfeed_database_errors",
            "Database failures this process met (it served cached feeds meanwhile)",
            registry=self.registry,
        )
        self.database_up = Gauge(
            "paperfeed_database_up",
            "1 when this process last reached the database, 0 during an outage",
            registry=self.registry,
        )
        self.database_up.set(1)
        self.source_health = Gauge(
            "paperfeed_source_health",
            "1 for each source's health as last recorded: ok, suspect (its body read as "
            "nothing useful) or stale (the same batch past its cadence)",
            ["source", "state"],
            registry=self.registry,
        )
        self.generation = Gauge(
            "paperfeed_store_generation",
            "Store generation this process has seen",
            registry=self.registry,
        )

    def count_feed_request(self, fmt: str, status: int) -> None:
        self.feed_request_counter(fmt, status).inc()

    def feed_request_counter(self, fmt: str, status: int) -> Any:
        """The counter of feed requests in fmt answered status (what the fast path keeps for
        an answer it repeats). Label children are cached: the lookup is on the hot path."""
        key = (fmt, status)
        child = self._feed_children.get(key)
        if child is None:
            child = self._feed_children[key] = self.feed_requests.labels(fmt, str(status))
        return child

    def observe_refresh(self, outcome: SourceOutcome) -> None:
        self.refresh_seconds.labels(outcome.name).observe(outcome.seconds)
        self.refreshes.labels(outcome.name, outcome.status).inc()
        self.records_skipped.labels(outcome.name).inc(outcome.skipped)
        self.fields_dropped.labels(outcome.name).inc(outcome.dropped)

    def set_source_health(
        self, sources: Iterable[SourceConfig], states: Mapping[str, SourceState]
    ) -> None:
        """Each configured source's recorded health, one series per state (1 for its own)."""
        for source in sources:
            state = states.get(source.name)
            health = (state.health if state else None) or "ok"
            for name in HEALTH_STATES:
                self.source_health.labels(source.name, name).set(1 if health == name else 0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
