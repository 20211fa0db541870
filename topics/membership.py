"""Which topics a stored paper belongs to, and why: the one road from a paper to its
topics, whether the paper is new or changed or a topic's rule changed.

Topics holds the configured rules. For papers just written it matches each paper against
every rule at once (TopicMatcher: a paper looks its words up in the rules' anchors); for
a rule that changed it finds the rule's papers through the text index (search.find).
Either way each membership is confirmed by Query.explain, so a paper belongs to a topic
for the same reason whichever side changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from topics import search
from topics.analysis import Document
from topics.matcher import TopicMatcher
from topics.query import Match, Query

Matches = dict[int, dict[str, Match]]  # paper id -> topic -> what matched


class _Paper(Protocol):
    @property
    def id(self) -> int | None: ...


class Topics:
    """The configured topics' rules, by name."""

    def __init__(self, queries: Mapping[str, Query]) -> None:
        self.queries = dict(queries)
        self._matcher = TopicMatcher(self.queries)

    def of_papers(
        self, papers: Iterable[_Paper], docs: Mapping[int, Document] | None = None
    ) -> Matches:
        """{paper id: {topic: what matched}} of papers just written (new or changed); docs:
        those already analysed, by id (the text index keeps the same analysis)."""
        if not self.queries:
            return {}
        docs = docs or {}
        return {
            paper.id: self._matcher.match(docs.get(paper.id) or Document.of_paper(paper))
            for paper in papers
            if paper.id is not None
        }

    def changed(self, fingerprints: Mapping[str, str]) -> list[str]:
        """The topics whose rule is not the one their memberships were matched with."""
        return [
            name
            for name, query in self.queries.items()
            if fingerprints.get(name) != query.fingerprint
        ]

    def members(self, index: search.TextIndex[search.P], name: str) -> list[search.Hit]:
        """Every paper the rule of topic name matches now (it changed), newest first."""
        return search.find(index, self.queries[name])
