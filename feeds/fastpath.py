"""Serve cached topic feeds before Flask routing: the hot path of a feed service.

Readers poll every few minutes; almost every poll asks for a feed whose body is already
cached. This WSGI layer answers those with the route's own cache key and answer code
(feeds.routes.topic_key / respond), skipping Flask's request and routing machinery, and
passes everything else (misses, ?limit=, queries, pages) to Flask unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from feeds.render import FORMATS
from feeds.routes import respond, topic_key
from feeds.service import Service

_REASONS = {200: "200 OK", 304: "304 Not Modified"}


class FastFeeds:
    def __init__(self, app: Callable[..., Iterable[bytes]], svc: Service) -> None:
        self.app = app
        self.svc = svc

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if (
            (method == "GET" or method == "HEAD")
            and path.startswith("/feeds/")
            and not environ.get("QUERY_STRING")
        ):
            name, dot, fmt = path[7:].rpartition(".")
            svc = self.svc
            if dot and fmt in FORMATS and name in svc.config.topics:
                key = topic_key(svc, name, fmt, svc.config.feed_items, False, environ)
                cached = svc.cache.peek(key)
                if cached is not None:
                    status, headers, body = respond(svc, fmt, cached, _header_of(environ))
                    start_response(_REASONS[status], headers)
                    return [] if method == "HEAD" else [body]
        return self.app(environ, start_response)


def _header_of(environ: dict[str, Any]) -> Callable[[str], str | None]:
    """A request header by its name, read straight from the WSGI environ."""
    return lambda name: environ.get("HTTP_" + name.upper().replace("-", "_"))
