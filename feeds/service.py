"""The objects one running paperfeed shares between requests: config, store, cache, refresher."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field

from feeds.cache import FeedCache
from feeds.metrics import Metrics
from refresh.pipeline import Refresher
from settings import Config
from store import Store, StoredPaper
from topics import search
from topics.query import Query


class SearchBusy(Exception):
    """Every uncached-search slot of this process is taken."""


@dataclass
class Service:
    config: Config
    store: Store
    refresher: Refresher
    cache: FeedCache
    metrics: Metrics
    scheduler: object | None = None
    _generation: int = -1
    _topic_generations: dict[str, int] = field(default_factory=dict)
    _checked_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _searches: threading.BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        self._searches = threading.BoundedSemaphore(max(1, self.config.search_concurrency))

    @classmethod
    def build(cls, config: Config) -> Service:
        store = Store(config.database_url)
        metrics = Metrics()
        refresher = Refresher(config, store, on_outcome=metrics.observe_refresh)
        return cls(config, store, refresher, FeedCache(config.cache_bytes), metrics)

    def generation(self) -> int:
        """The store generation (search feeds), read from the database at most every few
        seconds, together with each topic's generation (topic feeds)."""
        now = time.monotonic()
        if now - self._checked_at < self.config.generation_check_seconds and self._generation >= 0:
            return self._generation
        with self._lock:
            if (
                now - self._checked_at >= self.config.generation_check_seconds
                or self._generation < 0
            ):
                current = self.store.generation()
                topics = self.store.topic_generations()
                if current != self._generation or topics != self._topic_generations:
                    self.cache.drop(lambda key: self._stale(key, current, topics))
                    self.metrics.generation.set(current)
                self._generation, self._topic_generations = current, topics
                self._checked_at = now
        return self._generation

    def topic_generation(self, name: str) -> int:
        """The generation of one topic: a refresh that leaves its feed alone keeps it."""
        self.generation()
        return self._topic_generations.get(name, 0)

    @staticmethod
    def _stale(key: Hashable, store: int, topics: dict[str, int]) -> bool:
        """Cache keys end with the generation they were built at: the topic's for topic
        feeds, the store's for everything else."""
        if not isinstance(key, tuple):
            return False
        if key[0] == "topic":
            return bool(key[-1] != topics.get(key[1], 0))
        return bool(key[-1] < store)

    def search(self, query: Query, limit: int) -> list[StoredPaper]:
        """The newest papers query matches, within the cost budget and the concurrency limit.

        Raises SearchBusy when every slot is taken (a burst of uncached searches must not
        take the threads that serve cached feeds), search.QueryTooExpensive past the budget.
        """
        if not self._searches.acquire(blocking=False):
            raise SearchBusy
        try:
            budget = search.Budget(self.config.search_max_rows, self.config.search_max_seconds)
            return search.newest(self.store, query, limit, budget)
        finally:
            self._searches.release()

    @property
    def max_age(self) -> int:
        return round(self.config.refresh_minutes * 60)

    def base_url(self, environ: dict) -> str:  # type: ignore[type-arg]
        """Configured base_url, else the request's scheme and Host (after ProxyFix)."""
        if self.config.base_url:
            return self.config.base_url.rstrip("/")
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
        )
        return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"

    def invalidate(self) -> None:
        """Look at the database on the next request (after this process refreshed)."""
        self._checked_at = 0.0
