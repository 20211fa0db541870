"""Alembic migrations, run by `paperfeed migrate` (the Procfile release phase).

A history: each revision keeps the DDL (and any backfill, in SQL) it shipped with and
imports nothing of the application, so it does today what it did then. A revision that
changes what the text index holds empties it; the application indexes the papers it lacks
once the schema is current (store.backfill).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent


# (task, done, total), as the refresh pipeline reports long steps; the CLI draws a bar.
Steps = Callable[[str, int, int], None]


def alembic_config(engine: Engine, steps: Steps | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    if steps is not None:
        config.attributes["on_version_apply"] = _counter(config, engine, steps)
    return config


def _counter(config: Config, engine: Engine, steps: Steps) -> Callable[..., None]:
    """Report each applied revision as one step of those still to apply."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    pending = list(ScriptDirectory.from_config(config).iterate_revisions("heads", current))
    done = 0
    if pending:
        steps("migrating the database", 0, len(pending))

    def applied(**_: object) -> None:
        nonlocal done
        done += 1
        steps("migrating the database", done, len(pending))

    return applied


def is_current(engine: Engine) -> bool:
    """Is the schema at the newest revision? (False also for an empty database.)"""
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == _heads()


@functools.cache
def _heads() -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    return set(ScriptDirectory.from_config(config).get_heads())


_MIGRATION_LOCK = 72_417_001  # any constant: the key of a PostgreSQL advisory lock


def upgrade(engine: Engine, revision: str = "head", steps: Steps | None = None) -> None:
    """Apply every migration up to revision, one process at a time."""
    if engine.dialect.name == "sqlite":
        with _sqlite_file_lock(engine):
            command.upgrade(alembic_config(engine, steps), revision)
        return
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine, steps), revision)
        return
    # Several web processes starting at once on a new database must not race to migrate.
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        try:
            command.upgrade(alembic_config(engine, steps), revision)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Gunicorn workers start together on a new SQLite file: let one of them migrate."""
    database = engine.url.database
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock, as before
        fcntl = None  # type: ignore[assignment]
    if not database or database == ":memory:" or fcntl is None:
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
