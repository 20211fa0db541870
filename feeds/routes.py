"""Feed routes, the index page, topic previews and OPML: thin over store, query and render."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup, escape

from feeds import render
from feeds.cache import CachedFeed
from feeds.conditional import answer
from feeds.service import Service
from parsing.text import WORD, fold, stem
from store import StoredPaper, TopicSummary
from topics import search
from topics.query import And, Node, Or, Query, QueryError, Words, format_matches
from topics.query import parse as parse_query

bp = Blueprint("feeds", __name__)


def service() -> Service:
    return current_app.extensions["paperfeed"]  # type: ignore[no-any-return]


def base_url() -> str:
    """The configured base_url, else scheme and host of the request (after ProxyFix)."""
    return service().base_url(request.environ)


def absolute(endpoint: str, **values: str) -> str:
    return base_url() + url_for(endpoint, **values)  # type: ignore[arg-type]


# ---- feeds ------------------------------------------------------------------------------


def _limit() -> int:
    config = service().config
    raw = request.args.get("limit")
    if raw is None:
        return int(config.feed_items)
    if not raw.isdigit() or not 1 <= int(raw) <= config.max_feed_items:
        abort(_bad_request(f"limit must be a whole number from 1 to {config.max_feed_items}"))
    return int(raw)


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
    limit = _limit()
    generation = svc.generation()
    page = base_url()
    explicit_limit = "limit" in request.args

    def build() -> CachedFeed:
        info = render.FeedInfo(
            key=name,
            title=f"{topic.title} — paperfeed",
            description=topic.description or f"Papers matching {topic.query.text}",
            self_url=f"{page}/feeds/{name}.{fmt}" + (f"?limit={limit}" if explicit_limit else ""),
            page_url=f"{page}/topics/{name}",
            ttl_minutes=max(1, round(svc.config.refresh_minutes)),
        )
        items = svc.store.topic_items(name, limit)
        return CachedFeed.build(
            render.render(fmt, info, items), render.last_updated(items), len(items)
        )

    key = topic_key(name, fmt, limit, page, explicit_limit, generation)
    return _send(svc, fmt, svc.cache.get_or_build(key, build))


def topic_key(name: str, fmt: str, limit: int, page: str, explicit: bool, generation: int) -> tuple:  # type: ignore[type-arg]
    """The cache key of a topic feed (the fast path builds the same one)."""
    return ("topic", name, fmt, limit, page, explicit, generation)


def _search_feed(fmt: str) -> Response:
    svc = service()
    text = request.args.get("q", "")
    try:
        query = parse_query(text)
    except QueryError as error:
        return _bad_request(str(error), column=error.column, query=text[:200])
    limit = _limit()
    generation = svc.generation()
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
        items = search.newest(svc.store.iter_papers(), query, limit)
        return CachedFeed.build(
            render.render(fmt, info, items), render.last_updated(items), len(items)
        )

    key = ("search", query.canonical, fmt, limit, page, text, generation)
    return _send(svc, fmt, svc.cache.get_or_build(key, build))


def _send(svc: Service, fmt: str, cached: CachedFeed) -> Response:
    """Answer with the cached body, or 304 when the reader's copy is current."""
    status, headers, body = answer(cached, fmt, request.headers.get, svc.max_age)
    svc.metrics.count_feed_request(fmt, status)
    return Response(body, status=status, headers=headers)


# ---- pages ------------------------------------------------------------------------------


def _feed_links(name: str) -> dict[str, str]:
    return {fmt: absolute("feeds.feed", name=name, fmt=fmt) for fmt in render.FORMATS}


@bp.route("/")
def index() -> str:
    svc = service()
    summaries = svc.store.topic_summaries()
    topics = [
        {
            "name": name,
            "title": topic.title,
            "query": topic.query.text,
            "description": topic.query.describe(),
            "summary": summaries.get(name, TopicSummary(0, None, None)),
            "links": _feed_links(name),
        }
        for name, topic in svc.config.topics.items()
    ]
    return render_template(
        "index.html",
        topics=topics,
        sources=_source_rows(svc),
        papers=svc.store.count_papers(),
        opml_url=absolute("feeds.opml_listing"),
        search_base=absolute("feeds.feed", name="search", fmt="rss"),
    )


def _source_rows(svc: Service) -> list[dict[str, object]]:
    states = svc.store.source_states()
    rows = []
    for source in svc.config.sources:
        state = states.get(source.name)
        rows.append(
            {
                "name": source.name,
                "kind": source.kind,
                "enabled": source.enabled,
                "last_success": state.last_success if state else None,
                "last_error": state.last_error if state and state.failing else None,
                "papers": state.papers_seen if state else 0,
            }
        )
    return rows


@bp.route("/topics/<name>")
def topic_page(name: str) -> str:
    svc = service()
    topic = svc.config.topics.get(name)
    if topic is None:
        abort(404)
    items = svc.store.topic_items(name, _limit())
    return render_template(
        "topic.html",
        topic=topic,
        items=[_item_view(p, topic.query) for p in items],
        links=_feed_links(name),
        description=topic.query.describe(),
    )


@bp.route("/search")
def search_page() -> Response | str:
    svc = service()
    text = request.args.get("q", "")
    try:
        query = parse_query(text)
    except QueryError as error:
        return Response(
            render_template("search.html", q=text, error=str(error), items=[], links={}),
            status=400,
        )
    items = search.newest(svc.store.iter_papers(), query, _limit())
    links = {
        fmt: absolute("feeds.feed", name="search", fmt=fmt) + "?" + urlencode({"q": text})
        for fmt in render.FORMATS
    }
    return render_template(
        "search.html",
        q=text,
        error=None,
        description=query.describe(),
        items=[_item_view(p, query) for p in items],
        links=links,
    )


def _item_view(paper: StoredPaper, query: Query) -> dict[str, object]:
    marker = highlighter(query)
    return {
        "paper": paper,
        "link": render.paper_link(paper),
        "title": marker(paper.title),
        "abstract": marker(paper.abstract),
        "matched": format_matches(list(paper.matched)),
    }


def _positive_words(node: Node) -> list[Words]:
    if isinstance(node, Words):
        return [node]
    if isinstance(node, And | Or):
        return [w for child in node.children for w in _positive_words(child)]
    return []


def highlighter(query: Query) -> Callable[[str], Markup]:
    """Wrap the words of text that the query's (positive) terms look for in <mark>."""
    stems = {
        s for w in _positive_words(query.root) for s in (w.stems[:-1] if w.prefix else w.stems)
    }
    prefixes = tuple(w.stems[-1] for w in _positive_words(query.root) if w.prefix)

    def mark(text: str) -> Markup:
        out: list[str] = []
        last = 0
        for match in WORD.finditer(text):
            word = fold(match.group(0))
            out.append(str(escape(text[last : match.start()])))
            piece = str(escape(match.group(0)))
            if stem(word) in stems or (prefixes and word.startswith(prefixes)):
                piece = f"<mark>{piece}</mark>"
            out.append(piece)
            last = match.end()
        out.append(str(escape(text[last:])))
        return Markup("".join(out))

    return mark


@bp.route("/opml")
def opml_listing() -> Response:
    svc = service()
    body = render.opml(
        "paperfeed topics",
        [
            (
                topic.title,
                absolute("feeds.feed", name=name, fmt="rss"),
                absolute("feeds.topic_page", name=name),
            )
            for name, topic in svc.config.topics.items()
        ],
    )
    return Response(
        body,
        content_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="paperfeed.opml"'},
    )
