"""Write transactions, fenced by the refresh lease.

A refresher paused past its lease (SIGSTOP, a long GC pause, a frozen VM) wakes up still
believing it holds the lease. Under fenced(), every write transaction first re-asserts the
lease with an UPDATE of its row: that row lock (PostgreSQL) or write lock (SQLite) is held
until the commit, so no other process can take the lease over between the check and the
commit, and a holder that lost it has its transaction refused before it writes anything.
That UPDATE waits for the lease row only so long (store.engine.bounded_waits): a row another
transaction keeps locked (a refresher stopped inside its write) refuses the write too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from store.engine import LEASE_LOCK_WAIT_MS, bounded_waits, lock_timed_out
from store.schema import leases


class LeaseLost(Exception):
    """The lease this writer holds expired or was taken over: its writes are refused."""


# (lease name, holder, ttl) of the fenced block running in this thread or task.
_fence: ContextVar[tuple[str, str, timedelta | None] | None] = ContextVar(
    "store_fence", default=None
)


class Transactions:
    engine: Engine

    @contextmanager
    def fenced(self, lease: str, holder: str, ttl: timedelta | None = None) -> Iterator[None]:
        """Refuse every write transaction inside the block unless holder still has lease;
        with ttl, each one also renews the lease for ttl from its start."""
        token = _fence.set((lease, holder, ttl))
        try:
            yield
        finally:
            _fence.reset(token)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction; inside fenced(), it first proves the lease is still held."""
        with self.engine.begin() as conn:
            fence = _fence.get()
            if fence is not None:
                _assert_lease_held_soon(conn, *fence)
            yield conn
            if fence is not None and fence[2] is not None:
                # Renewed again as it commits: others see the lease this commit leaves,
                # which must outlast the transaction however long it took.
                assert_lease_held(conn, *fence)


def _assert_lease_held_soon(
    conn: Connection, lease: str, holder: str, ttl: timedelta | None = None
) -> None:
    """assert_lease_held, waiting for the lease row only so long: a row locked longer by
    another transaction cannot be proven ours, so the write is refused."""
    try:
        with bounded_waits(conn):
            assert_lease_held(conn, lease, holder, ttl)
    except OperationalError as error:
        if conn.dialect.name != "postgresql" or not lock_timed_out(error):
            raise  # SQLite: its busy_timeout passed, as for any other write
        raise LeaseLost(
            f"{holder}'s {lease} lease could not be confirmed: its row stayed locked by "
            f"another transaction for {LEASE_LOCK_WAIT_MS / 1000:g} s; write refused"
        ) from error


def assert_lease_held(
    conn: Connection, lease: str, holder: str, ttl: timedelta | None = None
) -> None:
    """Lock the lease row if holder still holds it (renewing it for ttl, when given: a
    refresh that keeps writing keeps its lease, whatever its lease keeper could do while
    the write lock was held); else raise LeaseLost.

    The holder, not the expiry time, decides: a lease that ran out while nobody took it
    over is still this writer's alone, and while this transaction runs the locked row
    cannot be taken. (Requiring an unexpired lease refused the holder's own next write
    after one long write transaction: its renewals wait on the row that write locks.)
    """
    renewed = {"expires_at": later_expiry(ttl)} if ttl else {"holder": leases.c.holder}
    held = conn.execute(
        sa.update(leases).where(leases.c.name == lease, leases.c.holder == holder).values(renewed)
    )
    if not held.rowcount:
        raise LeaseLost(f"{holder} no longer holds the {lease} lease: write refused")


def later_expiry(ttl: timedelta) -> sa.ColumnElement[datetime]:
    """now + ttl, unless the lease already runs out later. A renewal computes its time before
    it may wait on the row lock of a long write; when it gets through, that time can be
    older than the expiry the write committed, and must not move it back (another process
    would take over a lease whose holder is busy writing)."""
    wanted = datetime.now(UTC) + ttl
    return sa.case(
        (leases.c.expires_at > wanted, leases.c.expires_at),
        else_=sa.literal(wanted, leases.c.expires_at.type),
    )
