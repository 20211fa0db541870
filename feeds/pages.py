"""HTML pages: the index, a topic's preview and the search page, with matched words marked."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, render_template, request
from markupsafe import Markup, escape

from feeds import render
from feeds.routes import absolute, limit_param, service
from feeds.service import Service
from parsing.text import WORD, fold, stem
from store import StoredPaper, TopicSummary
from topics.query import And, Node, Or, Query, QueryError, Words, format_matches
from topics.query import parse as parse_query

pages = Blueprint("pages", __name__)


def _feed_links(name: str) -> dict[str, str]:
    return {fmt: absolute("feeds.feed", name=name, fmt=fmt) for fmt in render.FORMATS}


@pages.route("/")
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


@pages.route("/topics/<name>")
def topic_page(name: str) -> str:
    svc = service()
    topic = svc.config.topics.get(name)
    if topic is None:
        abort(404)
    items = svc.store.topic_items(name, limit_param())
    return render_template(
        "topic.html",
        topic=topic,
        items=[_item_view(p, topic.query) for p in items],
        links=_feed_links(name),
        description=topic.query.describe(),
    )


@pages.route("/search")
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
    items = svc.search(query, limit_param())
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
