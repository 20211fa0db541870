"""HTML pages: the index, a topic's papers, the search page and "why does this match?".

Server-rendered, no JavaScript (paging by links, abstracts in <details>), one stylesheet.
"""

from __future__ import annotations

import functools
import shlex
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, render_template, request, url_for

from feeds import render
from feeds.items import LINK_LABELS, authors_line, best_link, paper_links, version_mark
from refresh.redact import redact_text
from store import StoredPaper, TopicSummary
from topics.analysis import Document
from topics.hints import hints
from topics.query import Query, QueryError, format_matches
from topics.query import parse as parse_query
from topics.search import QueryTooExpensive
from topics.why import exclusions
from web import feedback
from web.feed_routes import absolute
from web.highlight import Highlighter
from web.params import BadFeedRequest, read_order, whole_number
from web.service import Service, service

T = TypeVar("T")
pages = Blueprint("pages", __name__, static_folder="static", static_url_path="/static")

PAGE_SIZE = 25
SEARCH_COUNT_LIMIT = 1000  # a search page counts matches up to here ("1000+ papers")
CHART_WEEKS = 52
CARD_AUTHORS = 3  # a card names this many authors, then "and N more"


def rendered(view: Callable[..., T]) -> Callable[..., T]:
    """A page view that runs in one of the process's render slots (all taken: 503), like an
    uncached feed: pages read the database and render on every request."""

    @functools.wraps(view)
    def in_a_slot(*args: object, **kwargs: object) -> T:
        with service().render_slot():
            return view(*args, **kwargs)

    return in_a_slot


def _feed_links(name: str) -> dict[str, str]:
    return {fmt: absolute("feeds.feed", name=name, fmt=fmt) for fmt in render.FORMATS}


# ---- the index ----------------------------------------------------------------------------


@pages.route("/")
@rendered
def index() -> str:
    svc = service()
    summaries = svc.per_generation(("summaries",), svc.store.topic_summaries)
    topics = [
        {
            "name": name,
            "title": topic.title,
            "query": topic.query.text,
            "summary": summaries.get(name, TopicSummary(0, None, None)),
            "links": _feed_links(name),
            "hints": hints(topic.query),
        }
        for name, topic in svc.config.topics.items()
    ]
    now = datetime.now(UTC)
    since = now - timedelta(weeks=CHART_WEEKS)
    # The chart of a day (its weeks end on this Monday) is kept, not the year of dates.
    chart = svc.per_generation(
        ("chart", since.date()), lambda: activity_chart(svc.store.paper_dates_since(since), now)
    )
    return render_template(
        "index.html",
        topics=topics,
        sources=_source_rows(svc),
        papers=svc.store.count_papers(),
        chart=chart,
        opml_url=absolute("feeds.opml_listing"),
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
                # Errors stored before redaction existed may still name a secret.
                "last_error": redact_text(state.last_error)
                if state and state.failing and state.last_error
                else None,
                "papers": state.papers_seen if state else 0,
                "health": state.health if state else None,
                "health_reason": state.health_reason if state else None,
            }
        )
    return rows


@dataclass(frozen=True)
class Chart:
    """Papers per week as bars of an inline SVG (no script, no image request)."""

    bars: list[dict[str, object]]
    width: int
    height: int
    total: int
    busiest: int
    first_week: str
    last_week: str


def activity_chart(dates: Iterable[datetime], now: datetime) -> Chart:
    """Count papers (by their own date) in each of the last CHART_WEEKS weeks, oldest first."""
    counts = [0] * CHART_WEEKS
    this_monday = (now - timedelta(days=now.weekday())).date()
    for moment in dates:
        monday = (moment - timedelta(days=moment.weekday())).date()
        age = (this_monday - monday).days // 7
        if 0 <= age < CHART_WEEKS:
            counts[CHART_WEEKS - 1 - age] += 1
    height, bar = 48, 6
    busiest = max(counts) or 1
    bars = []
    for index, count in enumerate(counts):
        monday = this_monday - timedelta(weeks=CHART_WEEKS - 1 - index)
        size = round(count / busiest * (height - 2)) if count else 0
        bars.append(
            {"x": index * bar, "y": height - size, "height": size, "count": count, "week": monday}
        )
    return Chart(
        bars=bars,
        width=CHART_WEEKS * bar,
        height=height,
        total=sum(counts),
        busiest=max(counts),
        first_week=str(bars[0]["week"]),
        last_week=str(this_monday),
    )


# ---- paper cards ----------------------------------------------------------------------------


def paper_card(paper: StoredPaper, marker: Highlighter, why_url: str) -> dict[str, object]:
    """What a card shows: every known link, the paper's own date, what matched, why."""
    links = paper_links(paper)
    return {
        "paper": paper,
        "ref": paper.arxiv_id or paper.guid,
        "href": best_link(paper, links),  # the same page the feed item opens
        "title": marker("title", paper.title, paper.matched),
        "abstract": marker("abstract", paper.abstract, paper.matched),
        "authors": authors_line(paper, shown=CARD_AUTHORS),
        "links": [(LINK_LABELS.get(kind, kind), url) for kind, url in links.items()],
        "date": paper.published or paper.first_seen,
        "date_label": "published" if paper.published else "first seen",
        "version_mark": version_mark(paper),
        "matched": format_matches(list(paper.matched)),
        "why_url": why_url,
    }


@dataclass(frozen=True)
class Paging:
    number: int
    total: int | None  # None: more than SEARCH_COUNT_LIMIT matched
    first: int  # 1-based index of the first item shown
    shown: int
    prev_url: str | None
    next_url: str | None

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // PAGE_SIZE))

    @property
    def summary(self) -> str:
        """'431 papers', or 'more than 1000 papers' when a search stopped counting."""
        if self.total is None:
            return f"more than {SEARCH_COUNT_LIMIT} papers"
        return f"{self.total} paper{'' if self.total == 1 else 's'}"


def _order(default: str) -> str:
    """?order=newest|relevance, else default; anything else is a 400."""
    try:
        return read_order(request.args.get("order"), default)
    except BadFeedRequest as error:
        abort(Response(str(error), status=400))


def _page_number(last: int = 10**9 - 1) -> int:
    raw = request.args.get("page", "1")
    number = whole_number(raw, 1, last)
    if number is None:
        abort(
            Response(f"page must be a whole number from 1 to {last}, not {raw[:20]!r}", status=400)
        )
    return number


def _search_pages(svc: Service) -> int:
    """Pages a search can fill: it shows its first SEARCH_COUNT_LIMIT papers, and one that
    examines more than search_max_rows stops (422), so it never matches more."""
    most = min(SEARCH_COUNT_LIMIT, svc.config.search_max_rows)
    return max(1, -(-most // PAGE_SIZE))


def _paging(number: int, total: int | None, shown: int, has_more: bool, **args: str) -> Paging:
    if number > 1 and shown == 0:
        abort(404)

    def page_url(page: int) -> str:
        query = {**args, **({"page": str(page)} if page > 1 else {})}
        return request.path + (f"?{urlencode(query)}" if query else "")

    return Paging(
        number=number,
        total=total,
        first=(number - 1) * PAGE_SIZE + 1,
        shown=shown,
        prev_url=page_url(number - 1) if number > 1 else None,
        next_url=page_url(number + 1) if has_more else None,
    )


# ---- topic and search pages -------------------------------------------------------------------


@pages.route("/topics/<name>")
@rendered
def topic_page(name: str) -> str:
    svc = service()
    topic = svc.config.topics.get(name)
    if topic is None:
        abort(404)
    number = _page_number()
    total = svc.per_generation(("size", name), lambda: svc.store.topic_size(name))
    if number > 1 and (number - 1) * PAGE_SIZE >= total:
        abort(404)  # past the last page: nothing to read
    order = _order(topic.order)
    items = svc.store.topic_items(name, PAGE_SIZE, offset=(number - 1) * PAGE_SIZE, order=order)
    items = feedback.with_links(svc, name, items, "")
    trained = [  # the readers' more / less like this, each undoable
        (kind, ref, feedback.link(svc, name, ref, "none"))
        for ref, kind in (svc.store.feedback(name) if svc.config.feedback_secret else {}).items()
    ]
    paging = _paging(number, total, len(items), number * PAGE_SIZE < total)
    marker = Highlighter(topic.query)
    return render_template(
        "topic.html",
        topic=topic,
        cards=[
            paper_card(p, marker, url_for("pages.why", topic=name, paper=p.guid)) for p in items
        ],
        paging=paging,
        links=_feed_links(name),
        description=topic.query.describe(),
        hints=hints(topic.query),
        trained=trained,
    )


@pages.route("/search")
def search_page() -> Response | str:
    svc = service()
    text = request.args.get("q", "")
    if not text.strip():
        return render_template("search.html", q="", error=None, cards=None)
    try:
        query = parse_query(text)
    except QueryError as error:
        return Response(
            render_template("search.html", q=text, error=error, cards=None),
            status=400,
        )
    number = _page_number(last=_search_pages(svc))  # before searching: no page past them
    start = (number - 1) * PAGE_SIZE
    try:  # through the text index, within the search budget, like the search feed
        counted = svc.search(query, SEARCH_COUNT_LIMIT + 1, _order("newest"))
    except QueryError as error:  # a like: of a paper the store does not hold
        return Response(render_template("search.html", q=text, error=error, cards=None), status=400)
    except QueryTooExpensive as error:
        return Response(
            render_template("search.html", q=text, too_expensive=str(error), cards=None),
            status=422,
        )
    total = len(counted) if len(counted) <= SEARCH_COUNT_LIMIT else None
    shown = counted[:SEARCH_COUNT_LIMIT]  # the one past it only says "more than"
    window = shown[start : start + PAGE_SIZE]
    has_more = start + PAGE_SIZE < len(shown)
    paging = _paging(number, total, len(window), has_more, q=text)
    marker = Highlighter(query)
    links = {
        fmt: absolute("feeds.feed", name="search", fmt=fmt) + "?" + urlencode({"q": text})
        for fmt in render.FORMATS
    }
    cards = [
        paper_card(paper, marker, url_for("pages.why", q=text, paper=paper.guid))
        for paper in window
    ]
    return render_template(
        "search.html",
        q=text,
        error=None,
        description=query.describe(),
        hints=hints(query),
        cards=cards,
        paging=paging,
        links=links,
    )


def _with_matches(paper: StoredPaper, matched: list[tuple[str, str]]) -> StoredPaper:
    return replace(paper, matched=tuple(matched))


# ---- why does a paper match ------------------------------------------------------------------

PAPER_NUMBER_MAX = 2**63 - 1  # the largest id a database column holds
PAPER_REF_CHARS = 600  # an item id holds at most 500 characters, a DOI 200


def paper_ref(ref: str) -> bool:
    """Whether ref is something the store can look a paper up by. A number it reads as a
    paper's id must be ASCII digits in range: "²" is a digit to str.isdigit() and not to
    int(), and 30 nines overflow SQLite's integers."""
    if len(ref) > PAPER_REF_CHARS or any(unicodedata.category(c) == "Cc" for c in ref):
        return False
    return not ref.isdigit() or whole_number(ref, 0, PAPER_NUMBER_MAX) is not None


@pages.route("/why")
@rendered
def why() -> Response | str:
    """What a rule means for one paper: the words that matched, or what kept it out."""
    svc = service()
    name, text, ref = request.args.get("topic"), request.args.get("q"), request.args.get("paper")
    if not ref or not (name or text):
        abort(Response("give paper= and topic= or q=", status=400))
    if not paper_ref(ref):
        abort(
            Response(
                "paper must be an arXiv id, a DOI, a GUID or a paper number "
                f"(ASCII digits up to {PAPER_NUMBER_MAX}), in {PAPER_REF_CHARS} characters "
                "at most, without control characters",
                status=400,
            )
        )
    query: Query
    if name:
        topic = svc.config.topics.get(name)
        if topic is None:
            abort(404)
        query, rule = topic.with_feedback(svc.store.feedback(name)), name
    else:
        try:
            query = parse_query(text or "")
        except QueryError as error:
            abort(Response(f"bad query: {error}", status=400))
        rule = text or ""
    paper = svc.store.find_paper(ref)
    if paper is None:
        abort(404)
    try:
        query = svc.store.bind(query)
    except QueryError as error:
        abort(Response(f"bad query: {error}", status=400))
    document = Document.of_paper(paper)
    matched = query.explain(document)
    marker = Highlighter(query)
    return render_template(
        "why.html",
        topic_name=name,
        query=query,
        description=query.describe(),
        card=paper_card(_with_matches(paper, matched or []), marker, ""),
        matches=matched is not None,  # `*` and NOT match without naming a word
        matched=format_matches(matched or []),
        reasons=exclusions(query, document),
        command=f"paperfeed explain {shlex.quote(rule)} {shlex.quote(paper.arxiv_id or ref)}",
        hints=hints(query),
    )
