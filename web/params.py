"""Reading a request's parameters, once for the Flask routes and the WSGI fast path alike:
whole numbers, and what a request for /feeds/<name>.<fmt> asks for."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from feeds.render import FORMATS
from settings import Config
from topics import searchbox
from topics.query import Query, QueryError

_DIGITS = re.compile(r"[0-9]{1,19}")
SEARCH = "search"  # /feeds/search.<fmt>?q=...: a feed for any query
DIGESTS = ("", "day", "week")  # ?digest=: one item per paper, per day or per week


def whole_number(raw: str, low: int, high: int) -> int | None:
    """raw as a whole number from low to high, or None. ASCII digits only: str.isdigit()
    also accepts "²" and "৩", which int() refuses (a 500) or reads as another digit."""
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        return None
    return int(raw)


class NoSuchFeed(Exception):
    """An unknown format or topic: 404."""


class BadFeedRequest(Exception):
    """A parameter that cannot be used: 400, saying what is wrong (extra: what helps)."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


class FeedRequest(NamedTuple):  # a tuple: built on every request of the fast path
    name: str  # a topic's name, or SEARCH
    fmt: str  # a name of feeds.render.FORMATS
    limit: int
    explicit_limit: bool  # ?limit= was given (the feed's self link says so)
    text: str = ""  # a search's query text
    query: Query | None = None  # a search's query, when parsed
    order: str = "newest"  # or "relevance" (?order=, else the topic's order)
    digest: str = ""  # "day" or "week": one item per period (feeds.digest); "": one per paper

    @property
    def is_search(self) -> bool:
        return self.name == SEARCH


def read_feed_request(
    name: str,
    fmt: str,
    arg: Callable[[str], str | None],
    config: Config,
    parse: bool = True,
) -> FeedRequest:
    """The feed request for path /feeds/<name>.<fmt> with query parameters arg(name).

    Raises NoSuchFeed, or BadFeedRequest for the first thing wrong: a search's query, then
    the limit. With parse=False (the fast path) a search's query is not compiled, only
    required: its text is what its cache key holds."""
    if fmt not in FORMATS:
        raise NoSuchFeed(fmt)
    text, query = "", None
    if name == SEARCH:
        text = arg("q") or ""
        if parse:
            try:
                query, _ = searchbox.read(text)  # as /search reads it (its hints are the page's)
            except QueryError as error:
                raise BadFeedRequest(str(error), column=error.column, query=text[:200]) from error
        elif not text.strip():
            raise BadFeedRequest("the query is empty")
    elif name not in config.topics:
        raise NoSuchFeed(name)
    raw = arg("limit")
    limit = config.feed_items if raw is None else whole_number(raw, 1, config.max_feed_items)
    if limit is None:
        raise BadFeedRequest(f"limit must be a whole number from 1 to {config.max_feed_items}")
    topic = config.topics.get(name)
    order = read_order(arg("order"), topic.order if topic else "newest")
    digest = arg("digest") or ""
    if digest not in DIGESTS:
        raise BadFeedRequest("digest must be day or week (one item per period), or left out")
    return FeedRequest(name, fmt, int(limit), raw is not None, text, query, order, digest)


ORDERS = ("newest", "relevance")


def read_order(raw: str | None, default: str) -> str:
    """?order=newest|relevance (the default: the topic's order, else newest first)."""
    if raw is None or raw == "":
        return default
    if raw not in ORDERS:
        raise BadFeedRequest("order is newest or relevance")
    return raw
