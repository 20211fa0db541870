"""Engines for the two supported databases: SQLite (the embedded default) and PostgreSQL.

Connections that failed are thrown away, not pooled: SQLAlchemy drops a connection whose
error it recognises as a disconnect (PostgreSQL restarted, the database dropped), and the
SQLite errors below count as such too. A connection SQLite opened while the file could not be
written stays read-only for its whole life, so without this a moment of read-only disk
(a remount, permissions, an immutable flag) broke every later refresh of the process: such a
connection is noted when opened, and replaced at checkout once the file is writable again.

No wait on PostgreSQL is unbounded: connecting, a silent network (keepalives and
tcp_user_timeout end a connection whose peer no longer answers), a statement of a web
request (limit_statements), and the lease statements' waits for a lock (bounded_waits).
On SQLite, SQLiteFile holds a store to the file it opened.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger("paperfeed.store")


class StoreGone(Exception):
    """The store is not the one this process opened: its SQLite file was deleted or replaced
    since, or the database has lost its tables. Served like an outage (cached feeds, 503s)
    until a restart opens whatever is there now."""


# The database cannot be reached or used right now (down, restarting, dropped, read-only,
# pool exhausted, not the store this process opened); the web layer serves what it has
# cached instead. Not programming errors: those stay 500s.
StoreError = (OperationalError, InterfaceError, PoolTimeout, StoreGone)

# libpq settings of every PostgreSQL connection, unless the URL gives its own. A database
# behind a partition (packets dropped, no RST) must fail a request in seconds, not after
# the kernel's 15 minutes of retries: keepalives probe a connection that waits for an
# answer, and tcp_user_timeout (ms) ends one whose data or probes go unacknowledged.
LIBPQ_TIMEOUTS: dict[str, int] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
# How long (ms) a lease statement waits for a lock, and runs in all, on PostgreSQL. A lease
# row locked longer belongs to a transaction that does not end (its process stopped).
LEASE_LOCK_WAIT_MS = 2_000
LEASE_STATEMENT_MS = 5_000
# How long (ms) a statement may run on PostgreSQL in this thread or task; 0: no limit. The
# web layer sets it for the requests it serves (limit_statements); refreshes, the CLI and
# migrations run without one.
_statement_limit: ContextVar[int] = ContextVar("statement_limit", default=0)


# SQLite errors after which this connection should not be used again.
_SQLITE_BROKEN = (
    "attempt to write a readonly database",
    "disk i/o error",
    "unable to open database file",
    "database disk image is malformed",
    "no such table",  # the file was replaced under us (restored from a backup)
    "file is not a database",
)


def _writable(path: str) -> bool:
    """Could this process write the file (as SQLite will try to)?

    Asked with access(2), never by opening the file: on POSIX, closing any descriptor of a
    file drops every lock this process holds on it, SQLite's own included, and a server
    whose locks vanish lets another process delete its WAL under it (data loss, then
    "database disk image is malformed"). tests/test_sqlite_processes.py holds that.
    """
    if path == ":memory:" or path.startswith("file:") or not os.path.exists(path):
        return True
    return os.access(path, os.W_OK)


FileIdentity = tuple[int, int]  # (st_dev, st_ino): which file a path names


def file_identity(path: str) -> FileIdentity | None:
    """The device and inode of the file at path, asked with stat(2), never by opening it
    (see _writable); None when there is none."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


class SQLiteFile:
    """The file an SQLite store opened, and a guard on its engine: once the path names
    another file or none (deleted, moved, replaced by a restore), no connection is opened
    or handed out, and StoreGone says why. Without it, connections opened before went on
    reading the old file while new ones read the new file (or made an empty one in place
    of a deleted file), so answers mixed the two and /readyz saw nothing wrong.

    It also says so when its first connection finds no tables: a new, empty store is
    being made (every paper will be new again, with a new first_seen), loudly when the
    files a store leaves beside itself show that one was there before."""

    def __init__(self, engine: Engine) -> None:
        database = engine.url.database or ""
        self.path = "" if database == ":memory:" or database.startswith("file:") else database
        self.opened = file_identity(self.path) if self.path else None
        # Asked before any connection of ours makes its own -wal and -shm.
        self.leftovers = self._leftovers() if self.path and self.opened is None else []
        self._first_connection = True
        if self.path:
            sa.event.listen(engine, "do_connect", self._before_connect)
            sa.event.listen(engine, "connect", self._after_connect)
            sa.event.listen(engine, "checkout", self._on_checkout)

    def problem(self) -> str | None:
        """What is wrong with the file at the path, if it is not the one opened."""
        if self.opened is None:
            return None
        now = file_identity(self.path)
        if now is None:
            return (
                f"the SQLite file {self.path} was deleted or moved since this process opened "
                "it: restore it, or restart to start a new store"
            )
        if now != self.opened:
            return (
                f"the SQLite file {self.path} was replaced by another file since this process "
                "opened it: restart to serve the new one"
            )
        return None

    def check(self) -> None:
        """Raise StoreGone unless the path still names the file this store opened."""
        problem = self.problem()
        if problem:
            raise StoreGone(problem)

    def forget(self) -> None:
        """After every connection was closed: the next one opens the store's file anew."""
        self.opened = None

    def _before_connect(self, *_: Any) -> None:
        self.check()  # before SQLite would create an empty file in place of a deleted one

    def _after_connect(self, dbapi_connection: Any, _record: Any) -> None:
        if self.opened is None:
            self.opened = file_identity(self.path)
        if self._first_connection:
            self._first_connection = False
            cursor = dbapi_connection.cursor()
            empty = cursor.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None
            cursor.close()
            if empty:
                self._announce_new_store()

    def _on_checkout(self, *_: Any) -> None:
        self.check()  # the pool closes this connection: it may be reading a deleted file

    def _leftovers(self) -> list[str]:
        """Files a store leaves beside itself: its WAL and shared memory (a process had it
        open when it was deleted), its migration lock (it was migrated)."""
        return [
            self.path + suffix
            for suffix in ("-wal", "-shm", ".migrate-lock")
            if os.path.exists(self.path + suffix)
        ]

    def _announce_new_store(self) -> None:
        if not self.leftovers:
            log.warning("no paperfeed store in %s: making a new, empty one", self.path)
            return
        log.error(
            "no SQLite store at %s, but %s %s there: a store was here and was deleted or "
            "moved. Making a new, empty one (every paper will be new to readers); stop and "
            "restore the file if that is not what you want",
            self.path,
            ", ".join(self.leftovers),
            "is" if len(self.leftovers) == 1 else "are",
        )


def engine_url(url: str) -> str:
    """Accept Heroku's postgres:// and plain postgresql:// as psycopg 3 URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, busy_timeout_ms: int = 10_000, searches: bool = False) -> Engine:
    """An engine for url. With searches, for PostgreSQL: a small pool for searches alone,
    whose sessions keep each prepared statement's generic plan (see below)."""
    url = engine_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets readers (web workers) go on while the refresher writes.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        path = engine.url.database or ""

        @sa.event.listens_for(engine, "connect")
        def _note_read_only(_dbapi_connection: Any, record: Any) -> None:
            record.info["opened_read_only"] = bool(path) and not _writable(path)

        @sa.event.listens_for(engine, "checkout")
        def _reopen_when_writable(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
            if record.info.get("opened_read_only") and _writable(path):
                # The pool closes this one and opens another, read-write this time.
                raise sa.exc.DisconnectionError("the SQLite file is writable again")

        @sa.event.listens_for(engine, "handle_error")
        def _discard_broken_sqlite(context: ExceptionContext) -> OperationalError | None:
            message = str(context.original_exception).lower()
            if not any(sign in message for sign in _SQLITE_BROKEN):
                return None
            context.is_disconnect = True  # the pool closes it; the next one is opened anew
            # "malformed" and "not a database" come as DatabaseError, which the web layer
            # would answer with a 500 (seen once from a search, the file intact after):
            # like a lost database, they are the store being unusable right now.
            return OperationalError(
                context.statement, context.parameters, context.original_exception
            )

        return engine
    given = sa.engine.make_url(url).query
    engine = sa.create_engine(
        url,
        pool_pre_ping=True,
        # Searches run a few at a time (search_concurrency), each on one connection.
        pool_size=2 if searches else 5,
        max_overflow=3 if searches else 5,
        pool_timeout=10,
        # An unreachable host must fail a request in seconds, not hang it for minutes.
        connect_args={k: v for k, v in LIBPQ_TIMEOUTS.items() if k not in given},
    )

    @sa.event.listens_for(engine, "handle_error")
    def _tables_gone(context: ExceptionContext) -> OperationalError | None:
        # The database came back empty (dropped and created again, restored without its
        # schema): an outage until the refresher migrates it, not a 500 on every route.
        if getattr(context.original_exception, "sqlstate", None) != "42P01":  # undefined_table
            return None
        return OperationalError(context.statement, context.parameters, context.original_exception)

    @sa.event.listens_for(engine, "checkout")
    def _limit_statements(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        wanted = _statement_limit.get()
        if record.info.get("statement_limit", 0) == wanted:
            return
        with dbapi_connection.cursor() as cursor:
            # RESET: back to what the session started with (server, role, URL options).
            cursor.execute(
                f"SET statement_timeout = {int(wanted)}" if wanted else "RESET statement_timeout"
            )
        dbapi_connection.commit()
        record.info["statement_limit"] = wanted

    if searches:

        @sa.event.listens_for(engine, "connect")
        def _generic_plans(dbapi_connection: Any, _record: Any) -> None:
            # psycopg prepares a statement run five times on a connection; PostgreSQL then
            # plans it anew for every search unless its generic plan looks cheaper than
            # the last five, which for a search it rarely does, and planning then costs as much
            # as the rest of the search. The search statement is built so that one plan suits every
            # word (store.index.postgres._postgres_query), and a test holds it to that. (A SET, not
            # connect options: those would replace the ones in the URL or PGOPTIONS.)
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET plan_cache_mode = force_generic_plan")
            dbapi_connection.commit()

    return engine


def limit_statements(seconds: float) -> None:
    """From now on, this thread's (or task's) statements on PostgreSQL run at most seconds
    (0: no limit); set on each connection it checks out. SQLite has no such limit."""
    _statement_limit.set(round(seconds * 1000))


@contextmanager
def bounded_waits(conn: Connection) -> Iterator[None]:
    """The block's statements, on PostgreSQL, wait at most LEASE_LOCK_WAIT_MS for a lock
    and run at most LEASE_STATEMENT_MS; the transaction's own limits apply again after it.
    (SQLite waits its busy_timeout.) Raises OperationalError past a limit: lock_timed_out()
    tells a lock held elsewhere."""
    if conn.dialect.name != "postgresql":
        yield
        return
    before = conn.execute(
        sa.text("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
    ).one()
    _set_limits(conn, f"{LEASE_LOCK_WAIT_MS}ms", f"{LEASE_STATEMENT_MS}ms")
    yield
    _set_limits(conn, before[0], before[1])


def _set_limits(conn: Connection, lock: str, statement: str) -> None:
    conn.execute(
        sa.text(
            "SELECT set_config('lock_timeout', :lock, true), "
            "set_config('statement_timeout', :statement, true)"
        ),
        {"lock": lock, "statement": statement},
    )


def lock_timed_out(error: BaseException) -> bool:
    """Did a statement give up waiting for a lock another transaction holds (PostgreSQL's
    lock_timeout, SQLite's busy_timeout)?"""
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) == "55P03":  # lock_not_available
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(original)
