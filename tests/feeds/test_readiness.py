"""Waits of the web layer have a bound: POST /admin/refresh?wait=1 waits only so long, and
a web request's statements run only so long on PostgreSQL."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from werkzeug import Request, Response

from feeds import ops
from store import engine_url
from tests.helpers import FIXTURES, refresh, toml_sources, wait_for


def test_admin_refresh_waits_only_so_long_then_says_it_is_still_running(
    make_app, write_config, httpserver, monkeypatch
) -> None:
    answer = threading.Event()

    def slow(request: Request) -> Response:
        answer.wait(10)
        return Response((FIXTURES / "hf_daily_papers.json").read_bytes())

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
