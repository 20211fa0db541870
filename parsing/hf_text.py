"""Hugging Face Daily Papers pages saved as text (the captures in samples/listings).

Two layouts exist. "Get trending papers..." dumps put the first title right after
"Subscribe" on the same line, then alternate title and abstract lines. "Daily Papers"
dumps separate blocks with blank lines and carry a date line such as "Jul 28", the day
the listing is for. Both reduce to: a header, then title / abstract pairs.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from parsing.errors import ParseError, ParseResult
from parsing.text import strip_invalid

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}
_DATE_LINE = re.compile(r"^(?P<mon>[A-Z][a-z]{2})[a-z]*\.? (?P<day>\d{1,2})(?:, (?P<year>\d{4}))?$")
_BOILERPLATE = {
    "new",
    "daily papers",
    "byak and the research community",
    "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!",
    "subscribe",
}
# Titles in the captures are at most ~160 characters and abstracts at least ~600;
# a line is read as an abstract when it is long, or reads like prose ending a sentence.
_TITLE_MAX = 300
_HTML_PAGE = re.compile(r"^\s*(?:<!doctype html|<html[\s>]|<head[\s>]|<body[\s>])", re.IGNORECASE)
# Bodies of the other kinds: a JSON object or list of objects (whole or cut off), an XML feed.
# No text dump starts like these: its first line is page chrome or a title.
_JSON_START = re.compile(r'^\s*(?:\[\s*)?\{\s*"')
_XML_FEED = re.compile(r"^\s*(?:<\?xml[\s?]|<rss[\s>]|<feed[\s>]|<rdf:RDF[\s>])", re.IGNORECASE)


def _looks_like_abstract(line: str) -> bool:
    if len(line) >= 250:
        return True
    return len(line) >= 80 and line.endswith((".", "!", "?", ")")) and line.count(" ") >= 12


def listing_date(line: str, today: date) -> date | None:
    """Read a date line ('Jul 28'); the year is the latest one that is not in the future."""
    match = _DATE_LINE.match(line)
    if not match or match.group("mon").lower() not in _MONTHS:
        return None
    month, day = _MONTHS[match.group("mon").lower()], int(match.group("day"))
    if match.group("year"):
        years = [int(match.group("year"))]
    else:
        years = [today.year - k for k in range(0, 8)]
    for year in years:
        try:
            candidate = date(year, month, day)
        except ValueError:  # Feb 29 in a non-leap year, or Apr 31
            continue
        if candidate <= today:
            return candidate
    return None


def parse(body: bytes, *, today: date | None = None) -> ParseResult:
    """Read title / abstract pairs from a Daily Papers text dump."""
    today = today or datetime.now(UTC).date()
    text = listing_text(body)
    if _JSON_START.match(text):
        return ParseResult.other_kind("a JSON document, not a text listing (is the kind hf-api?)")
    if _XML_FEED.match(text):
        return ParseResult.other_kind(
            "an RSS or Atom feed, not a text listing (is the kind feed, arxiv-rss or arxiv-api?)"
        )
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    lines = _drop_header(lines)
    result = ParseResult()
    current_date: date | None = None
    pending: tuple[int, str] | None = None

    for number, line in lines:
        if not line:
            continue
        day = listing_date(line, today)
        if day is not None and not _looks_like_abstract(line):
            # "Jul 28" names no year: a guessed year would show a 2021 paper as this year's.
            # The line still ends the block; only a date with its year becomes `published`.
            current_date = day if _DATE_LINE.match(line)["year"] else None  # type: ignore[index]
            continue
        if _looks_like_abstract(line):
            if pending is None:
                result.skip(f"line {number}", "abstract without a title before it")
                continue
            title_line, title = pending
            pending = None
            _add(result, title_line, title, line, current_date)
        else:
            if pending is not None:
                result.skip(f"line {pending[0]}", "title without an abstract after it")
            if len(line) > _TITLE_MAX:
                result.skip(
                    f"line {number}", "line too long for a title, too short for an abstract"
                )
                pending = None
                continue
            pending = (number, line)
    if pending is not None:
        result.skip(f"line {pending[0]}", "title without an abstract after it")
    if not result.papers and not result.skipped:
        raise ParseError("no papers found in the listing")
    return result


def listing_text(body: bytes) -> str:
    """The body as text: a stray control character is removed (one NUL must not cost the
    file), but a body that is mostly binary (over 30% control or undecodable characters),
    or an HTML page (a block or error page served where the text dump was), is not a
    listing."""
    text = body.decode("utf-8-sig", errors="replace")
    sample = text[:20_000]
    binary = sum(1 for ch in sample if ch == "\ufffd" or (ch < " " and ch not in "\t\n\r"))
    if sample and binary / len(sample) > 0.3:
        raise ParseError(f"binary data, not a text listing ({binary} of {len(sample)} characters)")
    if _HTML_PAGE.search(sample[:2000]):
        raise ParseError("an HTML page, not a text listing (an error or block page?)")
    return strip_invalid(text.replace("\r\n", "\n"))


def _drop_header(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Remove the page chrome before the first paper; 'SubscribeTitle' keeps its title."""
    for index, (number, line) in enumerate(lines[:15]):
        if line.lower().startswith("subscribe"):
            rest = line[len("subscribe") :].strip()
            # The chrome after "Subscribe" is a few short lines ("Daily Papers", "byAK ...").
            tail = lines[index + 1 :]
            head = [(n, t) for n, t in tail[:12] if t.lower() not in _BOILERPLATE]
            return ([(number, rest)] if rest else []) + head + tail[12:]
    return [(n, t) for n, t in lines if t.lower() not in _BOILERPLATE]


def _add(result: ParseResult, line: int, title: str, abstract: str, day: date | None) -> None:
    published = datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
    result.add(f"line {line}", title=title, abstract=abstract, published=published)
