"""Match many papers against many topics without trying every pair.

Each topic gets anchor words: a set of which a paper must contain at least one for the
topic to possibly match (for an OR, one anchor per branch; for an AND, the anchors of
one branch). A paper then looks up its own words in the anchor index and only the topics
found there, plus those that cannot be anchored (a top-level NOT, ranges, regexes), are
evaluated exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from operator import itemgetter

from topics.analysis import Document
from topics.query import Match, Query


class TopicMatcher:
    """Every topic's query, indexed by anchor words."""

    def __init__(self, queries: Mapping[str, Query]) -> None:
        self.queries = dict(queries)
        self.by_word: dict[str, list[str]] = defaultdict(list)
        self.by_prefix: dict[str, list[str]] = defaultdict(list)
        self.unanchored: list[str] = []
        for name, query in self.queries.items():
            found = query.root.anchors()
            if found is None:
                self.unanchored.append(name)
                continue
            for kind, value in found:
                (self.by_word if kind == "word" else self.by_prefix)[value].append(name)
        self.prefix_lengths = sorted({len(p) for p in self.by_prefix})
        self._words = frozenset(self.by_word)
        self._heads = [
            (itemgetter(slice(0, n)), frozenset(p for p in self.by_prefix if len(p) == n))
            for n in self.prefix_lengths
        ]

    def candidates(self, doc: Document) -> set[str]:
        """Topics that may match doc: a superset of the topics that do."""
        found: set[str] = set(self.unanchored)
        # The anchors a paper holds: a set of anchors intersected with the paper's words in
        # C, with no set made of the paper's words (far cheaper than a lookup per word).
        for word in self._words.intersection(doc.stems()):
            found.update(self.by_word[word])
        if self._heads:
            raw = doc.raw_vocabulary()  # a set: every head length reads it again
            for head, prefixes in self._heads:  # each word's first n letters (a shorter
                # word is itself: it can only meet a prefix it equals, which it starts with)
                for prefix in prefixes.intersection(map(head, raw)):
                    found.update(self.by_prefix[prefix])
        return found

    def match(self, doc: Document) -> dict[str, Match]:
        """{topic: what matched} for every topic doc belongs to."""
        result: dict[str, Match] = {}
        for name in self.candidates(doc):
            found = self.queries[name].explain(doc)
            if found is not None:
                result[name] = found
        return result
