"""Serve cached feeds before Flask routing: the hot path of a feed service.

Readers poll every few minutes; almost every poll asks for a feed whose body is already
cached. This WSGI layer reads the request as the route does (web.params.read_feed_request),
looks for the route's own cache key and answers with the route's own code (respond),
skipping Flask's request and routing machinery; it passes everything else (misses, errors,
pages) to Flask unchanged. While every search slot is taken, an uncached search is refused
here too, before its query is parsed.

Most polls repeat a request already answered: the same feed, the same headers. RepeatAnswers,
ahead of ProxyFix, keeps the answers given from a cached body by the raw request values they
depend on, and gives one again while its body is still the one cached under its key at the
current generation, checked on every request as the first answer was found: the generation
read, the cache looked up (which marks the feed used and counts the hit), the request counted.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from flask import Response

from store import StoreError
from web.cache import CachedFeed
from web.errors import busy
from web.feed_routes import respond
from web.params import BadFeedRequest, NoSuchFeed, read_feed_request
from web.service import Service

_REASONS = {200: "200 OK", 304: "304 Not Modified"}
Answer = tuple[int, list[tuple[str, str]], bytes]
# The raw request values an answer from a cached body depends on: which feed (path, query)
# and the headers web.conditional reads; unless base_url is set, also those the links' base
# URL is made of (web.forwarded, read after ProxyFix from these).
_REQUEST_FIELDS = (
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_ACCEPT_ENCODING",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
)
_BASE_FIELDS = (
    "wsgi.url_scheme",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_HOST",
    "HTTP_X_FORWARDED_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
)
SHAPE = "paperfeed.request_shape"  # the environ key RepeatAnswers leaves them under
KNOWN_ANSWERS = 512  # answers kept at most (all are forgotten when full)
KNOWN_SHAPE_CHARS = 2048  # a request whose values are longer is answered, not kept


class Known:
    """An answer given from a cached body, and what it holds for: that body (weakly: the
    cache decides how long it lives) under key, whose last part is its generation."""

    __slots__ = ("counter", "feed", "fmt", "headers", "key", "part", "status", "topic")

    def __init__(
        self,
        key: tuple[Hashable, ...],
        fmt: str,
        topic: str | None,
        cached: CachedFeed,
        answer: Answer,
        counter: Any,
    ) -> None:
        status, headers, body = answer
        self.key, self.fmt, self.topic, self.counter = key, fmt, topic, counter
        self.feed = weakref.ref(cached)
        self.status, self.headers = status, tuple(headers)
        # Which of the body's bytes it sends (None: none, a 304).
        self.part = "gzipped" if body is cached.gzipped else "body" if body else None


class FastFeeds:
    def __init__(self, app: Callable[..., Iterable[bytes]], svc: Service) -> None:
        self.app = app
        self.svc = svc
        self.known: dict[tuple[str | None, ...], Known] = {}  # by request shape (SHAPE)

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
        return _send(answer, environ, start_response)

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
        except (NoSuchFeed, BadFeedRequest, UnicodeDecodeError):
            return None  # the route says what is wrong
        key = svc.feed_key(asked, environ)
        cached = svc.cache.peek(key)
        if cached is not None:
            return self._respond(environ, key, fmt, None if asked.is_search else name, cached)
        if asked.is_search and not svc.search_slot_free():
            # A client that asks again at once should cost the worker as little as
            # possible. (A malformed query gets this 503 too, and its 400 once a slot is free.)
            return busy("searches")
        return None

    def _respond(
        self,
        environ: dict[str, Any],
        key: tuple[Hashable, ...],
        fmt: str,
        topic: str | None,
        cached: CachedFeed,
    ) -> Answer:
        """The route's answer from cached (respond counts it), kept for requests of the same
        shape when RepeatAnswers gave one."""
        answer = respond(self.svc, fmt, cached, _header_of(environ))
        shape = environ.get(SHAPE)
        if shape is not None and sum(len(value) for value in shape if value) <= KNOWN_SHAPE_CHARS:
            known = self.known
            if len(known) >= KNOWN_ANSWERS:  # many hosts, queries or validators: start again
                known.clear()
            counter = self.svc.metrics.feed_request_counter(fmt, answer[0])
            known[shape] = Known(key, fmt, topic, cached, answer, counter)
        return answer

    def repeat(self, known: Known, environ: dict[str, Any]) -> Answer | None:
        """known's answer again (counted as respond counts it) when the request would find
        the same body: its key is that of the current generation and the cache still holds
        it there. None: the request is answered anew."""
        svc = self.svc
        try:
            topic = known.topic
            generation = svc.generation() if topic is None else svc.topic_generation(topic)
        except StoreError:
            return None
        key = known.key
        if generation != key[-1]:
            return None
        cached = svc.cache.peek(key)
        if cached is None:
            return None
        if cached is not known.feed():  # another body under the same key: answer from it
            return self._respond(environ, key, known.fmt, known.topic, cached)
        known.counter.inc()
        part = known.part
        return known.status, list(known.headers), b"" if part is None else getattr(cached, part)


class RepeatAnswers:
    """WSGI middleware ahead of ProxyFix and RequestLimits: a GET or HEAD of a feed shaped like
    one FastFeeds answered from a cached body gets that answer again (FastFeeds.repeat).
    Everything else goes on to app, its shape left in the environ for FastFeeds to keep."""

    def __init__(self, app: Callable[..., Iterable[bytes]], feeds: FastFeeds) -> None:
        self.app, self.feeds = app, feeds
        fixed = feeds.svc.request_base.fixed  # the base URL does not depend on the request
        self.fields = _REQUEST_FIELDS if fixed else _REQUEST_FIELDS + _BASE_FIELDS

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        length = environ.get("CONTENT_LENGTH")  # any body at all: RequestLimits decides
        if (
            (method == "GET" or method == "HEAD")
            and (not length or length == "0")
            and environ.get("PATH_INFO", "").startswith("/feeds/")
        ):
            shape = environ[SHAPE] = tuple(map(environ.get, self.fields))
            known = self.feeds.known.get(shape)
            if known is not None:
                answer = self.feeds.repeat(known, environ)
                if answer is not None:
                    return _send(answer, environ, start_response)
        return self.app(environ, start_response)


def _send(answer: Answer, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    status, headers, body = answer
    start_response(_REASONS[status], headers)
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def _args(environ: dict[str, Any]) -> Callable[[str], str | None]:
    """A query parameter by its name, its first value, as Flask's request.args.get reads it:
    the raw bytes as UTF-8, an invalid escape left as it is (parse_qsl on the WSGI string
    read raw UTF-8 as Latin-1 and an invalid escape as U+FFFD: `?q=vit%FF` found the feed
    cached for `vit\ufffd`). A query that is not UTF-8 never comes here: web.limits
    answers it 400 ahead of the fast path."""
    query = environ.get("QUERY_STRING")
    if not query:
        return _no_args
    if not query.isascii():
        query = query.encode("latin-1").decode()
    first: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote"):
        first.setdefault(name, value)
    return first.get


def _no_args(_name: str) -> None:
    return None


def _header_of(environ: dict[str, Any]) -> Callable[[str], str | None]:
    """A request header by its name, read straight from the WSGI environ."""
    return lambda name: environ.get("HTTP_" + name.upper().replace("-", "_"))
