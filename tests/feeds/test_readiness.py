"""Waits of the web layer have a bound: POST /admin/refresh?wait=1 waits only so long."""

from __future__ import annotations

import threading
import time

from werkzeug import Request, Response

from feeds import ops
from tests.helpers import FIXTURES, toml_sources, wait_for


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
