"""Uncached searches in a few processes beside the web process.

A search is Python work from start to end (reading rows, matching them, rendering the
feed), so in the web process it holds the one interpreter lock much of the time, and cached
feeds wait. Here it runs in a process of its own, and the thread that asked only waits for
the answer.

The pool starts on the first search: gunicorn's master (which may build the app before it
forks) and processes that never search pay nothing. Its processes are spawned, not forked:
a fork taken after threads and database connections exist can copy a held lock or share a
connection's socket. Each opens its own Store (with the function the composition root
hands the pool), and a search is sent as its query text (a compiled Query holds RE2
programs) to be parsed again there.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as ResultTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from feeds.render import FeedInfo
from store import Store, StoredPaper
from topics.query import Query
from topics.query import parse as parse_query
from topics.search import Budget, best, newest, ran_too_long
from web.cache import CachedFeed

# Searching is the less urgent work: on a busy machine the kernel gives the web process
# (cached feeds, /healthz) the CPU first, and a search takes what is left.
NICENESS = 10

# How long past its budget a thread waits for a search: a new pool process takes a second
# or two to start on a busy machine (the first search, or the one after a replacement).
START_SECONDS = 5.0

T = TypeVar("T")


# ---- what a search does, wherever it runs (a pool process, or the asking thread) -----------


def papers(
    store: Store, query: Query, limit: int, budget: Budget, order: str = "newest"
) -> list[StoredPaper]:
    """The newest limit papers query matches, each with what matched (the search page);
    order="relevance": the best scored of the newest RELEVANCE_POOL matches. A like:
    gets its profile from the store first (an unknown id is a QueryError)."""
    query = store.bind(query)
    with store.searching() as index:
        if order == "relevance":
            return best(index, query, limit, budget)
        return newest(index, query, limit, budget)


def feed(
    store: Store,
    query: Query,
    limit: int,
    budget: Budget,
    fmt: str,
    info: FeedInfo,
    order: str = "newest",
) -> CachedFeed:
    """Those papers as a feed, rendered where they were found: rendering a feed takes
    more interpreter time than many searches do (BENCHMARKS.md, figures behind comments)."""
    return CachedFeed.of(fmt, info, papers(store, query, limit, budget, order))


# ---- the pool ------------------------------------------------------------------------------

_store: Store | None = None  # in a pool process: its own engine and connections


def _start(open_store: Callable[[], Store]) -> None:
    """Set up a new pool process."""
    global _store
    os.nice(NICENESS)
    # Ctrl-C reaches the whole process group; the web process stops its pool itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    _store = open_store()


def _exit_with_parent() -> None:
    """A web worker killed outright (gunicorn's timeout, the OOM killer: SIGKILL) never
    runs worker_exit, and its search processes would live on, each with its memory and a
    database connection: one more per restart. So each leaves when its parent has gone."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()
        os._exit(0)


def _run(job: Callable[..., T], text: str, limit: int, budget: Budget, *args: Any) -> T:
    """One search, in a pool process; its errors go back to the caller as they are."""
    assert _store is not None, "a pool process starts with _start"
    return job(_store, parse_query(text), limit, budget, *args)


class SearchPool:
    """Up to size searches at once, each in a process of its own."""

    def __init__(self, open_store: Callable[[], Store], size: int) -> None:
        """open_store: how a pool process opens its store (it is pickled: a module's
        function, or a functools.partial of one)."""
        self.open_store = open_store
        self.size = size
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, job: Callable[..., T], query: Query, limit: int, budget: Budget, *args: Any) -> T:
        """job(store, query, limit, budget, *args) in a pool process (papers or feed).

        Raises what the search raised there (QueryTooExpensive, StoreError), and
        QueryTooExpensive when it outlives its budget (its process is replaced).
        A process that died (killed, out of memory) breaks the pool: it is replaced and the
        search asked once more; BrokenProcessPool if that fails too.
        """
        try:
            return self._ask(job, query.text, limit, budget, *args)
        except BrokenProcessPool:
            return self._ask(job, query.text, limit, budget, *args)

    def _ask(self, job: Callable[..., T], text: str, limit: int, budget: Budget, *args: Any) -> T:
        pool = self._current()
        try:
            future = pool.submit(_run, job, text, limit, budget, *args)
        except BrokenProcessPool:
            # A process died between searches: this search never ran, so a new pool takes
            # it without spending its one retry (run()) on a death that was not its own.
            self._replace(pool)
            pool = self._current()
            future = pool.submit(_run, job, text, limit, budget, *args)
        try:
            return future.result(timeout=_patience(budget))  # type: ignore[no-any-return]
        except BrokenProcessPool:
            self._replace(pool)
            raise
        except ResultTimeout:
            # Stuck where the budget is not checked (one long database call): stop it.
            self._replace(pool, kill=True)
            raise ran_too_long(budget.max_seconds or 0) from None

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.size,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start,
                    initargs=(self.open_store,),
                )
            return self._pool

    def _replace(self, pool: ProcessPoolExecutor, kill: bool = False) -> None:
        """Drop pool (the next search starts a new one); kill its processes first when
        one of them will not stop by itself. Searches still waiting on it see it break."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        if kill:
            # ProcessPoolExecutor has no public way to stop its processes before 3.14.
            for process in list((pool._processes or {}).values()):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def pids(self) -> list[int]:
        """The pool's processes (tests kill one)."""
        pool = self._pool
        return [] if pool is None else list(pool._processes or ())

    def close(self) -> None:
        """Stop the pool's processes; a search under way ends first (within its budget)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _patience(budget: Budget) -> float | None:
    return None if budget.max_seconds is None else budget.max_seconds + START_SECONDS
