"""Answer a feed request from a cached body: 304 when the reader's copy is current, gzip
when accepted. Header parsing is werkzeug.http's; these are plain functions of headers,
shared by the Flask route and the fast path."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.http import parse_accept_header, parse_date, parse_etags

from feeds.render import FORMATS
from web.cache import CachedFeed


def is_fresh(cached: CachedFeed, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """Does the reader's copy match? Either representation's ETag counts (plain or -gz);
    the ETag wins when a reader sends both (RFC 9110 section 13.2.2)."""
    if if_none_match is not None:
        tags = parse_etags(if_none_match)
        return tags.contains_weak(cached.etag.strip('"')) or tags.contains_weak(
            cached.gzip_etag.strip('"')
        )
    since = parse_date(if_modified_since) if if_modified_since else None
    return since is not None and cached.last_modified <= since


def accepts_gzip(header: str | None) -> bool:
    return bool(header) and parse_accept_header(header).quality("gzip") > 0


def answer(
    cached: CachedFeed,
    fmt: str,
    header: Callable[[str], str | None],
    max_age: int,
    vary: str = "Accept-Encoding",
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) for a request whose headers header(name) returns; vary names
    every request header the body depends on (shared caches key on them)."""
    gzipped = accepts_gzip(header("Accept-Encoding"))
    headers = [
        ("ETag", cached.gzip_etag if gzipped else cached.etag),
        ("Last-Modified", cached.http_date),
        ("Cache-Control", f"public, max-age={max_age}"),
        ("Vary", vary),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if is_fresh(cached, header("If-None-Match"), header("If-Modified-Since")):
        return 304, headers, b""
    body = cached.gzipped if gzipped else cached.body
    headers.append(("Content-Type", FORMATS[fmt].content_type))
    headers.append(("Content-Length", str(len(body))))
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    return 200, headers, body
