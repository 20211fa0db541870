"""Feed routes (topic and search feeds) and OPML: thin over the store, the rules and render."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    request,
    url_for,
)

from feeds import render
from feeds.opml import opml
from topics.query import QueryError
from topics.query import parse as parse_query
from topics.search import QueryTooExpensive
from web.cache import CachedFeed
from web.conditional import answer
from web.service import RenderBusy, SearchBusy, Service

bp = Blueprint("feeds", __name__)


def service() -> Service:
    return current_app.extensions["paperfeed"]  # type: ignore[no-any-return]


def base_url() -> str:
    """The configured base_url, else scheme and host of the request (after ProxyFix)."""
    return service().base_url(request.environ)


def absolute(endpoint: str, **values: str) -> str:
    return base_url() + url_for(endpoint, **values)  # type: ignore[arg-type]


# ---- feeds ------------------------------------------------------------------------------


_DIGITS = re.compile(r"[0-9]{1,19}")


def whole_number(raw: str, low: int, high: int) -> int | None:
    """raw as a whole number from low to high, or None. ASCII digits only: str.isdigit()
    also accepts "²" and "৩", which int() refuses (a 500) or reads as another digit."""
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        return None
    return int(raw)


def limit_param() -> int:
    config = service().config
    raw = request.args.get("limit")
    if raw is None:
        return int(config.feed_items)
    limit = whole_number(raw, 1, config.max_feed_items)
    if limit is None:
        abort(_bad_request(f"limit must be a whole number from 1 to {config.max_feed_items}"))
    return limit


def _bad_request(message: str, **extra: object) -> Response:
    response = jsonify({"error": message, **extra})
    response.status_code = 400
    return response


@bp.route("/feeds/<name>.<fmt>", methods=["GET", "HEAD"])
def feed(name: str, fmt: str) -> Response:
    svc = service()
    if fmt not in render.FORMATS:
        abort(404)
    if name == "search":
        return _search_feed(fmt)
    topic = svc.config.topics.get(name)
    if topic is None:
        abort(404)
    limit = limit_param()
    explicit_limit = "limit" in request.args
    key = topic_key(svc, name, fmt, limit, explicit_limit, request.environ)
    page = base_url()

    def build() -> CachedFeed:
        info = render.FeedInfo(
            key=name,
            title=f"{topic.title} — paperfeed",
            description=topic.description or f"Papers matching {topic.query.text}",
            self_url=f"{page}/feeds/{name}.{fmt}" + (f"?limit={limit}" if explicit_limit else ""),
            page_url=f"{page}/topics/{name}",
            ttl_minutes=max(1, round(svc.config.refresh_minutes)),
        )
        return CachedFeed.of(fmt, info, svc.store.topic_items(name, limit))

    return _send(svc, fmt, svc.feed(key, build))


def topic_key(
    svc: Service, name: str, fmt: str, limit: int, explicit_limit: bool, environ: dict[str, Any]
) -> tuple[object, ...]:
    """The cache key of a topic feed; the route and the fast path both build it here."""
    base = svc.base_url(environ)
    return ("topic", name, fmt, limit, base, explicit_limit, svc.topic_generation(name))


def _search_feed(fmt: str) -> Response:
    svc = service()
    text = request.args.get("q", "")
    try:
        query = parse_query(text)
    except QueryError as error:
        return _bad_request(str(error), column=error.column, query=text[:200])
    limit = limit_param()
    page = base_url()
    info = render.FeedInfo(
        key="search",
        title=f"{text} — paperfeed search",
        description=f"Papers matching {text}",
        self_url=f"{page}/feeds/search.{fmt}?{urlencode({'q': text, 'limit': limit})}",
        page_url=f"{page}/search?{urlencode({'q': text})}",
        ttl_minutes=max(1, round(svc.config.refresh_minutes)),
    )

    def build() -> CachedFeed:
        return svc.search_feed(query, limit, fmt, info)

    key = search_key(svc, fmt, limit, text, request.environ)
    return _send(svc, fmt, svc.cache.get_or_build(key, build))


def search_key(
    svc: Service, fmt: str, limit: int, text: str, environ: dict[str, Any]
) -> tuple[object, ...]:
    """The cache key of a search feed; the route and the fast path both build it here.
    The query's text decides what it means, so the key is known before it is parsed."""
    return ("search", text, fmt, limit, svc.base_url(environ), svc.generation())


@bp.app_errorhandler(QueryTooExpensive)
def too_expensive(error: QueryTooExpensive) -> Response:
    """A search past its budget (settings search_max_rows, search_max_seconds)."""
    response = jsonify({"error": str(error), "query": request.args.get("q", "")[:200]})
    response.status_code = 422
    return response


@bp.app_errorhandler(SearchBusy)
def search_busy(_error: SearchBusy) -> Response:
    status, headers, body = busy_answer()
    return Response(body, status=status, headers=headers)


@bp.app_errorhandler(RenderBusy)
def render_busy(_error: RenderBusy) -> Response:
    status, headers, body = busy_answer("renders")
    return Response(body, status=status, headers=headers)


def busy_answer(what: str = "searches") -> tuple[int, list[tuple[str, str]], bytes]:
    """Every slot of its kind is taken (settings search_concurrency, render_concurrency):
    come back soon. The routes and the fast path all answer so."""
    body = json.dumps({"error": f"too many {what} at once; try again in a few seconds"})
    headers = [
        ("Content-Type", "application/json"),
        ("Retry-After", "2"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    return 503, headers, body.encode()


def respond(
    svc: Service, fmt: str, cached: CachedFeed, header: Callable[[str], str | None]
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body for a cached feed (304 when the reader's copy is current);
    the route and the fast path both answer here."""
    status, headers, body = answer(cached, fmt, header, svc.max_age, svc.request_base.vary)
    svc.metrics.count_feed_request(fmt, status)
    return status, headers, body


def _send(svc: Service, fmt: str, cached: CachedFeed) -> Response:
    status, headers, body = respond(svc, fmt, cached, request.headers.get)
    return Response(body, status=status, headers=headers)


@bp.route("/opml")
def opml_listing() -> Response:
    svc = service()
    body = opml(
        "paperfeed topics",
        [
            (
                topic.title,
                absolute("feeds.feed", name=name, fmt="rss"),
                absolute("pages.topic_page", name=name),
            )
            for name, topic in svc.config.topics.items()
        ],
    )
    return Response(
        body,
        content_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="paperfeed.opml"'},
    )
