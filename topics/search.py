"""Finding the papers a query matches: the one planner behind the web search, `paperfeed
preview` and re-matching a topic whose rule changed.

Papers arrive newest first from the store; each is analysed once and confirmed by the exact
matcher, so plurals, phrases, fields and explain() mean the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Protocol, TypeVar

from topics.analysis import Document
from topics.matcher import TopicMatcher
from topics.query import Match, Query


class _Paper(Protocol):
    @property
    def id(self) -> int | None: ...


P = TypeVar("P", bound=_Paper)


def matches(papers: Iterable[P], query: Query) -> Iterator[tuple[P, Match]]:
    """Every paper (in the order given) that query matches, with what matched."""
    for paper in papers:
        found = query.explain(Document.of_paper(paper))
        if found:
            yield paper, found


def newest(papers: Iterable[P], query: Query, limit: int) -> list[P]:
    """The first limit papers query matches, each carrying what matched (.matched)."""
    found: list[P] = []
    for paper, matched in matches(papers, query):
        found.append(replace(paper, matched=tuple(matched)))  # type: ignore[type-var]
        if len(found) >= limit:
            break
    return found


def rematch(
    papers: Iterable[P], queries: Mapping[str, Query]
) -> dict[str, dict[int, list[tuple[str, str]]]]:
    """{topic: {paper id: what matched}} for topics whose rule changed, in one pass."""
    matcher = TopicMatcher(queries)
    found: dict[str, dict[int, list[tuple[str, str]]]] = {name: {} for name in queries}
    for paper in papers:
        for name, matched in matcher.match(Document.of_paper(paper)).items():
            found[name][paper.id] = matched  # type: ignore[index]
    return found
