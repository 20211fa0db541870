"""Harvest an arXiv OAI-PMH source (kind = "oai"): ListRecords page by page, following
resumption tokens, from the day the last complete harvest started.

Where a source stands is a HarvestState kept in the store and committed with each page's
papers (refresh.pipeline): a harvest killed between pages resumes at the token of the page
it had not stored. arXiv's flow control (503 with Retry-After) is honoured by the fetcher,
within its retries and its per-fetch deadline; past them the harvest stops with an error and
the next refresh resumes it from the same token.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from parsing import Paper
from parsing.oai import OaiError, Page, parse_page
from refresh.fetch import Fetcher
from refresh.locations import SecretLocation
from settings import SourceConfig
from store import HarvestState

log = logging.getLogger("paperfeed.refresh")

# What arXiv answers for a token it no longer knows (they expire): the harvest starts over.
BAD_TOKEN = "badResumptionToken"


def request_of(source: SourceConfig) -> str:
    """The harvest's fixed parameters: a token is only resumed for the same ones."""
    params = {"metadataPrefix": source.metadata_prefix}
    if source.oai_set:
        params["set"] = source.oai_set
    return urlencode(params)


def plan(
    source: SourceConfig, state: HarvestState | None, since: date | None, today: date
) -> HarvestState:
    """Where this harvest starts: the harvest under way when there is one for the same request
    (and, for a backfill, the same since), else a new one from since, else from the day the
    last complete harvest started, else from source.days days ago."""
    request = request_of(source)
    same = state is not None and state.request == request
    if same and state and state.token and (since is None or state.harvest_from == since):
        return state
    next_from = state.next_from if same and state else None
    if since is not None:
        start = since
    elif next_from is not None:
        start = next_from
    else:
        start = today - timedelta(days=source.days)
    return HarvestState(request=request, harvest_from=start, next_from=next_from)


def after_page(current: HarvestState, page: Page, now: datetime) -> HarvestState:
    """Where the harvest stands once page is stored. A complete harvest moves next_from to
    the day it started, unless it began after next_from (a backfill of a later day must not
    skip what changed between the two)."""
    started = current.started or page.response_date or now
    done = current.done + page.records
    total = page.complete_size if page.complete_size is not None else current.total
    if page.token:
        return replace(current, token=page.token, done=done, total=total, started=started)
    next_from = current.next_from
    covers = next_from is None or current.harvest_from is None or current.harvest_from <= next_from
    if covers:
        next_from = max(started.date(), next_from) if next_from else started.date()
    return replace(
        current, token=None, done=done, total=total, started=started, next_from=next_from
    )


def pages(
    fetcher: Fetcher, source: SourceConfig, start: HarvestState, now: datetime
) -> Iterator[tuple[Page, HarvestState]]:
    """Each page of the harvest with where the harvest stands after it, until the list is
    complete. FetchError and ParseError end it; a resumed token arXiv no longer knows starts
    the harvest over from its from-date (once)."""
    current, restarted = start, False
    while True:
        try:
            with fetcher.fetch(page_url(source, current)) as fetched:
                page = parse_page(fetched.body)
        except OaiError as error:
            if error.code != BAD_TOKEN or not current.token or restarted:
                raise
            log.warning(
                "source %s: arXiv no longer knows the resumption token (%s); starting the "
                "harvest from %s again",
                source.name,
                error,
                current.harvest_from,
            )
            current = replace(current, token=None, done=0, total=None, started=None)
            restarted = True
            continue
        after = after_page(current, page, now)
        yield page, after
        if after.token is None:
            return
        current = after


def in_categories(papers: list[Paper], categories: tuple[str, ...]) -> list[Paper]:
    """The papers in at least one of categories (all of them when none are given): a set is
    an archive (cs), categories narrow it (cs.LG)."""
    if not categories:
        return papers
    wanted = set(categories)
    return [paper for paper in papers if wanted.intersection(paper.categories)]


def page_url(source: SourceConfig, state: HarvestState) -> str:
    """The ListRecords request for the page state stands before (a SecretLocation when the
    base URL comes from the environment)."""
    if state.token:
        query = urlencode({"verb": "ListRecords", "resumptionToken": state.token})
    else:
        query = "verb=ListRecords&" + state.request
        if state.harvest_from is not None:
            query += "&" + urlencode({"from": state.harvest_from.isoformat()})
    assert source.url is not None
    if source.secret_url is None:
        return _with_query(source.url, query)
    return SecretLocation(_with_query(source.url, query), _with_query(source.secret_url, query))


def _with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"
