"""Finding the papers a query matches: the one planner behind the web search, `paperfeed
preview` and re-matching a topic whose rule changed.

The planner turns a query into an index lookup (`lookup`) whose answer is a superset of the
matches: terms and phrases become their tokens (AND), prefixes become prefix lookups, and
AND / OR compose. What cannot be anchored (a lone NOT, `*`, ranges, regexes, the source and
category fields) becomes a scan. Either way the store hands out candidates newest first, in
chunks, and the exact matcher confirms each one (so plurals, phrases, fields and explain()
mean the same everywhere) until `limit` papers are found or the budget runs out.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol, TypeVar

from parsing.text import stem
from topics.analysis import Document
from topics.query import And, Match, Node, Or, Query, Words

# The text index covers these fields; a word asked for in another field cannot anchor.
INDEXED_FIELDS = ("title", "abstract", "author")

# An order key sorts papers newest first: (first_seen in whole seconds) * 2**32 + paper id.
# Keys of one second may be out of first_seen order, so the search finishes that second.
ID_BITS = 32


def split_key(key: int) -> tuple[int, int]:
    """(second, paper id) of an order key."""
    return key >> ID_BITS, key & ((1 << ID_BITS) - 1)


# ---- the plan: a lookup in the text index ------------------------------------------------


@dataclass(frozen=True)
class Term:
    """Papers with this token (a whole stem, or with prefix, any token starting so) in one of
    the fields."""

    token: str
    fields: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    """Papers with these tokens one after another in one of the fields (with prefix, the
    last is a prefix). An index without positions may answer it as all of the tokens."""

    tokens: tuple[str, ...]
    fields: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Lookup, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Lookup, ...]


Lookup = Term | Phrase | AllOf | AnyOf


def lookup(node: Node) -> Lookup | None:
    """An index lookup whose papers include every paper node matches; None: scan instead."""
    if isinstance(node, Words):
        if not set(node.fields) <= set(INDEXED_FIELDS):
            return None
        if len(node.stems) == 1:
            if node.prefix:
                return _prefix(node.stems[0], node.fields)
            return Term(node.stems[0], node.fields)
        if not node.prefix:
            return Phrase(node.stems, node.fields)
        fixed, last = node.stems[:-1], node.stems[-1]
        forms = [Phrase(fixed + (last,), node.fields, prefix=True)]
        forms += [Phrase(fixed + (whole,), node.fields) for whole in _lost_stems(last)]
        return forms[0] if len(forms) == 1 else AnyOf(tuple(forms))
    if isinstance(node, And):
        anchored = [found for found in map(lookup, node.children) if found is not None]
        if not anchored:
            return None
        return anchored[0] if len(anchored) == 1 else AllOf(tuple(anchored))
    if isinstance(node, Or):
        branches = [lookup(child) for child in node.children]
        if any(branch is None for branch in branches):
            return None  # one branch needs a scan, so the whole OR does
        return AnyOf(tuple(branches))  # type: ignore[arg-type]
    return None  # Not, Range, Regex, Everything


def _prefix(prefix: str, fields: tuple[str, ...]) -> Lookup:
    """A prefix of a raw word, as index lookups of stems.

    The index holds stems, and stem() drops at most three letters ("studies" -> "study"), so
    a word starting with prefix has a stem starting with prefix unless the word is prefix,
    prefix+"s" or prefix+"es": those three stems are looked up whole.
    """
    parts = [Term(prefix, fields, prefix=True)]
    parts += [Term(whole, fields) for whole in _lost_stems(prefix)]
    return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))


def _lost_stems(prefix: str) -> list[str]:
    """Stems of words starting with prefix that do not themselves start with it."""
    stems = {stem(prefix + ending) for ending in ("", "s", "es")}
    return sorted(token for token in stems if not token.startswith(prefix))


# ---- running a plan ---------------------------------------------------------------------


class QueryTooExpensive(Exception):
    """The query went past its budget before it found its answer."""


@dataclass(frozen=True)
class Budget:
    """How much one query may cost: candidates examined and seconds. None: no limit."""

    max_rows: int | None = None
    max_seconds: float | None = None


class _Paper(Protocol):
    @property
    def id(self) -> int | None: ...

    @property
    def first_seen(self) -> datetime: ...


P = TypeVar("P", bound=_Paper)


class TextIndex(Protocol[P]):  # type: ignore[misc]
    """What the planner needs from the store."""

    def candidate_keys(self, lookup: Lookup | None, before: int | None, count: int) -> list[int]:
        """Order keys below before (all when None), newest first: of papers that lookup may
        match, or of every paper when lookup is None."""
        ...

    def papers_by_ids(self, ids: Iterable[int]) -> Sequence[P]: ...


def find(
    index: TextIndex[P], query: Query, limit: int | None = None, budget: Budget | None = None
) -> list[tuple[P, Match]]:
    """The newest limit papers query matches (all when None), newest first, with what matched.

    Raises QueryTooExpensive when the budget runs out first.
    """
    plan = lookup(query.root)
    budget = budget or Budget()
    started = time.monotonic()
    examined = 0
    found: list[tuple[P, Match]] = []
    # Once limit papers are found, only the rest of the last one's second can still beat
    # them, and only a paper newer than the limit-th found (most share its exact time).
    last_second: int | None = None
    worst: tuple[datetime, int] | None = None
    before: int | None = None
    chunk = max(64, 2 * limit) if limit else 2000
    fetch = min(chunk, 64) if limit else 500  # papers are read as needed, a slice at a time
    papers: dict[int | None, P] = {}
    while True:
        keys = index.candidate_keys(plan, before, chunk)
        for position, key in enumerate(keys):
            second, paper_id = split_key(key)
            if last_second is not None and second < last_second:
                return found
            if paper_id not in papers:
                ahead = [split_key(k)[1] for k in keys[position : position + fetch]]
                papers = {p.id: p for p in index.papers_by_ids(ahead)}
            paper = papers.get(paper_id)
            if paper is None or (worst is not None and _when(paper) <= worst):
                continue
            examined += 1
            _check(budget, examined, started)
            matched = _confirm(paper, query)
            if matched is None:
                continue
            found.append((paper, matched))
            if limit is not None and len(found) >= limit:
                found = _newest_first(found)[:limit]
                last_second, worst = second, _when(found[-1][0])
        if len(keys) < chunk:
            return _newest_first(found)
        before = keys[-1]
        chunk = min(chunk * 4, 5000)


def _when(paper: _Paper) -> tuple[datetime, int]:
    return paper.first_seen, paper.id or 0


def _check(budget: Budget, examined: int, started: float) -> None:
    if budget.max_rows is not None and examined > budget.max_rows:
        raise QueryTooExpensive(
            f"query too expensive: it had to examine more than {budget.max_rows} papers; "
            "add a word that the papers you want contain (a range, a regex or NOT alone "
            "cannot use the text index)"
        )
    if budget.max_seconds is not None and time.monotonic() - started > budget.max_seconds:
        raise ran_too_long(budget.max_seconds)


def ran_too_long(max_seconds: float) -> QueryTooExpensive:
    """The error of a search that ran past its seconds (here, or seen from outside)."""
    return QueryTooExpensive(
        f"query too expensive: it ran for more than {max_seconds:g} seconds; "
        "make it narrower or simpler"
    )


def _newest_first(found: list[tuple[P, Match]]) -> list[tuple[P, Match]]:
    return sorted(found, key=lambda pair: _when(pair[0]), reverse=True)


def newest(index: TextIndex[P], query: Query, limit: int, budget: Budget | None = None) -> list[P]:
    """The newest limit papers query matches, each carrying what matched (.matched)."""
    return [
        replace(paper, matched=tuple(matched))  # type: ignore[type-var]
        for paper, matched in find(index, query, limit, budget)
    ]


def rematch(
    index: TextIndex[P], queries: Mapping[str, Query]
) -> dict[str, dict[int, list[tuple[str, str]]]]:
    """{topic: {paper id: what matched}} for topics whose rule changed, through the index."""
    return {
        name: {paper.id: matched for paper, matched in find(index, query)}  # type: ignore[misc]
        for name, query in queries.items()
    }


def matches(papers: Iterable[P], query: Query) -> Iterator[tuple[P, Match]]:
    """Every paper (in the order given) that query matches: the plain scan, no index."""
    for paper in papers:
        found = _confirm(paper, query)
        if found is not None:
            yield paper, found


def _confirm(paper: object, query: Query) -> Match | None:
    """What matched, or None when the paper does not match. Ask matches() first: `*` and
    NOT name no words, so a match can explain itself with an empty list."""
    doc = Document.of_paper(paper)
    return query.explain(doc) if query.matches(doc) else None
