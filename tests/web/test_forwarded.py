"""Forwarded headers and response headers: only http(s) and well-formed hosts reach links,
Vary says when a body depends on the request host, allowed_hosts pins it, and HTML pages
carry security headers."""

from __future__ import annotations

import feedparser
import pytest

from settings import ConfigError
from tests.helpers import refresh
from web.headers import CONTENT_SECURITY_POLICY

HOST_VARY = "Accept-Encoding, Host, X-Forwarded-Host, X-Forwarded-Proto"


@pytest.fixture(scope="module")
def loaded(shared_app):  # type: ignore[no-untyped-def]
    return shared_app.test_client()


def links_of(body: bytes) -> list[str]:
    parsed = feedparser.parse(body)
    return [link.href for link in parsed.feed.links] + [e.link for e in parsed.entries]


@pytest.mark.parametrize("scheme", ["javascript", "data", "JAVASCRIPT", "ftp", "http:x", ""])
def test_only_http_and_https_schemes_are_taken_from_x_forwarded_proto(loaded, scheme) -> None:
    for path in ("/feeds/vit.atom", "/feeds/vit.atom?limit=5", "/", "/opml"):
        response = loaded.get(path, headers={"X-Forwarded-Proto": scheme})
        body = response.get_data(as_text=True).lower()
        assert response.status_code == 200
        assert "javascript:" not in body and "data:" not in body and "ftp:" not in body
        assert "http://localhost/feeds/vit" in body


@pytest.mark.parametrize(
    "host",
    ['evil.example"><script>', "a b", "x/y", "evil.example@x", "..", "-x.example", "a" * 300],
)
def test_malformed_forwarded_hosts_are_not_used(loaded, host) -> None:
    loaded.get("/feeds/vit.rss")  # cached: the fast path answers too
    for path in ("/feeds/vit.rss", "/feeds/vit.rss?limit=9"):
        response = loaded.get(path, headers={"X-Forwarded-Host": host})
        if response.status_code == 400:  # werkzeug refuses some hosts itself: fine
            continue
        assert response.status_code == 200
        assert f"//{host}".encode() not in response.data
        assert all(link.startswith("http://localhost/") for link in links_of(response.data)[:2])


def test_bodies_built_from_the_request_host_say_so_in_vary(loaded) -> None:
    for path in ("/feeds/vit.rss", "/feeds/vit.rss?limit=3", "/feeds/search.rss?q=vit", "/"):
        assert loaded.get(path).headers["Vary"] == HOST_VARY, path
    assert loaded.get("/opml").headers["Vary"] == HOST_VARY


def test_base_url_pins_links_and_vary_is_only_accept_encoding(make_app) -> None:
    app = make_app(base_url="https://papers.example.org")
    refresh(app)
    client = app.test_client()
    response = client.get("/feeds/vit.rss", headers={"X-Forwarded-Host": "evil.example"})
    assert response.headers["Vary"] == "Accept-Encoding"
    assert b"evil.example" not in response.data
    assert b"https://papers.example.org/feeds/vit.rss" in response.data


def test_allowed_hosts_pins_the_host_of_links(make_app) -> None:
    app = make_app(allowed_hosts="feeds.example.com, papers.example.com:8443")
    refresh(app)
    client = app.test_client()
    allowed = client.get("/feeds/vit.rss", headers={"X-Forwarded-Host": "papers.example.com:8443"})
    assert b"http://papers.example.com:8443/feeds/vit.rss" in allowed.data
    other = client.get(
        "/feeds/vit.rss", headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    )
    assert b"evil.example" not in other.data
    assert b"https://feeds.example.com/feeds/vit.rss" in other.data
    # A new Host per request no longer makes a new cache entry each time.
    svc = app.extensions["paperfeed"]
    entries = len(svc.cache)
    for number in range(20):
        client.get("/feeds/vit.rss", headers={"Host": f"h{number}.example"})
    assert len(svc.cache) == entries + 1


def test_a_malformed_allowed_host_stops_start_up(make_app) -> None:
    with pytest.raises(ConfigError, match="allowed_hosts"):
        make_app(allowed_hosts="feeds.example.com/path")


@pytest.mark.parametrize("path", ["/", "/topics/vit", "/search?q=vit", "/search?q=(("])
def test_html_pages_carry_security_headers(loaded, path) -> None:
    response = loaded.get(path)
    assert response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp  # default-src 'none'
    assert "'unsafe-inline'" not in csp  # no inline script, and no inline style either
    body = response.get_data(as_text=True).lower()
    assert "<style" not in body and " style=" not in body
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "<script" not in response.get_data(as_text=True).lower()


def test_feeds_are_nosniff_too(loaded) -> None:
    assert loaded.get("/feeds/vit.rss").headers["X-Content-Type-Options"] == "nosniff"
