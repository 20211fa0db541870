"""Feed routes (topic and search feeds) and OPML: thin over the store, the rules and render."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, request, url_for

from feeds.opml import opml
from feeds.render import FeedInfo
from topics.query import QueryError
from topics.search import QueryTooExpensive
from web import digests, feedback
from web.cache import CachedFeed
from web.conditional import answer
from web.errors import busy, json_error
from web.params import BadFeedRequest, FeedRequest, NoSuchFeed, read_feed_request
from web.service import RenderBusy, SearchBusy, Service, service

bp = Blueprint("feeds", __name__)


def base_url() -> str:
    """The configured base_url, else scheme and host of the request (after ProxyFix)."""
    return service().base_url(request.environ)


def absolute(endpoint: str, **values: str) -> str:
    return base_url() + url_for(endpoint, **values)  # type: ignore[arg-type]


# ---- feeds ------------------------------------------------------------------------------


@bp.route("/feeds/<name>.<fmt>", methods=["GET", "HEAD"])
def feed(name: str, fmt: str) -> Response:
    svc = service()
    try:
        asked = read_feed_request(name, fmt, request.args.get, svc.config)
    except NoSuchFeed:
        abort(404)
    except BadFeedRequest as error:
        return json_error(400, str(error), error.details)
    key = svc.feed_key(asked, request.environ)
    info = feed_info(svc, asked, base_url())
    if asked.digest:
        return _send(svc, fmt, _digest(svc, asked, info, key))
    if asked.is_search:
        query = asked.query
        assert query is not None  # read_feed_request parsed it

        def search() -> CachedFeed:
            return svc.search_feed(query, asked.limit, fmt, info, asked.order)

        # Searches have slots of their own (search_concurrency), not the render slots.
        return _send(svc, fmt, svc.cache.get_or_build(key, search))

    def build() -> CachedFeed:
        items = svc.store.topic_items(name, asked.limit, order=asked.order)
        return CachedFeed.of(fmt, info, feedback.with_links(svc, name, items, base_url()))

    return _send(svc, fmt, svc.feed(key, build))


def _digest(svc: Service, asked: FeedRequest, info: FeedInfo, key: Hashable) -> CachedFeed:
    """A digest feed (?digest=day|week), cached like the feed it digests."""
    base = base_url()
    if asked.is_search:
        return svc.cache.get_or_build(key, lambda: digests.search_digest(svc, asked, info, base))
    return svc.feed(key, lambda: digests.topic_digest(svc, asked, info, base))


def feed_info(svc: Service, asked: FeedRequest, page: str) -> FeedInfo:
    """What the feed asked for says about itself; page: the base URL of its links."""
    ttl = max(1, round(svc.config.refresh_minutes))
    fmt, limit = asked.fmt, asked.limit
    if asked.is_search:
        text = asked.text
        return FeedInfo(
            # Each search is a feed of its own: its items' GUIDs are its own too.
            key=f"search-{hashlib.sha1(text.encode()).hexdigest()[:12]}",
            title=f"{text} — paperfeed search",
            description=f"Papers matching {text}",
            self_url=f"{page}/feeds/search.{fmt}?{urlencode({'q': text, 'limit': limit})}"
            + (f"&digest={asked.digest}" if asked.digest else "")
            + ("&order=relevance" if asked.order == "relevance" else ""),
            page_url=f"{page}/search?{urlencode({'q': text})}"
            + ("&order=relevance" if asked.order == "relevance" else ""),
            ttl_minutes=ttl,
            papers_url=f"{page}/papers/",
        )
    name = asked.name
    default = svc.config.topics[name].order
    return digests.topic_info(
        svc.config, name, page, f"{page}/feeds/{name}.{fmt}" + _self_query(asked, default)
    )


def _self_query(asked: FeedRequest, default: str) -> str:
    """A topic feed's own query string: ?limit= when given, ?digest= when asked, ?order=
    when not the topic's own (a reader that follows the self link keeps the order)."""
    query = {"limit": str(asked.limit)} if asked.explicit_limit else {}
    query |= {"digest": asked.digest} if asked.digest else {}
    query |= {"order": asked.order} if asked.order != default else {}
    return f"?{urlencode(query)}" if query else ""


@bp.app_errorhandler(QueryTooExpensive)
def too_expensive(error: QueryTooExpensive) -> Response:
    """A search past its budget (settings search_max_rows, search_max_seconds)."""
    return json_error(422, str(error), {"query": request.args.get("q", "")[:200]})


@bp.app_errorhandler(QueryError)
def unusable_query(error: QueryError) -> Response:
    """A query that parsed but cannot run: a like: of a paper the store does not hold."""
    return json_error(400, str(error), {"query": request.args.get("q", "")[:200]})


@bp.app_errorhandler(SearchBusy)
def search_busy(_error: SearchBusy) -> Response:
    return busy("searches")


@bp.app_errorhandler(RenderBusy)
def render_busy(_error: RenderBusy) -> Response:
    return busy("renders")


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
