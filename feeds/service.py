"""The objects one running paperfeed shares between requests: config, store, cache, refresher."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from feeds.cache import FeedCache
from feeds.metrics import Metrics
from refresh.pipeline import Refresher
from settings import Config
from store import Store


@dataclass
class Service:
    config: Config
    store: Store
    refresher: Refresher
    cache: FeedCache
    metrics: Metrics
    scheduler: object | None = None
    _generation: int = -1
    _checked_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, config: Config) -> Service:
        store = Store(config.database_url)
        metrics = Metrics()
        refresher = Refresher(config, store, on_outcome=metrics.observe_refresh)
        return cls(config, store, refresher, FeedCache(config.cache_bytes), metrics)

    def generation(self) -> int:
        """The store generation, read from the database at most every few seconds."""
        now = time.monotonic()
        if now - self._checked_at < self.config.generation_check_seconds and self._generation >= 0:
            return self._generation
        with self._lock:
            if (
                now - self._checked_at >= self.config.generation_check_seconds
                or self._generation < 0
            ):
                current = self.store.generation()
                if current != self._generation:
                    self.cache.drop_older_than(current)
                    self.metrics.generation.set(current)
                self._generation, self._checked_at = current, now
        return self._generation

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
