"""Shared fixtures: sample listings, a config writer, an app on a temporary database."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from settings import load_config
from store import Store

ROOT = Path(__file__).resolve().parent.parent
LISTINGS = ROOT / "samples" / "listings"
FIXTURES = Path(__file__).resolve().parent / "parsers"
SEED_COUNTS = {
    "000_0937d812811fcc18.txt": 119,
    "001_9997b832c2f801ba.txt": 204,
    "002_ef8e4038be73e72e.txt": 89,
    "003_d588416f37f0a3be.txt": 64,
}
DEFAULT_TOPICS = """
[topics.residual]
title = "Residual connections"
query = '"residual connection" OR resnet* OR "skip connection"'

[topics.imagenet-not-medical]
query = 'imagenet AND NOT (medical OR radiology OR thorax)'

[topics.vit]
title = "Vision transformers"
query = 'vit OR "vision transformer"'

[topics.hot]
query = 'upvotes:[20 TO *]'
"""


def toml_sources(*sources: dict[str, object]) -> str:
    blocks = []
    for source in sources:
        lines = ["[[sources]]"] + [
            f"{k} = {v!r}".replace("'", '"')
            if isinstance(v, str)
            else f"{k} = {str(v).lower() if isinstance(v, bool) else v}"
            for k, v in source.items()
        ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


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


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'paperfeed.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A clean PostgreSQL database from TEST_DATABASE_URL; skipped when it is not set."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests)")
    reset_postgres(url)
    yield url


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
            **overrides,
        }
        return create_app(settings)

    return make


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    application = make_app()
    yield application
    application.extensions["paperfeed"].store.dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def refresh(app) -> object:  # type: ignore[no-untyped-def]
    """Run one forced refresh of app's sources and make the app see it at once."""
    svc = app.extensions["paperfeed"]
    report = svc.refresher.run(force=True)
    svc.invalidate()
    return report


@pytest.fixture
def config_for(write_config: Callable[..., Path], database_url: str):  # type: ignore[no-untyped-def]
    def load(**overrides: object):  # type: ignore[no-untyped-def]
        path = overrides.pop("path", None) or write_config()
        return load_config(path, overrides={"database_url": database_url, **overrides})

    return load
