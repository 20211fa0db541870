"""Answer a feed request from a cached body: 304 when the reader's copy is current, gzip
when accepted. Plain functions of headers, shared by the Flask route and the fast path."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from feeds.cache import CachedFeed
from feeds.render import FORMATS

_Q_ZERO = re.compile(r"q\s*=\s*0(\.0*)?\s*$")


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match: '*', a list, weak (W/) or strong, either representation (-gz)."""
    if header.strip() == "*":
        return True
    wanted = etag.strip('"').removesuffix("-gz")
    for candidate in header.split(","):
        tag = candidate.strip().removeprefix("W/").strip('"').removesuffix("-gz")
        if tag == wanted:
            return True
    return False


def not_modified_since(header: str, last_modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified <= since


def accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return not _Q_ZERO.search(params)
    return False


def answer(
    cached: CachedFeed, fmt: str, header: Callable[[str], str | None], max_age: int
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) for a request whose headers header(name) returns."""
    gzipped = accepts_gzip(header("Accept-Encoding") or "")
    headers = [
        ("ETag", cached.gzip_etag if gzipped else cached.etag),
        ("Last-Modified", cached.http_date),
        ("Cache-Control", f"public, max-age={max_age}"),
        ("Vary", "Accept-Encoding"),
    ]
    if_none_match = header("If-None-Match")
    if_modified_since = header("If-Modified-Since")
    # The ETag wins when a reader sends both (RFC 9110 section 13.2.2).
    if if_none_match is not None:
        fresh = etag_matches(if_none_match, cached.etag)
    else:
        fresh = bool(if_modified_since) and not_modified_since(
            if_modified_since or "", cached.last_modified
        )
    if fresh:
        return 304, headers, b""
    body = cached.gzipped if gzipped else cached.body
    headers.append(("Content-Type", FORMATS[fmt]))
    headers.append(("Content-Length", str(len(body))))
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    return 200, headers, body
