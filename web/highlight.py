"""Mark what a query looks for in a paper's text, as the matcher sees it: a phrase as one
phrase, a field-limited term only in its field, nothing a NOT excludes. The query says
where (Query.spans); this only writes the marks."""

from __future__ import annotations

from collections.abc import Collection

from markupsafe import Markup, escape

from topics.query import Query


class Highlighter:
    """highlighter(field, text) -> Markup with <mark> around what the query matched there."""

    def __init__(self, query: Query) -> None:
        self.query = query

    def __call__(
        self, field: str, text: str, matched: Collection[tuple[str, str]] | None = None
    ) -> Markup:
        """matched: the (term, field) pairs that put the paper in the topic; when given, a
        term is marked only where it matched (and text nothing matched in is not scanned)."""
        out: list[str] = []
        last = 0
        for start, end in self.query.spans(field, text, matched):
            out.append(str(escape(text[last:start])))
            out.append(f"<mark>{escape(text[start:end])}</mark>")
            last = end
        out.append(str(escape(text[last:])))
        return Markup("".join(out))
