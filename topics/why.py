"""Why a query does not match a paper: the parts of the rule that kept it out, in words
(each node says why it failed: topics.query.Node.failing)."""

from __future__ import annotations

from topics.analysis import Document
from topics.query import Query


def exclusions(query: Query, doc: Document) -> list[str]:
    """One line per part of the rule that failed; empty when the paper matches."""
    return query.exclusions(doc)
