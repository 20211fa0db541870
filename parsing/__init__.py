"""Listings in: parsers take bytes and return Paper records. Nothing here touches a database."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import date
from typing import BinaryIO

from parsing import arxiv, feed, hf_api, hf_html, hf_text, oai
from parsing.errors import ParseError, ParseResult
from parsing.model import Paper

__all__ = ["KINDS", "Paper", "ParseError", "ParseResult", "parse", "read"]

log = logging.getLogger("paperfeed.parsing")

KINDS: dict[str, Callable[[bytes], ParseResult]] = {
    "hf-text": hf_text.parse,
    "hf-api": hf_api.parse,
    "hf-page": hf_html.parse,
    "arxiv-api": arxiv.parse_api,
    "arxiv-rss": arxiv.parse_rss,
    "feed": feed.parse,
    "oai": oai.parse,
}


def read(kind: str, body: BinaryIO, result: ParseResult) -> Iterator[Paper]:
    """Yield the papers of a body (a seekable binary file) as they are read, for a listing too
    big to hold with its papers: a "feed" body is streamed, any other kind (pages of a few
    hundred records) is parsed whole. What parse returns besides papers lands in result,
    which keeps no papers (result.read counts them). Only ParseError escapes, as in parse."""
    result.keep = False
    if kind != "feed":
        whole = parse(kind, body.read())
        result.skipped, result.dropped, result.suspect = whole.skipped, whole.dropped, whole.suspect
        result.read, result.streamed = len(whole.papers), whole.identities()
        yield from whole.papers
        return
    try:
        yield from feed.read(body, result)
    except ParseError:
        raise
    except Exception as error:  # as in parse: a parser's bug costs this body only
        log.warning("parser %s failed on a body", kind, exc_info=True)
        raise ParseError(f"unreadable {kind} body ({type(error).__name__}: {error})") from None
    _judge_refusals(result)


def parse(kind: str, body: bytes, *, today: date | None = None) -> ParseResult:
    """Parse body as a listing of the given kind; only ParseError escapes for a bad body.
    A body that reads as nothing useful (another kind, every record refused) comes back with
    its reason in `suspect`."""
    if kind not in KINDS:
        raise ValueError(f"unknown source kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    try:
        result = hf_text.parse(body, today=today) if kind == "hf-text" else KINDS[kind](body)
    except ParseError:
        raise
    except Exception as error:
        # A bug in a parser (ours or feedparser's) on odd input must cost this body only,
        # never the refresh: atheris found feedparser raising OverflowError on "&#9999...;".
        log.warning("parser %s failed on a %d-byte body", kind, len(body), exc_info=True)
        raise ParseError(f"unreadable {kind} body ({type(error).__name__}: {error})") from None
    _judge_refusals(result)
    return result


def _judge_refusals(result: ParseResult) -> None:
    if not result.read and result.skipped and result.suspect is None:
        # Records there, none usable: not a quiet day (that is an empty listing).
        result.suspect = (
            f"every one of its {len(result.skipped)} records was refused "
            f"(first: {result.skipped[0]})"
        )
