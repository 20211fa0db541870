"""Serve cached topic feeds before Flask routing: the hot path of a feed service.

Readers poll every few minutes; almost every poll asks for a feed whose body is already
cached. This WSGI layer answers those from the cache with a few dictionary lookups and
passes everything else (misses, queries, pages) to Flask unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from feeds.conditional import answer
from feeds.render import FORMATS
from feeds.routes import topic_key
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
            if dot and fmt in FORMATS and name in self.svc.config.topics:
                svc = self.svc
                key = topic_key(
                    name,
                    fmt,
                    int(svc.config.feed_items),
                    svc.base_url(environ),
                    False,
                    svc.topic_generation(name),
                )
                cached = svc.cache.peek(key)
                if cached is not None:
                    status, headers, body = answer(
                        cached,
                        fmt,
                        lambda h: environ.get("HTTP_" + h.upper().replace("-", "_")),
                        svc.max_age,
                    )
                    svc.metrics.count_feed_request(fmt, status)
                    start_response(_REASONS[status], headers)
                    return [] if method == "HEAD" else [body]
        return self.app(environ, start_response)
