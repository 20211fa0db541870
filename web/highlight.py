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

    def snippet(
        self,
        field: str,
        text: str,
        matched: Collection[tuple[str, str]] | None = None,
        width: int = 280,
    ) -> Markup | None:
        """About width characters of text around the first mark, whole words, with "…"
        where it was cut: what matched, visible without unfolding. None: nothing marked."""
        spans = list(self.query.spans(field, text, matched))
        if not spans:
            return None
        first = spans[0][0]
        start = max(0, first - width // 3)
        if start:
            start = text.find(" ", start, first) + 1 or start  # at a word
        end = min(len(text), start + width)
        if end < len(text):
            end = text.rfind(" ", spans[0][1], end) if " " in text[spans[0][1] : end] else end
        out = ["…" if start else ""]
        last = start
        for span_start, span_end in spans:
            if span_start < last or span_end > end:
                continue
            out.append(str(escape(text[last:span_start])))
            out.append(f"<mark>{escape(text[span_start:span_end])}</mark>")
            last = span_end
        out.append(str(escape(text[last:end])))
        out.append("…" if end < len(text) else "")
        return Markup("".join(out))
