"""Waits of the web layer have a bound: POST /admin/refresh?wait=1 waits only so long, and
a web request's statements run only so long on PostgreSQL. /readyz knows its store: a
deleted or replaced SQLite file, or a database without its tables, is not ready while
cached feeds keep answering; a new empty store says so at start-up, and /status tells
when the store was created."""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug import Request, Response

from migrations import upgrade
from store import Store, engine_url
from tests.helpers import parser_fixture, refresh, toml_sources, wait_for
from web import ops

CACHED = ["/feeds/residual.rss", "/feeds/vit.atom", "/feeds/hot.json"]


def sqlite_path(database_url: str) -> Path:
    return Path(database_url.removeprefix("sqlite:///"))


def cached_answers(client) -> dict[str, tuple[int, str | None, bytes]]:  # type: ignore[no-untyped-def]
    answers = {path: client.get(path) for path in CACHED}
    return {p: (r.status_code, r.headers.get("ETag"), r.data) for p, r in answers.items()}


def test_a_deleted_sqlite_file_is_not_ready_and_cached_feeds_still_answer(
    app, client, database_url: str
) -> None:
    """Before: /readyz answered 200 for 32 s after the file was deleted under two workers."""
    refresh(app)
    before = cached_answers(client)
    path = sqlite_path(database_url)
    path.unlink()

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "deleted" in ready.get_json()["reason"] and str(path) in ready.get_json()["reason"]
    assert cached_answers(client) == before  # same bytes, same ETags
    assert client.get("/feeds/residual.rss?limit=7").status_code == 503  # needs the store
    assert client.get("/status").status_code == 503
    assert not path.exists()  # no connection made an empty store in its place


def test_a_replaced_sqlite_file_is_not_ready_and_is_never_read(
    app, client, database_url: str, tmp_path: Path
) -> None:
    """Before: answers mixed the old file (connections opened before) and the new one."""
    refresh(app)
    before = cached_answers(client)
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")  # a store of its own, empty
    upgrade(other.engine)
    other.dispose()
    os.replace(tmp_path / "other.db", sqlite_path(database_url))

    ready = client.get("/readyz")
    assert ready.status_code == 503 and "replaced" in ready.get_json()["reason"]
    assert cached_answers(client) == before
    assert client.get("/feeds/residual.rss?limit=7").status_code == 503  # not the empty one
    assert client.get("/status").status_code == 503


def test_a_database_without_its_tables_is_not_ready(make_app, pg_url: str) -> None:
    app = make_app(database_url=pg_url)
    client = app.test_client()
    refresh(app)
    assert client.get("/readyz").status_code == 200
    admin = sa.create_engine(engine_url(pg_url))
    with admin.begin() as conn:  # restored into the wrong schema, dropped by mistake, ...
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    admin.dispose()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "papers" in ready.get_json()["reason"]
    app.extensions["paperfeed"].close()


def test_a_new_store_says_so_and_status_tells_when_it_was_created(
    make_app, database_url: str, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger="paperfeed.store")
    sqlite_path(database_url).unlink()  # no store there yet (tests start from a migrated copy)
    app = make_app()
    path = str(sqlite_path(database_url))
    assert any(
        r.levelno == logging.WARNING and path in r.getMessage() and "new" in r.getMessage()
        for r in caplog.records
    ), caplog.text
    refresh(app)
    created = app.test_client().get("/status").get_json()["store"]["created"]
    assert abs(datetime.fromisoformat(created) - datetime.now(UTC)) < timedelta(minutes=1)
    app.extensions["paperfeed"].close()


def test_a_new_store_where_one_was_before_says_so_loudly(
    make_app, database_url: str, caplog
) -> None:
    """Before: a restart after the file was deleted built an empty store without a word
    (every paper's first_seen started again)."""
    first = make_app()
    refresh(first)
    first.extensions["paperfeed"].close()
    sqlite_path(database_url).unlink()  # its .migrate-lock stays beside it
    caplog.set_level(logging.WARNING, logger="paperfeed.store")
    make_app().extensions["paperfeed"].close()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and str(sqlite_path(database_url)) in errors[0], caplog.text
    assert "migrate-lock" in errors[0]


def test_admin_refresh_waits_only_so_long_then_says_it_is_still_running(
    make_app, write_config, httpserver, monkeypatch
) -> None:
    answer = threading.Event()

    def slow(request: Request) -> Response:
        answer.wait(10)
        return Response(parser_fixture("cases/hf_daily_papers.json").read_bytes())

    httpserver.expect_request("/api").respond_with_handler(slow)
    config = write_config(
        sources=toml_sources({"name": "hf", "kind": "hf-api", "url": httpserver.url_for("/api")})
    )
    monkeypatch.setattr(ops, "ADMIN_WAIT_SECONDS", 1.0, raising=False)
    app = make_app(config, admin_token="s3cret")
    started = time.monotonic()
    response = app.test_client().post(
        "/admin/refresh?wait=1", headers={"Authorization": "Bearer s3cret"}
    )
    took = time.monotonic() - started
    answer.set()
    assert response.status_code == 202 and response.get_json()["still_running"] is True
    assert took < 4, f"the admin call waited {took:.1f} s"
    svc = app.extensions["paperfeed"]
    wait_for(lambda: not svc.refresher.busy, 30, "the refresh to finish")
    assert svc.store.count_papers() > 0  # it went on and finished without the caller
    svc.close()


@pytest.mark.slow
def test_a_web_request_waits_on_a_locked_table_only_so_long(
    make_app, pg_url: str, monkeypatch
) -> None:
    """A migration's ACCESS EXCLUSIVE lock held for long (or any slow statement): the
    request answers 503 once its statements' time is up; before, it waited for the lock."""
    monkeypatch.setattr(ops, "WEB_STATEMENT_SECONDS", 1.0, raising=False)
    app = make_app(database_url=pg_url)
    client = app.test_client()
    refresh(app)
    store = app.extensions["paperfeed"].store
    locker = sa.create_engine(engine_url(pg_url))
    with locker.connect() as conn:
        transaction = conn.begin()
        conn.execute(sa.text("LOCK TABLE papers IN ACCESS EXCLUSIVE MODE"))
        answer: list[object] = []
        request = threading.Thread(
            target=lambda: answer.append(client.get("/feeds/residual.rss?limit=7"))
        )
        started = time.monotonic()
        request.start()
        request.join(timeout=10)
        took = time.monotonic() - started
        transaction.rollback()
    request.join()
    locker.dispose()
    assert took < 5, f"the request waited {took:.1f} s for the lock"
    assert answer[0].status_code == 503  # type: ignore[attr-defined]
    with store.engine.connect() as conn:  # this thread's own statements are not bounded
        assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "0"
    app.extensions["paperfeed"].close()
