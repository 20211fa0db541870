"""Serve cached feeds before Flask routing: the hot path of a feed service.

Readers poll every few minutes; almost every poll asks for a feed whose body is already
cached. This WSGI layer reads the request as the route does (web.params.read_feed_request),
looks for the route's own cache key and answers with the route's own code (respond),
skipping Flask's request and routing machinery; it passes everything else (misses, errors,
pages) to Flask unchanged. While every search slot is taken, an uncached search is refused
here too, before its query is parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from flask import Response

from store import StoreError
from web.errors import busy
from web.feed_routes import respond
from web.params import BadFeedRequest, NoSuchFeed, read_feed_request
from web.service import Service

_REASONS = {200: "200 OK", 304: "304 Not Modified"}
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
        if isinstance(answer, Response):
            return answer(environ, start_response)
        status, headers, body = answer
        start_response(_REASONS[status], headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _answer(self, environ: dict[str, Any]) -> Answer | Response | None:
        """The answer to a request for a cached feed, or a search refused; None: Flask's."""
        path: str = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if not ((method == "GET" or method == "HEAD") and path.startswith("/feeds/")):
            return None
        name, dot, fmt = path[7:].rpartition(".")
        if not dot:
            return None
        svc = self.svc
        try:
            asked = read_feed_request(name, fmt, _args(environ), svc.config, parse=False)
        except (NoSuchFeed, BadFeedRequest):
            return None  # the route says what is wrong
        cached = svc.cache.peek(svc.feed_key(asked, environ))
        if cached is not None:
            return respond(svc, fmt, cached, _header_of(environ))
        if asked.is_search and not svc.search_slot_free():
            # A client that asks again at once should cost the worker as little as
            # possible. (A malformed query gets this 503 too, and its 400 once a slot is free.)
            return busy("searches")
        return None


def _args(environ: dict[str, Any]) -> Callable[[str], str | None]:
    """A query parameter by its name, its first value, as Flask's request.args.get reads it."""
    query = environ.get("QUERY_STRING")
    if not query:
        return _no_args
    first: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        first.setdefault(name, value)
    return first.get


def _no_args(_name: str) -> None:
    return None


def _header_of(environ: dict[str, Any]) -> Callable[[str], str | None]:
    """A request header by its name, read straight from the WSGI environ."""
    return lambda name: environ.get("HTTP_" + name.upper().replace("-", "_"))
