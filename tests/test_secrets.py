"""Secrets in source URLs (user:password@, ?api_key=, a URL kept in the environment) never
reach /, /status, stored errors, `paperfeed check` or log lines, whatever the failure."""

from __future__ import annotations

import base64
import io
import logging
import runpy
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from werkzeug import Request, Response

from logs import setup_logging
from refresh.redact import redact_text, redact_url
from store.schema import source_validators
from tests.helpers import ROOT, refresh, run, toml_sources

SECRETS = ("hunter2", "SECRETKEY", "tok3n")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://bob:hunter2@example.org/feed?api_key=SECRETKEY",
            "https://***@example.org/feed?api_key=***",
        ),
        ("https://example.org/feed", "https://example.org/feed"),
        ("http://tok3n@example.org:8080/a/b?x=1#frag", "http://***@example.org:8080/a/b?x=1"),
        ("http://[::1", "***"),
        # What an error needs to be useful stays: which day failed.
        (
            "https://huggingface.co/api/daily_papers?date=2024-11-28",
            "https://huggingface.co/api/daily_papers?date=2024-11-28",
        ),
        (
            "https://x.org/f?date=2024-11-28&page=2&token=t&sig=s&X-Amz-Signature=S"
            "&X-Amz-Credential=c&password=p&auth=a&client_secret=z&key=k&accessToken=a",
            "https://x.org/f?date=2024-11-28&page=2&token=***&sig=***&X-Amz-Signature=***"
            "&X-Amz-Credential=***&password=***&auth=***&client_secret=***&key=***"
            "&accessToken=***",
        ),
        ("https://x.org/f?SECRETKEY", "https://x.org/f?***"),  # a value without a name
        ("https://x.org/f?next=https://bob:hunter2@y.org/", "https://x.org/f?next=***"),
        ("https://x.org/f?to=bob%40example.org", "https://x.org/f?to=***"),
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
    assert "https://***@example.org/feed?api_key=***: HTTP 500" in clean
    assert "url: /api?api_key=*** " in clean


def test_an_error_keeps_the_date_of_the_url_that_failed() -> None:
    """Before, every query string was ***: "daily_papers?*** could not connect" three times
    over did not say which day failed."""
    text = "https://huggingface.co/api/daily_papers?date=2024-11-28: could not connect"
    assert redact_text(text) == text
    assert redact_text("url: /api/daily_papers?date=2024-11-28&token=tok3n)") == (
        "url: /api/daily_papers?date=2024-11-28&token=***)"
    )


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


PATH_TOKEN = "T0KEN1n7hePATH"  # a secret no redaction could recognise: only url_env hides it


@pytest.mark.parametrize("answer", ["ok", "http-500", "refused", "bad-body"])
def test_a_url_from_the_environment_is_read_and_never_shown(
    make_app, write_config, httpserver, log_lines, monkeypatch, answer
) -> None:
    asked: list[str] = []

    def upstream(request: Request) -> Response:
        asked.append(request.full_path)
        if answer == "bad-body":
            return Response("<html>not a listing</html>")
        if answer == "http-500":
            return Response("down", status=500)
        return Response("[]", content_type="application/json")

    httpserver.expect_request(f"/hooks/{PATH_TOKEN}/api").respond_with_handler(upstream)
    # The fake upstream's own access log (werkzeug, in its thread) is not paperfeed's.
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)
    port = httpserver.port if answer != "refused" else 9
    monkeypatch.setenv("PRIVATE_FEED", f"http://127.0.0.1:{port}/hooks/{PATH_TOKEN}/api?v=1")
    sources = toml_sources(
        {"name": "private", "kind": "hf-api", "url_env": "PRIVATE_FEED", "days": 2}
    )
    config = write_config(sources=sources)
    app = make_app(config, retries=1, backoff_seconds=0.01)
    report = refresh(app)
    if answer in ("http-500", "bad-body"):
        assert [path.partition("&date=")[0] for path in asked[:1]] == [
            f"/hooks/{PATH_TOKEN}/api?v=1"
        ]
    outcome = report.sources[0]  # type: ignore[attr-defined]
    assert outcome.status == ("ok" if answer == "ok" else "error"), outcome.error
    client = app.test_client()
    status = client.get("/status").get_json()
    assert status["sources"]["private"]["location"] == "$PRIVATE_FEED"
    if answer in ("http-500", "refused"):
        assert "$PRIVATE_FEED?date=" in outcome.error  # which day failed, and nothing more
    store = app.extensions["paperfeed"].store
    with store.engine.connect() as conn:
        stored = [row.location for row in conn.execute(sa.select(source_validators))]
    assert all(location.startswith("$PRIVATE_FEED?date=") for location in stored), stored
    assert PATH_TOKEN not in repr(app.extensions["paperfeed"].config)  # tracebacks, debuggers
    checked = run("--config", str(config), "check")
    assert checked.returncode == 0, checked.stderr
    assert "source private [hf-api] $PRIVATE_FEED" in checked.stdout
    seen = {
        "error": outcome.error or "",
        "/": client.get("/").get_data(as_text=True),
        "/status": client.get("/status").get_data(as_text=True),
        "logs": log_lines.getvalue(),
        "validators": " ".join(stored),
        "check": checked.stdout + checked.stderr,
    }
    for where, text in seen.items():
        assert PATH_TOKEN not in text, f"the URL is shown in {where}"
        assert f"127.0.0.1:{port}" not in text, f"the URL's host is shown in {where}"


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({}, "source 'private': url_env: $PRIVATE_FEED is not set; set it to"),
        ({"PRIVATE_FEED": " "}, "source 'private': url_env: $PRIVATE_FEED is empty"),
        (
            {"PRIVATE_FEED": f"ftp://x.org/{PATH_TOKEN}"},
            "source 'private': url_env: $PRIVATE_FEED must hold an http(s) URL",
        ),
    ],
)
def test_check_says_which_url_variable_is_missing_without_its_value(
    write_config, monkeypatch, environ, says
) -> None:
    monkeypatch.delenv("PRIVATE_FEED", raising=False)
    sources = toml_sources({"name": "private", "kind": "hf-api", "url_env": "PRIVATE_FEED"})
    result = run("--config", str(write_config(sources=sources)), "check", env=environ)
    assert result.returncode == 2
    assert says in result.stderr
    assert PATH_TOKEN not in result.stdout + result.stderr


def test_check_prints_source_urls_redacted(write_config) -> None:
    """The README runs check before every reload, so what it prints lands in deploy logs."""
    url = "https://bob:hunter2@example.org/api?date=2024-11-28&api_key=SECRETKEY&token=tok3n"
    sources = toml_sources({"name": "private", "kind": "hf-api", "url": url})
    result = run("--config", str(write_config(sources=sources)), "check")
    assert result.returncode == 0, result.stderr
    shown = "https://***@example.org/api?date=2024-11-28&api_key=***&token=***"
    assert f"source private [hf-api] {shown}" in result.stdout
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr


def test_the_access_log_never_records_a_basic_auth_user_name(tmp_path, monkeypatch) -> None:
    from gunicorn.config import Config as GunicornConfig
    from gunicorn.glogging import Logger

    monkeypatch.setenv("ACCESS_LOG", str(tmp_path / "access.log"))
    ours = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = GunicornConfig()
    for name in ("accesslog", "access_log_format"):
        if name in ours:  # else gunicorn's default, as gunicorn itself does
            config.set(name, ours[name])
    logger = Logger(config)
    credentials = base64.b64encode(b"alice-the-admin:hunter2").decode()
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/feeds/residual.rss",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_AUTHORIZATION": f"Basic {credentials}",
    }
    request = SimpleNamespace(headers=[("AUTHORIZATION", f"Basic {credentials}")])
    answer = SimpleNamespace(status="200 OK", sent=42, headers=[])
    logger.access(answer, request, environ, timedelta(milliseconds=3))
    for handler in logger.access_log.handlers:
        handler.flush()
    line = (tmp_path / "access.log").read_text()
    assert '"GET /feeds/residual.rss HTTP/1.1" 200 42' in line
    assert "alice" not in line and "hunter2" not in line and credentials not in line
