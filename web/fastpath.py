"""Serve cached topic feeds before Flask routing: the hot path of a feed service.

Readers poll every few minutes; almost every poll asks for a feed whose body is already
cached. This WSGI layer answers those with the route's own cache key and answer code
(web.feed_routes.topic_key / respond), skipping Flask's request and routing machinery, and
passes everything else (misses, ?limit=, pages) to Flask unchanged. Search feeds too: a
cached one is answered here, and so is the refusal of an uncached one while every search
slot is taken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from feeds.render import FORMATS
from store import StoreError
from web.feed_routes import busy_answer, respond, search_key, topic_key, whole_number
from web.service import Service

_REASONS = {200: "200 OK", 304: "304 Not Modified", 503: "503 Service Unavailable"}
Answer = tuple[int, list[tuple[str, str]], bytes]


class FastFeeds:
    def __init__(self, app: Callable[..., Iterable[bytes]], svc: Service) -> None:
        self.app = app
        self.svc = svc

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        try:
            answer = self._answer(environ)
        except StoreError:  # nothing cached to fall back on yet: Flask answers the 503
            answer = None
        if answer is None:
            return self.app(environ, start_response)
        status, headers, body = answer
        start_response(_REASONS[status], headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _answer(self, environ: dict[str, Any]) -> Answer | None:
        """The answer to a request for a cached feed, or a search refused; None: Flask's."""
        path: str = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if not ((method == "GET" or method == "HEAD") and path.startswith("/feeds/")):
            return None
        name, dot, fmt = path[7:].rpartition(".")
        if not dot or fmt not in FORMATS:
            return None
        if name == "search":
            return self._search(environ, fmt)
        svc = self.svc
        if name in svc.config.topics and not environ.get("QUERY_STRING"):
            key = topic_key(svc, name, fmt, svc.config.feed_items, False, environ)
            cached = svc.cache.peek(key)
            if cached is not None:
                return respond(svc, fmt, cached, _header_of(environ))
        return None

    def _search(self, environ: dict[str, Any], fmt: str) -> Answer | None:
        """A cached search feed; else, while every search slot is taken, the 503 its search
        would get, before the query is parsed: a client that asks again at once should
        cost the worker as little as possible. (A malformed query gets that 503 too, and
        its 400 once a slot is free.)"""
        svc = self.svc
        args = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        text = args.get("q", [""])[0]
        raw_limit = args.get("limit")
        limit = (
            svc.config.feed_items
            if raw_limit is None
            else whole_number(raw_limit[0], 1, svc.config.max_feed_items)
        )
        if not text.strip() or limit is None:
            return None  # the route says what is wrong
        cached = svc.cache.peek(search_key(svc, fmt, limit, text, environ))
        if cached is not None:
            return respond(svc, fmt, cached, _header_of(environ))
        if not svc.search_slot_free():
            return busy_answer()
        return None


def _header_of(environ: dict[str, Any]) -> Callable[[str], str | None]:
    """A request header by its name, read straight from the WSGI environ."""
    return lambda name: environ.get("HTTP_" + name.upper().replace("-", "_"))
