"""Shared fixtures: a config writer, an app on a temporary database, PostgreSQL when set.

Plain helpers (paths, the CLI runner, live servers) are in tests/helpers.py."""

from __future__ import annotations

import functools
import os
import shutil
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from migrations import upgrade
from settings import load_config
from store import Store
from tests.helpers import DEFAULT_TOPICS, LISTINGS, toml_sources


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a paperfeed.toml in tmp_path; sources default to the bundled listings."""

    def write(sources: str | None = None, topics: str = DEFAULT_TOPICS, service: str = "") -> Path:
        if sources is None:
            sources = toml_sources(
                {"name": "samples", "kind": "hf-text", "path": str(LISTINGS / "*.txt")}
            )
        path = tmp_path / "paperfeed.toml"
        path.write_text(textwrap.dedent(f"[service]\n{service}\n\n{sources}\n\n{topics}\n"))
        return path

    return write


@pytest.fixture(scope="session")
def empty_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite store migrated to head and holding nothing, made once per session: copying
    it is far cheaper than running every migration again for each test's app."""
    path = tmp_path_factory.mktemp("empty") / "empty.db"
    store = Store(f"sqlite:///{path}")
    upgrade(store.engine)
    with store.engine.connect() as conn:  # everything into the main file, none in the WAL
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    return path


@pytest.fixture
def database_url(tmp_path: Path, empty_database: Path) -> str:
    """The test's own SQLite store, migrated and empty."""
    shutil.copyfile(empty_database, tmp_path / "paperfeed.db")
    return f"sqlite:///{tmp_path / 'paperfeed.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A clean PostgreSQL database from TEST_DATABASE_URL; skipped when it is not set."""
    url = postgres_test_url()
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests)")
    reset_postgres(url)
    yield url


@functools.cache
def postgres_test_url() -> str | None:
    """TEST_DATABASE_URL, or under pytest-xdist a database of this worker's own beside it
    (test_gw0, ...), made when missing: tests drop and remake its schema."""
    url = os.environ.get("TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    shared = sa.make_url(url)
    own = shared.set(database=f"{shared.database}_{worker}")
    admin = sa.create_engine(
        shared.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
        ).scalar()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{own.database}"'))
    admin.dispose()
    return own.render_as_string(hide_password=False)


def reset_postgres(url: str) -> None:
    store = Store(url)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    store.dispose()


@pytest.fixture
def make_app(write_config: Callable[..., Path], database_url: str):  # type: ignore[no-untyped-def]
    def make(config_path: Path | None = None, **overrides: object):  # type: ignore[no-untyped-def]
        settings = {
            "config_path": str(config_path or write_config()),
            "database_url": database_url,
            "scheduler": "off",
            "generation_check_seconds": 0,
            "search_in_processes": False,  # inline: the pool's own tests turn it on
            **overrides,
        }
        return create_app(settings)

    return make


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    application = make_app()
    yield application
    application.extensions["paperfeed"].close()


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory, samples_database: Path):  # type: ignore[no-untyped-def]
    """An app on a copy of the refreshed samples, shared by a module's tests that only read
    (requests with odd parameters and headers)."""
    folder = tmp_path_factory.mktemp("shared")
    shutil.copyfile(samples_database, folder / "paperfeed.db")
    application = create_app(
        {
            "config_path": str(samples_config(folder)),
            "database_url": f"sqlite:///{folder / 'paperfeed.db'}",
            "scheduler": "off",
            "search_in_processes": False,
        }
    )
    yield application
    application.extensions["paperfeed"].close()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def samples_config(folder: Path) -> Path:
    """A config in folder: the bundled listings as one source, the default topics."""
    sources = toml_sources({"name": "samples", "kind": "hf-text", "path": str(LISTINGS / "*.txt")})
    config = folder / "paperfeed.toml"
    config.write_text(f"[service]\n\n{sources}\n\n{DEFAULT_TOPICS}\n")
    return config


@pytest.fixture(scope="session")
def samples_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file holding the bundled samples refreshed once, with the default topics."""
    folder = tmp_path_factory.mktemp("samples")
    config = samples_config(folder)
    path = folder / "samples.db"
    template = create_app(
        {"config_path": str(config), "database_url": f"sqlite:///{path}", "scheduler": "off"}
    )
    svc = template.extensions["paperfeed"]
    svc.refresher.run(force=True)
    with svc.store.engine.connect() as conn:  # everything into the main file, none in the WAL
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    svc.store.dispose()
    return path


@pytest.fixture
def loaded(app, client, database_url: str, samples_database: Path):  # type: ignore[no-untyped-def]
    """The app's client, its store holding what a refresh of the samples gives.

    The refresh ran once per session; each test gets its own copy of the result.
    """
    svc = app.extensions["paperfeed"]
    svc.store.dispose()
    target = Path(database_url.removeprefix("sqlite:///"))
    for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(samples_database, f"{target}.copy")
    os.replace(f"{target}.copy", target)
    svc.invalidate()
    return client


@pytest.fixture
def config_for(write_config: Callable[..., Path], database_url: str):  # type: ignore[no-untyped-def]
    def load(**overrides: object):  # type: ignore[no-untyped-def]
        path = overrides.pop("path", None) or write_config()
        return load_config(path, overrides={"database_url": database_url, **overrides})

    return load
