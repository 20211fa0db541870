"""Finding the papers a query matches: the one planner behind the web search, `paperfeed
preview` and re-matching a topic whose rule changed.

The planner turns a query into an index lookup (`plan`: each query node says its own,
Node.lookup, in the terms of topics.plan) whose answer is a superset of the matches: terms
and phrases become their tokens (AND), prefixes become prefix lookups, and AND / OR
compose. What cannot be anchored (a lone NOT, `*`, ranges, regexes, the source and
category fields) becomes a scan. Either way the store hands out candidates newest first, in
chunks, and the exact matcher confirms each one (so plurals, phrases, fields and explain()
mean the same everywhere) until `limit` papers are found or the budget runs out. It
confirms on the stems the index keeps where those decide the query (see _candidates),
else on the text itself. The index is any TextIndex: the store's (store.index) says which
fields it keeps, how long a token, and what its order keys mean.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple, Protocol, TypeVar

from topics.analysis import PAPER_ATTRIBUTES, Document
from topics.plan import IndexShape, Lookup
from topics.query import Match, Query
from topics.similarity import Vectors


def plan(query: Query, shape: IndexShape) -> Lookup | None:
    """The index lookup of query: its papers include every paper query matches; None:
    scan instead."""
    return query.root.lookup(shape)


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


class Hit(NamedTuple):
    """A paper a query matches: its id, when it was first seen, and what matched."""

    paper_id: int
    first_seen: datetime
    matched: Match


class _Candidate(Protocol):
    @property
    def key(self) -> int: ...


class TextIndex(Protocol[P]):  # type: ignore[misc]
    """What the planner needs from the store: the index's shape (its fields and token
    cap), the meaning of its order keys, and three reads."""

    @property
    def shape(self) -> IndexShape: ...

    def split_key(self, key: int) -> tuple[int, int]:
        """(second, paper id) of an order key: keys sort papers newest first, by (second,
        id); the store writes first_seen in whole seconds, so that is (first_seen, id)."""
        ...

    def candidates(
        self, lookup: Lookup | None, before: int | None, count: int, stems: bool
    ) -> Sequence[_Candidate]:
        """Newest first, at most count, with order keys below before (all when None): papers
        that lookup may match, or every paper when lookup is None. Each has its order key
        (.key); with stems also id, first_seen and the stems the index holds of each
        indexed field (an attribute per field, space-separated)."""
        ...

    def paper_columns(self, ids: Sequence[int], columns: Sequence[str]) -> Sequence[_Paper]:
        """Papers with only these attributes (and id, first_seen) read: what matching needs."""
        ...

    def papers_by_ids(self, ids: Iterable[int]) -> Sequence[P]: ...

    def identified(self, known: Collection[tuple[str, str]]) -> Sequence[_Candidate]:
        """The papers with one of these (field, value) identifiers (topics.analysis
        IDENTITY_FIELDS), newest first, each with its order key (.key)."""
        ...

    def recent(self) -> Iterable[Vectors]:
        """The newest papers' term vectors, newest first, a slice at a time, as candidates
        with stems are (rows with .key): as far as the store keeps them in memory."""
        ...


def find(
    index: TextIndex[P], query: Query, limit: int | None = None, budget: Budget | None = None
) -> list[Hit]:
    """The newest limit papers query matches (all when None), newest first, with what matched.

    Candidates are read a slice at a time, as little of each as confirming needs (see
    _candidates). Raises QueryTooExpensive when the budget runs out first.
    """
    budget = budget or Budget()
    started = time.monotonic()
    examined = 0
    found: list[Hit] = []
    # The order keys are the order: the first limit papers confirmed are the newest, however
    # many papers share their second (an import stores thousands in one). Keys sort by
    # (second, id), which is (first_seen, id) for every paper stored in whole seconds.
    for key, paper, analyse in _candidates(index, query, limit):
        if paper is None:
            continue
        examined += 1
        _check(budget, examined, started)
        matched = query.explain(analyse(paper))
        if matched is None:
            continue
        found.append(Hit(index.split_key(key)[1], paper.first_seen, matched))
        if limit is not None and len(found) >= limit:
            break
    return _newest_first(found)


Analyse = Callable[[object], Document]


def _candidates(
    index: TextIndex[P], query: Query, limit: int | None
) -> Iterator[tuple[int, _Paper | None, Analyse]]:
    """The papers the plan of query may match, newest first, each with its order key and
    how to analyse it (None: merged away since its key was read).

    Where the stems the index keeps decide the query, candidates come with them: a word or
    phrase is then a substring of the spaced stems, a fraction of the cost of analysing the
    text again (folding, splitting, stemming), which dominates a search with many hits.
    Otherwise only the columns the query reads are read, a slice at a time (a whole paper
    costs JSON decoding and more), and analysed as any paper is. Slices start a little
    past limit (most candidates of a word are hits) and grow while they do not suffice.
    """
    lookup = plan(query, index.shape)
    stems = query.root.decided_by_stems(index.shape)
    columns = sorted(PAPER_ATTRIBUTES[name] for name in query.fields)
    chunk = max(64, limit + limit // 4) if limit else 1000
    before: int | None = None
    known = query.root.identities()  # id:, doi: the store finds those papers by them
    if known is not None:
        stems, chunk = False, 1 << 62
    if stems and known is None and query.likes():
        # A like: scores the newest papers from their term vectors held in memory and reads
        # only those it may match; the index answers below them.
        for vectors in index.recent():
            admitted = query.root.within(vectors)
            if admitted is None:
                break
            for at in sorted(admitted):
                yield vectors.rows[at].key, vectors.rows[at], Document.of_stems
            if vectors.rows:
                before = vectors.rows[-1].key
    while True:
        if known is not None:
            found = index.identified(known)
        else:
            found = index.candidates(lookup, before, chunk, stems)
        if stems:
            for row in found:
                yield row.key, row, Document.of_stems  # type: ignore[misc]
        else:
            for start in range(0, len(found), 64):
                keys = [row.key for row in found[start : start + 64]]
                read = index.paper_columns([index.split_key(key)[1] for key in keys], columns)
                papers = {paper.id: paper for paper in read}
                for key in keys:
                    yield key, papers.get(index.split_key(key)[1]), Document.of_paper
        if len(found) < chunk:
            return
        before = found[-1].key
        chunk = min(chunk * 4, 1000 if stems else 5000)


def _when(paper: _Paper | Hit) -> tuple[datetime, int]:
    if isinstance(paper, Hit):
        return paper.first_seen, paper.paper_id
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


def _newest_first(found: list[Hit]) -> list[Hit]:
    return sorted(found, key=_when, reverse=True)


def newest(index: TextIndex[P], query: Query, limit: int, budget: Budget | None = None) -> list[P]:
    """The newest limit papers query matches, each carrying what matched (.matched)."""
    return with_papers(index, find(index, query, limit, budget))


RELEVANCE_POOL = 500  # a search ordered by relevance ranks this many of its newest matches


def best(index: TextIndex[P], query: Query, limit: int, budget: Budget | None = None) -> list[P]:
    """The limit best scored of the newest RELEVANCE_POOL papers query matches, best first."""
    hits = find(index, query, max(limit, RELEVANCE_POOL), budget)
    hits.sort(key=lambda hit: getattr(hit.matched, "score", 0.0), reverse=True)
    return with_papers(index, hits[:limit])


def with_papers(index: TextIndex[P], hits: Sequence[Hit]) -> list[P]:
    """The whole papers of hits, in their order, each carrying what matched (.matched). A
    paper merged away since it was found is left out."""
    by_id = {paper.id: paper for paper in index.papers_by_ids([hit.paper_id for hit in hits])}
    return [
        replace(  # type: ignore[type-var]
            by_id[hit.paper_id],
            matched=tuple(hit.matched),
            score=getattr(hit.matched, "score", None),
        )
        for hit in hits
        if hit.paper_id in by_id
    ]


def matches(papers: Iterable[P], query: Query) -> Iterator[tuple[P, Match]]:
    """Every paper (in the order given) that query matches: the plain scan, no index."""
    for paper in papers:
        found = query.explain(Document.of_paper(paper))
        if found is not None:
            yield paper, found
