"""like: profiles from the store: the example papers by id, and the text index's counts.

A query's like: nodes get their profile (topics.similarity) here, once per topic per
refresh (or per search): the seeds looked up by arXiv id, DOI or GUID (an unknown one is a
QueryError naming it), the document frequencies of their words counted in the text index
(cached: they drift slowly as the store grows), and, for `rule OR like:(...)` (not `rule
AND like:`), the rule's papers most similar to the seeds as more examples.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from store import index
from store.index.layout import MAX_TOKEN
from store.papers import find_paper_on
from store.reader import SearchReader
from store.recent import RecentPapers, stamp
from store.records import StoredPaper
from store.schema import paper_index
from topics import search
from topics.analysis import Document
from topics.plan import Term
from topics.query import Like, Query, QueryError
from topics.similarity import (
    DEFAULT_THRESHOLD,
    MAX_DOC_SHARE,
    WIDEN_POOL,
    Profile,
    SampleCounts,
    Seed,
    Vectors,
)

_FIELDS = ("title", "abstract")
# The newest papers whose mean length and word counts stand for the store's: a word seen
# in SAMPLED_ENOUGH of them has its count scaled up from the sample (counting a common
# word in the index reads a quarter of the store); a rarer one is counted in the index,
# where its few papers are quick to count. Two of store.recent's slices.
_SAMPLE = 4000
_SAMPLED_ENOUGH = 16  # of _SAMPLE: 0.4 % of the papers, as 20 of 5,000 was
_STALE_GROWTH = 1.05  # counts are counted again once the store grew by 5 %


@dataclass
class _Counts:
    """A Corpus over the store's text index, counting a word the first time it is asked."""

    documents: int
    average_length: float
    sample: SampleCounts
    generation: tuple[int, int]  # the store's stamp (store.recent) when counted
    frequencies: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def doc_freq_on(self, conn: Connection, stems: Collection[str]) -> Mapping[str, int]:
        # Past the share cap a word is dropped whatever its count: count no further.
        cap = int(MAX_DOC_SHARE * self.documents) + 1
        scale = self.documents / max(self.sample.papers, 1)
        with self.lock:
            missing = [s for s in stems if s not in self.frequencies]
        held = self.sample.holding(missing)
        found = {
            stem: round(held[stem] * scale) for stem in missing if held[stem] >= _SAMPLED_ENOUGH
        }
        rare = [stem for stem in missing if stem not in found]
        lookups = [Term(stem[:MAX_TOKEN], _FIELDS) for stem in rare]
        found.update(zip(rare, index.counts(conn, lookups, cap), strict=True))
        with self.lock:
            self.frequencies.update(found)
            return {s: self.frequencies.get(s, 0) for s in stems}


@dataclass
class _BoundCorpus:
    counts: _Counts
    conn: Connection

    @property
    def documents(self) -> int:
        return self.counts.documents

    @property
    def average_length(self) -> float:
        return self.counts.average_length

    def doc_freq(self, stems: Collection[str]) -> Mapping[str, int]:
        return self.counts.doc_freq_on(self.conn, stems)


class SimilarityStore:
    engine: Engine
    search_engine: Engine
    _counts: _Counts | None = None

    def find_paper(self, ref: str) -> StoredPaper | None:
        raise NotImplementedError

    def recent_papers(self) -> RecentPapers:
        raise NotImplementedError  # store.reader.ReaderStore

    def bind(self, query: Query) -> Query:
        """query with a profile for each of its like: nodes (itself when it has none).
        Raises QueryError naming an id that no stored paper has."""
        likes = query.likes()
        if not likes:
            return query
        rest = query.without_similarity()
        widened = query.widened_likes()  # `rule OR like:` only: see Query.widened_likes
        with self.search_engine.connect() as conn:
            unlike = [self._seed(conn, ref) for node in likes if node.negative for ref in node.ids]
            corpus = _BoundCorpus(self._corpus(conn), conn)
            rule_papers = self._rule_papers(conn, rest) if rest is not None and widened else []
            profiles = {
                node: self._profile(node, corpus, unlike, rule_papers if node in widened else [])
                for node in likes
                if not node.negative
            }
        return query.bind(profiles)

    def _profile(
        self, node: Like, corpus: _BoundCorpus, unlike: Sequence[Seed], rule: Sequence[Document]
    ) -> Profile:
        seeds = [self._seed(corpus.conn, ref) for ref in node.ids]
        threshold = DEFAULT_THRESHOLD if node.threshold is None else node.threshold
        profile = Profile.build(seeds, corpus, unlike, threshold)
        return profile.widened(seeds, corpus, rule, unlike) if rule else profile

    def _seed(self, conn: Connection, ref: str) -> Seed:
        paper = find_paper_on(conn, ref)
        if paper is None:
            raise QueryError(
                f"like: no stored paper has the id {ref!r} (an arXiv id, a DOI or a "
                "urn:paperfeed: GUID of a paper in the store)"
            )
        return Seed(ref, paper.title, Document.of_paper(paper))

    def _rule_papers(self, conn: Connection, rest: Query) -> list[Document]:
        """The newest papers the rule without its like: matches, when it names words they
        must hold (a lone NOT or range says too little of the topic to learn from)."""
        if rest.root.anchors() is None:
            return []
        reader = SearchReader(conn)
        hits = search.find(reader, rest, limit=WIDEN_POOL)
        return [Document.of_paper(p) for p in reader.papers_by_ids([h.paper_id for h in hits])]

    def _newest(self, conn: Connection) -> list[Vectors]:
        """The newest _SAMPLE papers as the process keeps them for like: searches (read and
        counted once for both: reading and counting them again for the sample was 120 of a
        process's first like:'s 280 ms at 200,000 papers); fewer when its budget holds fewer."""
        taken: list[Vectors] = []
        for vectors in self.recent_papers().slices(conn):
            taken.append(vectors)
            if sum(len(v.rows) for v in taken) >= _SAMPLE:
                break
        return taken

    def _corpus(self, conn: Connection) -> _Counts:
        generation = stamp(conn)
        counts = self._counts
        if counts is not None and counts.generation == generation:
            return counts  # no refresh since the count: the store is as counted
        documents = int(
            conn.execute(sa.select(sa.func.count()).select_from(paper_index)).scalar_one()
        )
        if counts is None or not counts.documents <= documents <= counts.documents * _STALE_GROWTH:
            sample = SampleCounts.of_vectors(self._newest(conn))
            counts = _Counts(max(documents, 1), sample.average_length or 1.0, sample, generation)
        else:
            # The sample still stands for the store, but the words counted in the index were
            # counted in the store as it was: a seed's rare word counted once (below
            # MIN_DOC_FREQ, so left out of every profile) may have similar papers now.
            counts = _Counts(max(documents, 1), counts.average_length, counts.sample, generation)
        self._counts = counts
        return counts
