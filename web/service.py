"""The objects one running paperfeed shares between requests: config, store, cache, refresher;
and service(), the one way a request (or a gunicorn hook) reaches them."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as NotYet
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from flask import Flask, current_app

from feeds.render import FeedInfo
from refresh.pipeline import Refresher
from refresh.redact import redact_text
from settings import Config
from store import Store, StoredPaper, StoreError
from topics import search
from topics.query import Query
from web import search_pool
from web.cache import CachedFeed, FeedCache
from web.forwarded import RequestBase
from web.metrics import Metrics
from web.params import FeedRequest
from web.search_pool import BrokenProcessPool, SearchPool

log = logging.getLogger("paperfeed.web")
T = TypeVar("T")
# How long the request that finds the store generation due for a check waits for it. The
# check goes on in its own thread: a database that does not answer (a partition) holds no
# request serving a cached feed longer than this.
GENERATION_WAIT_SECONDS = 1.0


class SharedCall(Generic[T]):
    """A call run in a thread of its own, once at a time: who asks while it runs gets the
    same run. Callers choose how long they wait for its outcome (Future.result(timeout)),
    so a call stuck on the database holds none of them longer than it chose."""

    def __init__(self, call: Callable[[], T], name: str) -> None:
        self._call, self._name = call, name
        self._lock = threading.Lock()
        self._running: Future[T] | None = None

    def start(self) -> tuple[Future[T], bool]:
        """The run in progress, else a new one; and whether this call started it."""
        with self._lock:
            if self._running is not None and not self._running.done():
                return self._running, False
            future: Future[T] = Future()
            self._running = future
        threading.Thread(target=self._run, args=(future,), name=self._name, daemon=True).start()
        return future, True

    def _run(self, future: Future[T]) -> None:
        try:
            future.set_result(self._call())
        except BaseException as error:  # the caller that waits gets it
            future.set_exception(error)


@dataclass
class DatabaseHealth:
    """What this process saw of the database: failures are counted and the last one kept,
    and logged once per outage rather than once per request."""

    metrics: Metrics
    failures: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    down_since: datetime | None = None

    @property
    def up(self) -> bool:
        return self.down_since is None

    def failed(self, error: Exception, doing: str) -> None:
        self.failures += 1
        self.last_error = redact_text(f"{type(error).__name__}: {error}".splitlines()[0])[:500]
        self.last_error_at = datetime.now(UTC)
        self.metrics.database_errors.inc()
        self.metrics.database_up.set(0)
        if self.down_since is None:
            self.down_since = self.last_error_at
            log.error(
                "database unreachable while %s, serving cached feeds: %s", doing, self.last_error
            )

    def succeeded(self) -> None:
        if self.down_since is not None:
            log.warning("database reachable again (down since %s)", self.down_since.isoformat())
            self.down_since = None
            self.metrics.database_up.set(1)

    def as_json(self) -> dict[str, object]:
        return {
            "up": self.up,
            "down_since": self.down_since.isoformat() if self.down_since else None,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
        }


class SearchBusy(Exception):
    """Every uncached-search slot of this process is taken."""


class RenderBusy(Exception):
    """Every render slot of this process is taken (setting render_concurrency)."""


def _previous(key: Hashable) -> Hashable | None:
    """Where a topic feed's body is kept once its generation has passed: its key without
    the generation (keys end with it), so the next generation's key finds it."""
    if isinstance(key, tuple) and key and key[0] == "topic":
        return ("previous", *key[1:-1])
    return None


# How long a request for a feed that another thread is rendering waits for its body.
RENDER_WAIT_SECONDS = 10.0
# How long the one reader allowed to queue for a render slot waits for one: a reader of a
# feed with no body to fall back on (a worker's first request for it), so a few feeds
# polled at once on a fresh worker do not answer 503.
SLOT_QUEUE_SECONDS = 2.0


@dataclass
class Service:
    config: Config
    store: Store
    refresher: Refresher
    cache: FeedCache
    metrics: Metrics
    scheduler: object | None = None
    database: DatabaseHealth = field(init=False)
    request_base: RequestBase = field(init=False)
    _generation: int = -1
    _topic_generations: dict[str, int] = field(default_factory=dict)
    _checked_at: float = 0.0
    _generation_check: SharedCall[None] = field(init=False)
    readiness: SharedCall[None] = field(init=False)  # /readyz's check of the store
    _searches: threading.BoundedSemaphore = field(init=False)
    _renders: threading.BoundedSemaphore = field(init=False)
    _render_queue: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(1)
    )
    _rendering: dict[Hashable, threading.Event] = field(default_factory=dict)
    _rendering_lock: threading.Lock = field(default_factory=threading.Lock)
    # Held while the generations change and their stale bodies are set aside, so a render
    # that ends meanwhile sees either both the old or both the new.
    _generation_lock: threading.Lock = field(default_factory=threading.Lock)
    search_pool: SearchPool | None = None  # None: searches run in the asking thread

    def __post_init__(self) -> None:
        self._searches = threading.BoundedSemaphore(search_slots(self.config))
        self._renders = threading.BoundedSemaphore(max(1, self.config.render_concurrency))
        self.database = DatabaseHealth(self.metrics)
        self._generation_check = SharedCall(self._check_generation, "generation-check")
        self.readiness = SharedCall(self.store.ping, "readiness-check")
        self.request_base = RequestBase(self.config.base_url, self.config.allowed_hosts)

    def generation(self) -> int:
        """The store generation (search feeds) and each topic's (topic feeds), read from the
        database at most every few seconds.

        A thread of its own reads them (one read at a time); the request that found them due
        waits for it GENERATION_WAIT_SECONDS at most, the others not at all: they go on
        with the values they have. When the database cannot be read, or does not answer,
        the last generations seen stay: cached feeds keep being served, byte for byte,
        until the database is back.
        """
        if not self._generation_due():
            return self._generation
        check, started = self._generation_check.start()
        if self._generation < 0:
            check.result()  # nothing seen yet: nothing to serve without it
        elif started:
            with contextlib.suppress(NotYet):  # still asking: the last one serves meanwhile
                check.result(timeout=GENERATION_WAIT_SECONDS)
        return self._generation

    def _generation_due(self) -> bool:
        elapsed = time.monotonic() - self._checked_at
        return self._generation < 0 or elapsed >= self.config.generation_check_seconds

    def _check_generation(self) -> None:
        if self._generation_due():  # a run that just ended may have read it
            self._read_generation(time.monotonic())

    def _read_generation(self, now: float) -> None:
        try:
            current = self.store.generation()
            topics = self.store.topic_generations()
        except StoreError as error:
            if self._generation < 0:
                raise  # nothing seen yet: nothing to fall back on
            self.database.failed(error, "checking the store generation")
            # Ask again after a pause, not on every request of an outage.
            pause = max(1.0, self.config.generation_check_seconds)
            self._checked_at = time.monotonic() + pause
            return
        self.database.succeeded()
        with self._generation_lock:
            if current != self._generation or topics != self._topic_generations:
                self.cache.drop(lambda key: self._stale(key, current, topics), keep_as=_previous)
                self.metrics.generation.set(current)
            self._generation, self._topic_generations = current, topics
        self._checked_at = now

    def topic_generation(self, name: str) -> int:
        """The generation of one topic: a refresh that leaves its feed alone keeps it."""
        self.generation()
        return self._topic_generations.get(name, 0)

    @staticmethod
    def _stale(key: Hashable, store: int, topics: dict[str, int]) -> bool:
        """Cache keys end with the generation they were built at: the topic's for topic
        feeds, the store's for everything else."""
        if not isinstance(key, tuple) or key[0] == "previous":
            return False
        if key[0] == "topic":
            return bool(key[-1] != topics.get(key[1], 0))
        return bool(key[-1] < store)

    def feed_key(self, asked: FeedRequest, environ: dict[str, Any]) -> tuple[object, ...]:
        """The cache key of a feed; the route and the fast path both look it up here. Keys
        end with the generation their body was built at (see _stale): the topic's for a
        topic feed, the store's for a search feed, whose query text decides what it means
        (so the key is known before the query is parsed)."""
        base = self.base_url(environ)
        fmt, limit = asked.fmt, asked.limit
        if asked.is_search:
            key = (asked.order, asked.digest)
            return ("search", asked.text, fmt, limit, base, *key, self.generation())
        name, explicit, key = asked.name, asked.explicit_limit, (asked.order, asked.digest)
        generation = self.topic_generation(name)
        return ("topic", name, fmt, limit, base, explicit, *key, generation)

    def per_generation(self, key: tuple[object, ...], read: Callable[[], T]) -> T:
        """A store read that only changes with the store generation, kept in the feed cache
        until the generation moves (the index's counts and chart cost a scan of every
        membership)."""
        return self.cache.get_or_build(("read", *key, self.generation()), read)

    def search(self, query: Query, limit: int, order: str = "newest") -> list[StoredPaper]:
        """The newest papers query matches, within the cost budget and the concurrency limit.

        Raises SearchBusy when every slot is taken (a burst of uncached searches must not
        take the threads that serve cached feeds), search.QueryTooExpensive past the budget.
        """
        return self._search(search_pool.papers, query, limit, order)

    def search_feed(
        self, query: Query, limit: int, fmt: str, info: FeedInfo, order: str = "newest"
    ) -> CachedFeed:
        """search(query, limit) rendered as a feed in fmt, where the search ran."""
        return self._search(search_pool.feed, query, limit, fmt, info, order)

    def _search(self, job: Callable[..., T], query: Query, limit: int, *args: Any) -> T:
        """job in the search pool (setting search_in_processes), else in this thread."""
        if not self._searches.acquire(blocking=False):
            raise SearchBusy
        try:
            budget = search.Budget(self.config.search_max_rows, self.config.search_max_seconds)
            if self.search_pool is None:
                return job(self.store, query, limit, budget, *args)
            return self.search_pool.run(job, query, limit, budget, *args)
        except BrokenProcessPool as error:
            raise SearchBusy from error  # its process died twice running it: try again soon
        finally:
            self._searches.release()

    @contextmanager
    def render_slot(self, queue: bool = False) -> Iterator[None]:
        """One of render_concurrency slots for an uncached render, or RenderBusy at once: a
        flood of cache misses (new hosts, new limits, pages) must not take every thread
        that serves cached feeds and /healthz. With queue, when no other reader is queued,
        wait SLOT_QUEUE_SECONDS for a slot first (one thread at most waits so)."""
        if not self._renders.acquire(blocking=False) and not (queue and self._queued_slot()):
            raise RenderBusy
        try:
            yield
        finally:
            self._renders.release()

    def _queued_slot(self) -> bool:
        if not self._render_queue.acquire(blocking=False):
            return False
        try:
            return self._renders.acquire(timeout=SLOT_QUEUE_SECONDS)
        finally:
            self._render_queue.release()

    def feed(self, key: Hashable, build: Callable[[], CachedFeed]) -> CachedFeed:
        """The cached body of key, else build() in a render slot, once for every thread
        asking: those that come while it renders wait for its body instead of rendering it
        again (right after a new generation, every poll of a feed misses at once). When
        every slot is taken, the feed's body of the generation before, if kept (a refresh
        changes many feeds at once); else RenderBusy."""
        try:
            return self._render_once(key, build)
        except RenderBusy:
            kept = _previous(key)
            previous = None if kept is None else self.cache.peek(kept)
            if previous is None:
                raise
            return previous

    def _render_once(self, key: Hashable, build: Callable[[], CachedFeed]) -> CachedFeed:
        cached = self.cache.peek(key)
        if cached is not None:
            return cached
        with self._rendering_lock:
            pending = self._rendering.get(key)
            mine = pending is None
            if pending is None:
                pending = self._rendering[key] = threading.Event()
        if not mine:
            pending.wait(RENDER_WAIT_SECONDS)
            cached = self.cache.peek(key)
            if cached is not None:
                return cached  # else it failed, or was too large to keep: render it here
        kept = _previous(key)
        nothing_kept = kept is None or self.cache.peek(kept) is None
        try:
            with self.render_slot(queue=nothing_kept):
                rendered = self.cache.get_or_build(key, build)
            self._settle(key)
            return rendered
        finally:
            if mine:
                with self._rendering_lock:
                    del self._rendering[key]
                pending.set()

    def _settle(self, key: Hashable) -> None:
        """A body just rendered replaces the one kept from the generation before; but when a
        newer generation came while it rendered, it is set aside as the kept body itself, so
        a reader who finds every render slot taken still gets a feed."""
        kept = _previous(key)
        if kept is None:
            return
        with self._generation_lock:
            if self._stale(key, self._generation, self._topic_generations):
                self.cache.drop(lambda cached: cached == key, keep_as=_previous)
            else:
                self.cache.forget(kept)  # the current body serves from now on

    def search_slot_free(self) -> bool:
        """Whether an uncached search could start now; only a hint, as another thread may
        take the slot first (search() then raises SearchBusy all the same)."""
        if not self._searches.acquire(blocking=False):
            return False
        self._searches.release()
        return True

    def close(self) -> None:
        """Stop the search processes and close the database connections (worker exit)."""
        if self.search_pool is not None:
            self.search_pool.close()
        self.store.dispose()

    @property
    def max_age(self) -> int:
        return round(self.config.refresh_minutes * 60)

    def base_url(self, environ: dict) -> str:  # type: ignore[type-arg]
        """Configured base_url, else the request's scheme and host when they are safe to use."""
        return self.request_base.of(environ)

    def invalidate(self) -> None:
        """Look at the database on the next request (after this process refreshed)."""
        self._checked_at = 0.0


def search_slots(config: Config) -> int:
    """Uncached searches at once in one process (the search pool's size too)."""
    return max(1, config.search_concurrency)


EXTENSION = "paperfeed"  # the Service's name in app.extensions


def service(app: Flask | None = None) -> Service:
    """The Service of app, else of the app handling the current request."""
    return (app or current_app).extensions[EXTENSION]  # type: ignore[no-any-return]
