"""Why a query does not match a paper: the parts of the rule that kept it out, in words."""

from __future__ import annotations

from topics.analysis import Document
from topics.query import And, Node, Not, Or, Query, format_matches


def exclusions(query: Query, doc: Document) -> list[str]:
    """One line per part of the rule that failed; empty when the paper matches."""
    if query.matches(doc):
        return []
    return _failing(query.root, doc)


def _failing(node: Node, doc: Document) -> list[str]:
    if isinstance(node, And):
        return [
            line
            for child in node.children
            if not child.matches(doc)
            for line in _failing(child, doc)
        ]
    if isinstance(node, Not):
        found: list[tuple[str, str]] = []
        node.child.explain(doc, found)
        what = format_matches(found) if found else node.child.describe()
        return [f"excluded by NOT ({node.child.describe()}): found {what}"]
    if isinstance(node, Or):
        return [f"none of these is true: {node.describe()}"]
    return [f"not true: {node.describe()}"]
