"""Lease statements on PostgreSQL wait for a lock only a few seconds. A lease row held by a
transaction that does not end (its refresher stopped inside a write) makes the next
refresher busy, not stuck behind it; /status can tell such a lease from a held one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

import pytest
import sqlalchemy as sa

from migrations import upgrade
from store import LeaseLost, Store, StoreError

pytestmark = pytest.mark.slow  # each test waits out a lease or a lock timeout
LEASE = "refresh"
T = TypeVar("T")


@pytest.fixture
def store(pg_url: str) -> Iterator[Store]:
    store = Store(pg_url)
    upgrade(store.engine)
    yield store
    store.dispose()


def within(seconds: float, call: Callable[[], T]) -> T:
    """call's outcome, or a failure when it has none after seconds (old code waited until the
    lock was released: the call is left to finish in its thread)."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=run, daemon=True).start()
    try:
        return future.result(timeout=seconds)
    except TimeoutError:
        pytest.fail(f"still waiting after {seconds} s")


@contextmanager
def locked(store: Store, statement: str) -> Iterator[None]:
    """statement run in a transaction that stays open for the block, as a refresher's would
    when its process is stopped (SIGSTOP) inside it."""
    with store.engine.connect() as conn:
        transaction = conn.begin()
        conn.execute(sa.text(statement))
        try:
            yield
        finally:
            transaction.rollback()


ROW = "UPDATE leases SET holder = holder WHERE name = 'refresh'"  # what a fenced write runs


def test_a_lease_locked_past_its_expiry_is_busy_at_once_and_shows_stuck(store: Store) -> None:
    assert store.acquire_lease(LEASE, "stopped", timedelta(seconds=1))
    with locked(store, ROW):
        time.sleep(1.2)  # the lease runs out while its holder's transaction holds the row
        started = time.monotonic()
        assert within(10, lambda: store.acquire_lease(LEASE, "next", timedelta(minutes=1))) is False
        assert time.monotonic() - started < 5
        lease = within(10, lambda: store.lease_state(LEASE))
        assert lease is not None and lease.locked and lease.stuck()
    lease = store.lease_state(LEASE)
    assert lease is not None and not lease.locked and lease.stuck()  # expired, not taken over
    assert store.acquire_lease(LEASE, "next", timedelta(minutes=1))
    lease = store.lease_state(LEASE)
    assert lease is not None and lease.holder == "next" and not lease.stuck()


def test_renewing_and_fenced_writes_wait_seconds_for_a_locked_lease(store: Store) -> None:
    assert store.acquire_lease(LEASE, "me", timedelta(minutes=1))
    with locked(store, ROW):
        started = time.monotonic()
        with pytest.raises(StoreError):
            within(10, lambda: store.renew_lease(LEASE, "me", timedelta(minutes=1)))

        def fenced_write() -> None:
            with store.fenced(LEASE, "me"), store.transaction():
                pass

        with pytest.raises(LeaseLost, match="could not be confirmed"):
            within(10, fenced_write)
        within(10, lambda: store.release_lease(LEASE, "me"))  # it runs out on its own
        assert time.monotonic() - started < 12
    assert store.renew_lease(LEASE, "me", timedelta(minutes=1))  # free again


def test_lease_statements_do_not_wait_on_a_locked_table(store: Store) -> None:
    """A migration locking the table (ACCESS EXCLUSIVE) for long: busy, or an error, soon."""
    with locked(store, "LOCK TABLE leases IN ACCESS EXCLUSIVE MODE"):
        started = time.monotonic()
        assert within(10, lambda: store.acquire_lease(LEASE, "me", timedelta(minutes=1))) is False
        with pytest.raises(StoreError):
            within(10, lambda: store.lease_holder(LEASE))
        assert time.monotonic() - started < 8
