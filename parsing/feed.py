"""Any RSS or Atom feed: streamed with lxml where the body is plain XML (parsing.feed_stream),
read with feedparser where it needs leniency; arXiv ids are picked out of ids and links."""

from __future__ import annotations

import calendar
import functools
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

import feedparser

from parsing import feed_stream
from parsing.errors import ParseError, ParseResult, log
from parsing.model import Paper, arxiv_id_from, doi_from
from parsing.subjects import split_subjects
from parsing.text import plain_text, safe_link, strip_tag_pairs

_TRUNCATED = ("no element found", "unclosed token")
_INFO_DOI = re.compile(r"^info:doi/", re.IGNORECASE)
# Initials as HighWire writes them: "N.", "J. A.", "J.-P.", "Ch.".
_INITIALS = re.compile(r"^[A-Z][a-z]?\.(?:[\s-]*[A-Z][a-z]?\.)*$")


def read_feed(body: bytes) -> Any:
    """Parse bytes with feedparser; a body that is not a feed at all is a ParseError.

    feedparser's sanitizer is off: it reads "$\\frac{1}{3}<s<1$" as a <s> tag and rewrites the
    abstract. Nothing from a feed is ever served as HTML (render escapes every field), and
    markup that really is there is reduced to text once, by plain_text."""
    feed_stream.check_kind(body)
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
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
    for _paper in read(io.BytesIO(body), result):
        pass
    return result


def read(body: BinaryIO, result: ParseResult) -> Iterator[Paper]:
    """Yield the papers of a feed as they are read, streamed, or with feedparser where the
    body needs its leniency. A body found to need it midway is read again from its start
    (what was yielded comes again, in the same order: the same body always gives the same
    sequence, which a resumed refresh counts on); its skipped and dropped notes start over."""
    try:
        yield from _papers(feed_stream.entries(body), result)
        return
    except feed_stream.NeedsLeniency as reason:
        log.info("feed read with feedparser: %s", reason)
    result.papers.clear()
    result.streamed.clear()
    result.skipped.clear()
    result.dropped.clear()
    result.read = 0
    body.seek(0)
    yield from _papers(iter(read_feed(body.read()).entries), result)


def _papers(entries: Iterator[Any], result: ParseResult) -> Iterator[Paper]:
    for index, entry in enumerate(entries):
        paper = result.add(f"entry {index}", **entry_fields(entry))
        if paper is not None:
            yield paper


def entry_fields(entry: Any) -> dict[str, Any]:
    """The make_paper fields of a feed entry; markup in html-typed text is reduced once."""
    return {
        "title": entry_title(entry),
        "abstract": _text_of(entry, "summary"),
        "arxiv_id": entry_arxiv_id(entry),
        "authors": entry_authors(entry),
        "categories": entry_categories(entry),
        # PubMed writes its tracking links with a space in them ("Mobile Safari UI/...").
        "url": link.replace(" ", "%20") if isinstance(link := entry.get("link"), str) else None,
        "published": entry_time(entry),
        "doi": entry_doi(entry),
        # The item's own id; an RSS item without <guid> is known by its link, as readers
        # know it, so that a corrected title is not a new item.
        "item_id": entry.get("id") or safe_link(entry.get("link")),
        "links": [("pdf", link.get("href")) for link in _links(entry) if _is_pdf(link)][:1],
    }


def entry_title(entry: Any) -> str | None:
    """The title as text; publisher markup that HTML lacks (Springer's
    <Emphasis Type="Italic">) goes too, where it comes in opening and closing pairs."""
    title = _text_of(entry, "title")
    return strip_tag_pairs(title) if title and "</" in title else title


def entry_categories(entry: Any) -> list[str]:
    terms = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
    return [subject for term in terms for subject in split_subjects(term)]


def _text_of(entry: Any, name: str) -> str | None:
    value = entry.get(name)
    if not isinstance(value, str):
        return None
    detail = entry.get(f"{name}_detail") or {}
    if not detail and name == "summary" and entry.get("content"):
        detail = entry["content"][0]  # feedparser fills summary from content:encoded
    kind = detail.get("type", "") if isinstance(detail, dict) else ""
    return plain_text(value) if "html" in kind else value


def _links(entry: Any) -> list[Any]:
    return [link for link in entry.get("links", []) if isinstance(link, dict)]


def _is_pdf(link: Any) -> bool:
    return link.get("type") == "application/pdf" or link.get("title") == "pdf"


def entry_arxiv_id(entry: Any) -> str | None:
    candidates = [entry.get("id"), entry.get("link")] + [x.get("href") for x in _links(entry)]
    return next((found for found in map(arxiv_id_from, candidates) if found), None)


def entry_doi(entry: Any) -> str | None:
    """prism:doi, arXiv's <arxiv:doi>, a dc:identifier ("doi:...", "info:doi/..."; every one
    where the stream read them all, feedparser keeps the last), or a doi.org link."""
    identifiers = dict.get(entry, "dc_identifiers") or [dict.get(entry, "dc_identifier")]
    candidates = [dict.get(entry, "prism_doi"), dict.get(entry, "arxiv_doi"), *identifiers]
    candidates += [entry.get("id"), entry.get("link")]
    for candidate in candidates:
        # arxiv:doi may list several DOIs, space separated; the first one names the paper.
        # Every DOI holds "10." (most ids and links do not: no need to look further).
        if isinstance(candidate, str) and "10." in candidate and candidate.strip():
            found = doi_from(_INFO_DOI.sub("", candidate.split()[0]))
            if found:
                return found
    return None


def entry_authors(entry: Any) -> list[str]:
    names = [a.get("name", "") for a in entry.get("authors", []) if a.get("name")]
    listed: list[str] = []
    for name in names:
        pieces = split_names(name) if "," in name else [name]
        if is_surname_initials(pieces):
            # HighWire (bioRxiv, medRxiv, Science, PNAS): "Lapalu, N., Simon, A." is two people.
            listed += [f"{pieces[i + 1]} {pieces[i]}" for i in range(0, len(pieces), 2)]
        elif len(names) == 1:
            # rss.arxiv.org (and some publishers) put every author in one dc:creator.
            listed += pieces
        else:
            listed.append(name)
    return [strip_affiliation(name) for name in listed]


def is_surname_initials(pieces: list[str]) -> bool:
    """["Lapalu", "N.", "Simon", "J.-P."]: surnames each followed by its initials."""
    return (
        len(pieces) % 2 == 0
        and all(_INITIALS.match(initials) for initials in pieces[1::2])
        and not any(_INITIALS.match(surname) for surname in pieces[::2])
    )


def split_names(text: str) -> list[str]:
    """Split "A (X, Y), B" at the commas outside parentheses: ["A (X, Y)", "B"]."""
    if "(" not in text:
        return [name.strip() for name in text.split(",") if name.strip()]
    names, depth, start = [], 0, 0
    for position, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            names.append(text[start:position])
            start = position + 1
    names.append(text[start:])
    return [name.strip() for name in names if name.strip()]


def strip_affiliation(name: str) -> str:
    """'Benjamin R\\'emy (LEMTA)' -> 'Benjamin R\\'emy': arXiv puts affiliations after the name.
    Parentheses inside a name are part of it ('Yuhan (Douglas) Rao'); a name that is all
    parentheses stays."""
    kept = name.strip()
    while kept.endswith(")"):
        start = _opening(kept)
        if not start:
            break
        kept = kept[:start].rstrip()
    return " ".join(kept.split()) or name.strip()


def _opening(text: str) -> int | None:
    """Where the parenthesis that closes text opens; None if it never does."""
    depth = 0
    for position in range(len(text) - 1, -1, -1):
        if text[position] == ")":
            depth += 1
        elif text[position] == "(":
            depth -= 1
            if depth == 0:
                return position
    return None


def entry_time(entry: Any) -> datetime | None:
    # dict.get: FeedParserDict.get("updated_parsed") falls back with a DeprecationWarning.
    parsed = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    if not parsed:
        return None
    return _utc(tuple(parsed))  # a 9-tuple, whatever feedparser's handler gave


@functools.lru_cache(maxsize=4096)  # a listing's items share a handful of dates
def _utc(parsed: tuple[int, ...]) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, OSError, ValueError):  # a year feedparser reads but time cannot hold
        return None
