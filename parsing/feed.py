"""Any RSS or Atom feed, read with feedparser; arXiv ids are picked out of ids and links."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

import feedparser

from parsing.errors import ParseError, ParseResult
from parsing.model import Paper, arxiv_id_from, make_paper
from parsing.text import plain_text

_TRUNCATED = ("no element found", "unclosed token")


def read_feed(body: bytes) -> Any:
    """Parse bytes with feedparser; a body that is not a feed at all is a ParseError."""
    parsed = feedparser.parse(body, sanitize_html=True, resolve_relative_uris=False)
    problem = str(parsed.get("bozo_exception", ""))
    if parsed.bozo and any(sign in problem for sign in _TRUNCATED):
        # A body cut off mid-transfer: its last entry may be cut too. Keep the last good data.
        raise ParseError(f"truncated feed: {problem}")
    if parsed.bozo and not parsed.entries:
        raise ParseError(f"not a readable feed: {parsed.get('bozo_exception')}")
    if not parsed.get("version") and not parsed.entries:
        # An HTML error page served with status 200 lands here.
        raise ParseError("not an RSS or Atom feed")
    return parsed


def parse(body: bytes) -> ParseResult:
    """Read every entry of a feed as a paper."""
    result = ParseResult()
    for index, entry in enumerate(read_feed(body).entries):
        try:
            result.papers.append(paper_from_entry(entry))
        except (ValueError, TypeError, AttributeError) as error:
            result.skip(f"entry {index}", str(error))
    return result


def paper_from_entry(entry: Any, *, abstract: str | None = None) -> Paper:
    links = [entry.get("id"), entry.get("link")] + [x.get("href") for x in entry.get("links", [])]
    arxiv_id = next((found for found in map(arxiv_id_from, links) if found), None)
    title = entry.get("title")
    if "html" in (entry.get("title_detail") or {}).get("type", ""):
        title = plain_text(title)  # type="html" titles: keep the words, not the markup
    return make_paper(
        title=title,
        abstract=abstract if abstract is not None else plain_text(entry.get("summary")),
        arxiv_id=arxiv_id,
        authors=entry_authors(entry),
        categories=[t.get("term") for t in entry.get("tags", []) if t.get("term")],
        url=entry.get("link"),
        published=entry_time(entry),
    )


def entry_authors(entry: Any) -> list[str]:
    names = [a.get("name", "") for a in entry.get("authors", []) if a.get("name")]
    # rss.arxiv.org puts every author in one dc:creator, comma separated.
    if len(names) == 1 and "," in names[0]:
        names = [n.strip() for n in names[0].split(",")]
    return names


def entry_time(entry: Any) -> datetime | None:
    # dict.get: FeedParserDict.get("updated_parsed") falls back with a DeprecationWarning.
    parsed = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
