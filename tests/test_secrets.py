"""Secrets in source URLs (user:password@, ?api_key=) never reach /, /status, stored errors
or log lines, whatever the failure."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

import pytest
from werkzeug import Request, Response

from logs import setup_logging
from refresh.redact import redact_text, redact_url
from tests.helpers import refresh, toml_sources

SECRETS = ("hunter2", "SECRETKEY", "tok3n")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://bob:hunter2@example.org/feed?api_key=SECRETKEY",
            "https://***@example.org/feed?***",
        ),
        ("https://example.org/feed", "https://example.org/feed"),
        ("http://tok3n@example.org:8080/a/b?x=1#frag", "http://***@example.org:8080/a/b?***"),
        ("http://[::1", "***"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_finds_urls_and_bare_query_strings() -> None:
    text = (
        "hf: https://bob:hunter2@example.org/feed?api_key=SECRETKEY: HTTP 500; "
        "postgresql://app:tok3n@db:5432/x; Max retries exceeded with url: /api?api_key=SECRETKEY "
    )
    clean = redact_text(text)
    assert not any(secret in clean for secret in SECRETS)
    assert "https://***@example.org/feed?***" in clean and "url: /api?***" in clean


@pytest.fixture
def log_lines():  # type: ignore[no-untyped-def]
    """The service's own log handler (text format, DEBUG: urllib3 logs every URL it asks)."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    setup_logging("text", "DEBUG")
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    yield stream
    root.handlers[:], _ = saved[0], root.setLevel(saved[1])


@pytest.mark.parametrize("failure", ["http-500", "refused", "bad-body"])
def test_no_secret_in_pages_status_or_logs(
    make_app, write_config, httpserver, log_lines, failure
) -> None:
    def upstream(request: Request) -> Response:
        if failure == "bad-body":
            return Response("<html>not a listing</html>")
        return Response("down", status=500)

    httpserver.expect_request("/api").respond_with_handler(upstream)
    port = httpserver.port if failure != "refused" else 9
    url = f"http://bob:hunter2@127.0.0.1:{port}/api?api_key=SECRETKEY&token=tok3n"
    sources = toml_sources({"name": "private", "kind": "hf-api", "url": url})
    app = make_app(write_config(sources=sources, service="retries = 1\nbackoff_seconds = 0.01\n"))
    report = refresh(app)
    assert report.sources[0].status == "error"  # type: ignore[attr-defined]
    client = app.test_client()
    seen = {
        "error": report.sources[0].error or "",  # type: ignore[attr-defined]
        "/": client.get("/").get_data(as_text=True),
        "/status": client.get("/status").get_data(as_text=True),
        "logs": log_lines.getvalue(),
    }
    assert "127.0.0.1" in seen["/status"]  # the location is shown, without its secrets
    for where, text in seen.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} shown in {where}"


def test_an_error_stored_before_redaction_is_redacted_on_every_page(make_app, write_config):  # type: ignore[no-untyped-def]
    sources = toml_sources({"name": "old", "kind": "hf-api", "url": "http://127.0.0.1:9/api"})
    app = make_app(write_config(sources=sources))
    svc = app.extensions["paperfeed"]
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    svc.store.save_source(
        "old",
        {},
        last_attempt=moment,
        last_error="http://bob:hunter2@127.0.0.1:9/api?api_key=SECRETKEY: could not connect",
        last_error_at=moment,
    )
    client = app.test_client()
    for path in ("/", "/status"):
        text = client.get(path).get_data(as_text=True)
        assert "could not connect" in text, path
        assert "hunter2" not in text and "SECRETKEY" not in text, path
