"""HTML pages: the index, a topic's papers, the search page and "why does this match?".

Server-rendered, no JavaScript (paging by links, abstracts in <details>), one stylesheet.
"""

from __future__ import annotations

import functools
import re
import shlex
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, render_template, request, url_for

from feeds import render
from feeds.items import (
    LINK_LABELS,
    authors_line,
    best_link,
    paper_links,
    shown_authors,
    version_mark,
)
from feeds.math import readable
from refresh.redact import redact_text
from store import StoredPaper, TopicSummary
from topics import searchbox
from topics.analysis import Document
from topics.hints import few_similar, hints
from topics.query import Query, QueryError, format_matches
from topics.search import QueryTooExpensive
from topics.why import exclusions
from web import feedback
from web.errors import unknown
from web.feed_routes import absolute
from web.highlight import Highlighter
from web.params import BadFeedRequest, read_order, whole_number
from web.service import Service, service

T = TypeVar("T")
pages = Blueprint("pages", __name__, static_folder="static", static_url_path="/static")

PAGE_SIZE = 25
SEARCH_COUNT_LIMIT = 1000  # a search page counts matches up to here ("1000+ papers")
CHART_WEEKS = 52  # the chart covers at least the last year...
CHART_MAX_WEEKS = 156  # ...and back to the oldest paper's week, up to three years
CARD_AUTHORS = 3  # a card names this many authors, then "and N more"


def rendered(view: Callable[..., T]) -> Callable[..., T]:
    """A page view that runs in one of the process's render slots (all taken: 503), like an
    uncached feed: pages read the database and render on every request."""

    @functools.wraps(view)
    def in_a_slot(*args: object, **kwargs: object) -> T:
        with service().render_slot():
            return view(*args, **kwargs)

    return in_a_slot


def _feed_links(name: str, order: str = "", default: str = "newest") -> dict[str, str]:
    """A topic's feed URLs; order: its page's, so that the page's Subscribe links give the
    order the reader is looking at (upvotes: no feed has that order)."""
    order = "newest" if order == "date" else order
    asked = {"order": order} if order in ("newest", "relevance") and order != default else {}
    return {
        fmt: absolute("feeds.feed", name=name, fmt=fmt) + (f"?{urlencode(asked)}" if asked else "")
        for fmt in render.FORMATS
    }


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
    since = now - timedelta(weeks=CHART_MAX_WEEKS)
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
    """Count papers (by their own date) per week, oldest first: the last CHART_WEEKS weeks,
    or back to the oldest paper's week (CHART_MAX_WEEKS at most), so a store of older
    listings (the bundled captures) still shows its weeks."""
    this_monday = (now - timedelta(days=now.weekday())).date()
    ages = []
    for moment in dates:
        monday = (moment - timedelta(days=moment.weekday())).date()
        age = (this_monday - monday).days // 7
        if 0 <= age < CHART_MAX_WEEKS:
            ages.append(age)
    weeks = max(CHART_WEEKS, max(ages, default=0) + 1)
    counts = [0] * weeks
    for age in ages:
        counts[weeks - 1 - age] += 1
    height, bar = 48, 6
    busiest = max(counts) or 1
    bars = []
    for index, count in enumerate(counts):
        monday = this_monday - timedelta(weeks=weeks - 1 - index)
        size = round(count / busiest * (height - 2)) if count else 0
        bars.append(
            {"x": index * bar, "y": height - size, "height": size, "count": count, "week": monday}
        )
    return Chart(
        bars=bars,
        width=weeks * bar,
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
        "page_url": url_for("papers.paper_page", ref=paper.arxiv_id or paper.doi or paper.guid),
        "href": best_link(paper, links),  # the same page the feed item opens
        # TeX in a title shows as text (feeds.math); such a title is shown unmarked.
        "title": marker("title", paper.title, paper.matched)
        if readable(paper.title) == paper.title
        else readable(paper.title),
        "abstract": marker("abstract", paper.abstract, paper.matched),
        "snippet": marker.snippet("abstract", paper.abstract, paper.matched),
        "authors": authors_line(paper, shown=CARD_AUTHORS),
        "all_authors": ", ".join(paper.authors)
        if len(paper.authors) > len(shown_authors(paper, CARD_AUTHORS)[0])
        else None,
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
        unknown(f"Page {number} is past the last page.", first=request.path)

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

SORTS = {"date": "newest", "upvotes": "most upvoted", "relevance": "most relevant"}


def _sort(known: tuple[str, ...]) -> str:
    """?sort=, one of known (400 for another)."""
    raw = request.args.get("sort", "date")
    if raw in known:
        return raw
    abort(
        Response(
            f"sort must be one of {', '.join(known)}, not {raw[:20]!r}",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    )


def _sort_links(
    order: str, args: dict[str, str], default: str = "date"
) -> list[tuple[str, str | None]]:
    """(label, URL or None for the order shown) for each order a page offers. The page's
    own order (a topic's `order`) goes without ?sort=; another, newest too, is asked for."""
    order = "date" if order == "newest" else order
    default = "date" if default == "newest" else default
    links: list[tuple[str, str | None]] = []
    for name in ("date", "upvotes", "relevance"):
        query = {k: v for k, v in args.items() if k not in ("sort", "order")} | (
            {"sort": name} if name != default else {}
        )
        url = request.path + (f"?{urlencode(query)}" if query else "")
        links.append((SORTS[name], None if name == order else url))
    return links


def _entered() -> tuple[tuple[datetime, datetime] | None, tuple[str, str] | None]:
    """?since=YYYY-MM-DD&until=YYYY-MM-DD (a digest's period): papers that entered the
    topic on since up to the day before until; 400 when either is not a date."""
    since, until = request.args.get("since"), request.args.get("until")
    if not since and not until:
        return None, None
    try:
        start = datetime.fromisoformat(since or "1970-01-01").replace(tzinfo=UTC)
        end = datetime.fromisoformat(until or "2200-01-01").replace(tzinfo=UTC)
    except ValueError:
        abort(Response("since and until must be dates: YYYY-MM-DD", status=400))
    return (start, end), (start.date().isoformat(), (end - timedelta(days=1)).date().isoformat())


@pages.route("/topics/<name>")
@rendered
def topic_page(name: str) -> str:
    svc = service()
    topic = svc.config.topics.get(name)
    if topic is None:
        unknown(f"No topic is named {name!r}.")
    number = _page_number()
    # ?sort=date|upvotes|relevance, else ?order=newest|relevance, else the topic's order.
    order = _sort(svc.store.topic_orders()) if request.args.get("sort") else _order(topic.order)
    entered, period = _entered()
    total = svc.per_generation(("size", name, period), lambda: svc.store.topic_size(name, entered))
    if number > 1 and (number - 1) * PAGE_SIZE >= total:  # past the last page: nothing to read
        last = max(1, -(-total // PAGE_SIZE))
        unknown(
            f"{topic.title} has {last} page{'s' if last > 1 else ''}, not {number}.",
            first=request.path,
        )
    offset = (number - 1) * PAGE_SIZE
    items = svc.store.topic_items(name, PAGE_SIZE, offset, order=order, entered=entered)
    items = feedback.with_links(svc, name, items, "")
    trained = [  # the readers' more / less like this, each undoable
        (kind, ref, feedback.link(svc, name, ref, "none"))
        for ref, kind in (svc.store.feedback(name) if svc.config.feedback_secret else {}).items()
    ]
    args = {k: v for k, v in request.args.items() if k in ("sort", "order", "since", "until") and v}
    paging = _paging(number, total, len(items), number * PAGE_SIZE < total, **args)
    marker = Highlighter(topic.query)
    return render_template(
        "topic.html",
        sorts=_sort_links(order, args, topic.order),
        period=period,
        topic=topic,
        cards=[
            paper_card(p, marker, url_for("pages.why", topic=name, paper=p.guid)) for p in items
        ],
        paging=paging,
        links=_feed_links(name, order, topic.order),
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
        query, notes = searchbox.read(text)
    except QueryError as error:
        return Response(
            render_template("search.html", q=text, error=error, cards=None),
            status=400,
        )
    number = _page_number(last=_search_pages(svc))  # before searching: no page past them
    # ?sort=date|upvotes|relevance, else ?order=newest|relevance (as on a topic's page)
    order = _sort(("date", "upvotes", "relevance")) if request.args.get("sort") else "date"
    order = "relevance" if order == "date" and _order("newest") == "relevance" else order
    start = (number - 1) * PAGE_SIZE
    try:  # through the text index, within the search budget, like the search feed
        ranked = "relevance" if order == "relevance" else "newest"
        counted = svc.search(query, SEARCH_COUNT_LIMIT + 1, ranked)
    except QueryError as error:  # a like: of a paper the store does not hold
        return Response(render_template("search.html", q=text, error=error, cards=None), status=400)
    except QueryTooExpensive as error:
        return Response(
            render_template("search.html", q=text, too_expensive=str(error), cards=None),
            status=422,
        )
    total = len(counted) if len(counted) <= SEARCH_COUNT_LIMIT else None
    if total is not None:
        notes += few_similar(query, total)
    shown = counted[:SEARCH_COUNT_LIMIT]  # the one past it only says "more than"
    if order == "upvotes":  # the papers it shows, most upvoted first (stable: newest next)
        shown = sorted(shown, key=lambda p: (p.upvotes is None, -(p.upvotes or 0)))
    window = shown[start : start + PAGE_SIZE]
    has_more = start + PAGE_SIZE < len(shown)
    args = {"q": text, **({"sort": order} if order != "date" else {})}
    paging = _paging(number, total, len(window), has_more, **args)
    marker = Highlighter(query)
    ordered = {"order": "relevance"} if order == "relevance" else {}
    links = {
        fmt: absolute("feeds.feed", name="search", fmt=fmt) + "?" + urlencode({"q": text} | ordered)
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
        hints=notes,
        cards=cards,
        paging=paging,
        links=links,
        sorts=_sort_links(order, args),
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


_REASONS = (
    (
        re.compile(r"excluded by NOT \((.*)\): found (.*)$"),
        "The rule leaves out papers where {0}; this one has {1}.",
    ),
    (re.compile(r"not true: (.*)$"), "The rule asks that {0}; this paper does not."),
    (
        re.compile(r"none of these is true: (.*)$"),
        "The rule asks that {0}; this paper has none of these.",
    ),
)


def plain_reason(reason: str) -> str:
    """What kept a paper out, said plainly (the rule's own lines are terse: "not true:
    ...", "excluded by NOT (...)"); a line of another shape is kept as it is."""
    for pattern, sentence in _REASONS:
        found = pattern.match(reason)
        if found:
            return sentence.format(*found.groups())
    return reason


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
            unknown(f"No topic is named {name!r}.")
        query, rule = topic.with_feedback(svc.store.feedback(name)), name
    else:
        try:
            query, _ = searchbox.read(text or "")  # as /search read it
        except QueryError as error:
            abort(Response(f"bad query: {error}", status=400))
        rule = text or ""
    paper = svc.store.find_paper(ref)
    if paper is None:
        unknown(f"No paper {ref!r} is stored here.", search=ref)
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
        reasons=[plain_reason(reason) for reason in exclusions(query, document)],
        command=f"paperfeed explain {shlex.quote(rule)} {shlex.quote(paper.arxiv_id or ref)}",
        hints=hints(query),
    )
