"""arXiv API Atom (export.arxiv.org/api/query) and rss.arxiv.org RSS listings."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from parsing.errors import ParseError, ParseResult
from parsing.feed import entry_fields, read_feed
from parsing.model import arxiv_id_month
from parsing.text import clean_text

_RSS_ABSTRACT = re.compile(r"Abstract:\s*(.*)", re.DOTALL)
# arXiv categories (cs.CL, astro-ph, cond-mat.stat-mech, q-bio.NC); older API answers add
# MSC / ACM class strings ("53D10, 53D15", "F.2.2; I.2.7") as terms, which are not.
_CATEGORY = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z][A-Za-z\-]*)?$")
# The version an entry's id or guid names: oai:arXiv.org:1401.3665v4, .../abs/cs/9901002v2.
_VERSION = re.compile(r"(?:\d{4}\.\d{4,5}|/\d{7})v(\d+)(?:\.pdf)?(?:[?#/]|$)")
# How arXiv marks a withdrawal: its comments line or its new abstract says so.
_WITHDRAWN = re.compile(
    r"^\W*(?:withdrawn\b|(?:this|the) (?:paper|article|manuscript|submission|work|preprint)"
    r" (?:has been|is|was) withdrawn)",
    re.IGNORECASE,
)


def parse_api(body: bytes) -> ParseResult:
    """Read arXiv API query results: entry ids carry the version, which identity drops."""
    feed = read_feed(body)
    if str(feed.get("version", "")).startswith("rss"):
        return ParseResult.other_kind(
            "an RSS feed, where the arXiv API answers Atom (is the kind arxiv-rss?)"
        )
    for entry in feed.entries:
        # The API answers a bad query with one entry whose id is an error URL.
        if "/api/errors" in str(entry.get("id", "")):
            raise ParseError(f"arXiv API error: {clean_text(entry.get('summary')) or 'unknown'}")
    return _arxiv_entries(feed, lambda entry: entry.get("summary"))


def parse_rss(body: bytes) -> ParseResult:
    """Read an rss.arxiv.org listing; 'replace' announcements update a known paper."""
    feed = read_feed(body)
    title = str(feed.feed.get("title", ""))
    if title.startswith("Feed error"):
        # A misspelled archive is answered with an empty channel that names the error.
        raise ParseError(f"arXiv RSS error: {clean_text(feed.feed.get('description')) or title}")
    if str(feed.get("version", "")).startswith("atom"):
        return ParseResult.other_kind(
            "an Atom feed, where rss.arxiv.org answers RSS (is the kind arxiv-api?)"
        )

    def abstract(entry: Any) -> str:
        description = str(entry.get("summary") or "")
        match = _RSS_ABSTRACT.search(description)
        return match.group(1) if match else description

    return _arxiv_entries(feed, abstract)


def _arxiv_entries(feed: Any, abstract_of: Callable[[Any], str | None]) -> ParseResult:
    """Every entry with an arXiv id. arXiv text is plain text with LaTeX, already decoded by
    feedparser: it is never read as HTML again ("$T<T_{RW}$" is math, not a tag)."""
    result = ParseResult()
    for index, entry in enumerate(feed.entries):
        fields = entry_fields(entry)
        if not fields["arxiv_id"]:
            result.skip(f"entry {index}", f"no arXiv id in {entry.get('id')!r}")
            continue
        fields.update(
            title=entry.get("title"),
            abstract=abstract_of(entry),
            categories=[c for c in fields["categories"] if _CATEGORY.match(c)],
        )
        fields.update(_versioning(entry, fields))
        result.add(f"entry {index}", **fields)
    return result


def _versioning(entry: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """The version, announce type, notes and date of an entry. A later version's
    announcement is not the paper's date: that is v1's, which the API gives as published;
    an RSS listing of v2 or later gives only the month in the arXiv id."""
    announce = str(dict.get(entry, "arxiv_announce_type") or "").strip() or None
    found = _VERSION.search(str(entry.get("id") or ""))
    version = int(found.group(1)) if found else None
    comments = dict.get(entry, "arxiv_comment")
    values: dict[str, Any] = {
        "version": version,
        "announce_type": announce,
        "supersedes": bool(announce and announce.startswith("replace")),
        "journal_ref": dict.get(entry, "arxiv_journal_ref")
        or dict.get(entry, "arxiv_journal_reference"),
        "author_comments": comments,
        "withdrawn": any(
            isinstance(text, str) and _WITHDRAWN.search(text)
            for text in (comments, fields.get("abstract"))
        ),
    }
    if announce and (values["supersedes"] or (version or 1) > 1):
        values["published"] = arxiv_id_month(fields["arxiv_id"])
    return values
