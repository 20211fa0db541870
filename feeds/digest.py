"""Digest feeds: one item per day or week, listing the papers that entered a topic (or
matched a search) in it, best first. Readers of a busy topic get one item a day instead of
a hundred.

An item's GUID names its topic and period only, so it never changes: a refresh that brings
nothing new gives the same bytes, and one that brings papers into today's period updates
today's item (its `updated`), never makes a new one. A period with no paper has no item.
Pure like feeds.render: papers and when they entered in, bytes out; no clock is read.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import ClassVar

from feedgen.feed import FeedGenerator

from feeds.items import LINK_LABELS, authors_line, cut, matched_text
from feeds.math import readable
from feeds.render import FeedInfo, _best, _xml_safe
from parsing.text import strip_invalid
from store import StoredPaper

KINDS = ("day", "week")
SHOWN = 25  # papers listed in one item; the rest are counted ("and 12 more")
ITEM_AUTHORS = 3


@dataclass(frozen=True)
class Period:
    """One day (UTC) or one ISO week (Monday to Sunday, UTC)."""

    kind: str
    start: date

    @classmethod
    def of(cls, kind: str, moment: datetime) -> Period:
        day = moment.astimezone(UTC).date()
        return cls(kind, day - timedelta(days=day.weekday()) if kind == "week" else day)

    @property
    def end(self) -> date:
        """The first day after the period."""
        return self.start + timedelta(days=7 if self.kind == "week" else 1)

    @property
    def name(self) -> str:
        """What the GUID names it by: 2026-12-01, or 2026-W49."""
        if self.kind == "day":
            return self.start.isoformat()
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.strftime("%A %Y-%m-%d")
        return f"week of {self.start.isoformat()}"

    def back(self, count: int) -> Period:
        """The period count periods before this one."""
        return Period(
            self.kind, self.start - timedelta(days=(7 if self.kind == "week" else 1) * count)
        )


@dataclass(frozen=True)
class Entered:
    """A paper with when it entered the topic (a search: when paperfeed first saw it)."""

    paper: StoredPaper
    at: datetime


@dataclass(frozen=True)
class DigestItem:
    guid: str
    title: str
    link: str
    html: str
    text: str
    published: datetime
    updated: datetime
    papers: int


def best_first(entries: Sequence[Entered]) -> list[Entered]:
    """Most upvoted first (papers without upvotes after), then newest."""
    return sorted(
        entries,
        key=lambda e: (e.paper.upvotes is None, -(e.paper.upvotes or 0), -e.at.timestamp()),
    )


def digest_items(
    kind: str,
    info: FeedInfo,
    entries: Sequence[Entered],
    period_url: str,
    shown: int = SHOWN,
) -> list[DigestItem]:
    """One item per period holding entries, newest period first. period_url holds
    {since} and {until} (ISO dates): the page listing a whole period."""
    periods: dict[Period, list[Entered]] = {}
    for entry in entries:
        periods.setdefault(Period.of(kind, entry.at), []).append(entry)
    items = []
    for period in sorted(periods, key=lambda p: p.start, reverse=True):
        members = best_first(periods[period])
        link = period_url.format(since=period.start.isoformat(), until=period.end.isoformat())
        count = len(members)
        items.append(
            DigestItem(
                guid=f"urn:paperfeed:digest:{info.key}:{period.name}",
                title=f"{count} paper{'' if count == 1 else 's'}, {period.label}",
                link=link,
                html=_html(members[:shown], count - shown, link, info),
                text=_text(members[:shown], count - shown, link, info),
                published=datetime.combine(period.start, time(), UTC),
                updated=max(e.at for e in members),
                papers=count,
            )
        )
    return items


def period_item(
    period: Period, info: FeedInfo, entries: Sequence[Entered], period_url: str
) -> DigestItem | None:
    """The item of one period (what its digest feed shows for it), or None when no entry
    falls in it: what a mailed digest sends."""
    start = datetime.combine(period.start, time(), UTC)
    end = datetime.combine(period.end, time(), UTC)
    inside = [e for e in entries if start <= e.at < end]
    items = digest_items(period.kind, info, inside, period_url)
    return items[0] if items else None


def _html(members: Sequence[Entered], more: int, link: str, info: FeedInfo) -> str:
    rows = []
    for entry in members:
        paper = entry.paper
        links = info.links(paper)
        title = html.escape(readable(paper.title) or "(untitled)")
        line = f'<a href="{html.escape(_best(paper, links), quote=True)}">{title}</a>'
        facts = []
        if paper.authors:
            facts.append(html.escape(authors_line(paper, ITEM_AUTHORS)))
        if paper.published is not None:
            facts.append(f"published {paper.published.astimezone(UTC).date().isoformat()}")
        if paper.upvotes is not None:
            facts.append(f"{paper.upvotes} upvote{'' if paper.upvotes == 1 else 's'}")
        anchors = " · ".join(
            f'<a href="{html.escape(url, quote=True)}">{LINK_LABELS[kind]}</a>'
            for kind, url in links.items()
        )
        parts = [line]
        if facts:
            parts.append(f"<br>{' · '.join(facts)}")
        if paper.matched:
            parts.append(f"<br>Matched: {html.escape(matched_text(paper))}")
        if anchors:
            parts.append(f"<br>{anchors}")
        rows.append(f"<li>{''.join(parts)}</li>")
    body = f"<ol>{''.join(rows)}</ol>"
    if more > 0:
        body += f'<p><a href="{html.escape(link, quote=True)}">and {more} more</a></p>'
    return _xml_safe(body)


def _text(members: Sequence[Entered], more: int, link: str, info: FeedInfo) -> str:
    blocks = []
    for number, entry in enumerate(members, 1):
        paper = entry.paper
        lines = [f"{number}. {readable(paper.title)}"]
        if paper.authors:
            lines.append(f"   {authors_line(paper, ITEM_AUTHORS)}")
        if paper.matched:
            lines.append(f"   Matched: {matched_text(paper)}")
        lines.append(f"   {_best(paper, info.links(paper))}")
        blocks.append("\n".join(lines))
    if more > 0:
        blocks.append(f"and {more} more: {link}")
    return strip_invalid("\n\n".join(blocks))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class DigestFeed:
    """Digest items in one of the formats (RSS 2.0, Atom 1.0, JSON Feed 1.1)."""

    content_types: ClassVar[dict[str, str]] = {
        "rss": "application/rss+xml; charset=utf-8",
        "atom": "application/atom+xml; charset=utf-8",
        "json": "application/feed+json; charset=utf-8",
    }

    def __init__(self, kind: str, info: FeedInfo, items: Sequence[DigestItem]) -> None:
        self.kind, self.info, self.items = kind, info, items

    @property
    def updated(self) -> datetime:
        return max((item.updated for item in self.items), default=datetime(1970, 1, 1, tzinfo=UTC))

    def to_bytes(self, fmt: str) -> bytes:
        if fmt == "json":
            return self._json()
        feed = self._generator(fmt)
        return feed.rss_str(pretty=False) if fmt == "rss" else feed.atom_str(pretty=False)  # type: ignore[no-any-return]

    def _title(self) -> str:
        return f"{self.info.title} ({'daily' if self.kind == 'day' else 'weekly'} digest)"

    def _generator(self, fmt: str) -> FeedGenerator:
        info = self.info
        feed = FeedGenerator()
        feed.id(info.self_url)
        feed.title(_xml_safe(self._title()))
        feed.description(_xml_safe(info.description) or _xml_safe(info.title))
        feed.subtitle(_xml_safe(info.description) or _xml_safe(info.title))
        feed.link(href=info.self_url, rel="self")
        feed.link(href=info.page_url, rel="alternate", type="text/html")
        feed.author({"name": "paperfeed"})  # a digest is paperfeed's own writing
        feed.language("en")
        feed.ttl(info.ttl_minutes)
        feed.generator("paperfeed", uri="https://github.com/paperfeed/paperfeed")
        feed.lastBuildDate(self.updated)
        feed.updated(self.updated)
        for item in self.items:
            entry = feed.add_entry(order="append")
            entry.id(item.guid)
            entry.guid(item.guid, permalink=False)
            entry.title(_xml_safe(item.title))
            entry.link(href=item.link, rel="alternate", type="text/html")
            if fmt == "rss":  # the body once, as in topic feeds
                entry.description(item.html)
            else:
                entry.content(item.html, type="html")
            entry.published(item.published)
            entry.updated(item.updated)
        return feed

    def _json(self) -> bytes:
        info = self.info
        document = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": strip_invalid(self._title()),
            "home_page_url": strip_invalid(info.page_url),
            "feed_url": strip_invalid(info.self_url),
            "description": strip_invalid(info.description or info.title),
            "language": "en",
            "authors": [{"name": "paperfeed"}],
            "items": [
                {
                    "id": item.guid,
                    "url": item.link,
                    "title": item.title,
                    "content_html": item.html,
                    "content_text": item.text,
                    "summary": cut(item.text.replace("\n", " "), 500),
                    "date_published": _iso(item.published),
                    "date_modified": _iso(item.updated),
                    "_paperfeed": {"papers": item.papers},
                }
                for item in self.items
            ],
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def since(kind: str, newest: datetime, periods: int) -> datetime:
    """The start of the oldest of `periods` periods ending with the one holding newest:
    what a digest of that many periods reads from."""
    first = Period.of(kind, newest).back(periods - 1)
    return datetime.combine(first.start, time(), UTC)
