"""Mark what a query looks for in a paper's text, as the matcher sees it: a phrase as one
phrase, a field-limited term only in its field, nothing a NOT excludes."""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from markupsafe import Markup, escape

from parsing.text import WORD, fold, stem
from topics.query import And, Node, Or, Query, Regex, Words


class _Token(NamedTuple):
    start: int
    end: int
    word: str  # folded
    stem: str


def _positive(node: Node) -> list[Words | Regex]:
    """The terms whose presence makes a paper match (a NOT's terms never do)."""
    if isinstance(node, Words | Regex):
        return [node]
    if isinstance(node, And | Or):
        return [term for child in node.children for term in _positive(child)]
    return []


class Highlighter:
    """highlighter(field, text) -> Markup with <mark> around what the query matched there."""

    def __init__(self, query: Query) -> None:
        self.terms = _positive(query.root)

    def __call__(
        self, field: str, text: str, matched: Collection[tuple[str, str]] | None = None
    ) -> Markup:
        """matched: the (term, field) pairs that put the paper in the topic; when given, a
        term is marked only where it matched (and text nothing matched in is not scanned)."""
        terms = [
            t
            for t in self.terms
            if field in t.fields
            and (matched is None or isinstance(t, Regex) or (t.label, field) in matched)
        ]
        spans = self._spans(terms, text) if terms and text else []
        out: list[str] = []
        last = 0
        for start, end in _merged(spans):
            out.append(str(escape(text[last:start])))
            out.append(f"<mark>{escape(text[start:end])}</mark>")
            last = end
        out.append(str(escape(text[last:])))
        return Markup("".join(out))

    def _spans(self, terms: list[Words | Regex], text: str) -> list[tuple[int, int]]:
        tokens = _tokens(text)
        spans: list[tuple[int, int]] = []
        for term in terms:
            if isinstance(term, Regex):
                spans.extend(m.span() for m in term.compiled.finditer(text) if m.end() > m.start())
                continue
            size = len(term.stems)
            for first in range(len(tokens) - size + 1):
                if _words_at(term, tokens, first):
                    spans.append((tokens[first].start, tokens[first + size - 1].end))
        return spans


def _tokens(text: str) -> list[_Token]:
    """Each word of text with its place, folded form and stem (as the matcher analyses it)."""
    if text.isascii():  # lower-casing keeps every offset: fold the whole text at once
        return [
            _Token(m.start(), m.end(), m.group(0), stem(m.group(0)))
            for m in WORD.finditer(text.lower())
        ]
    found = []
    for m in WORD.finditer(text):
        word = fold(m.group(0))
        found.append(_Token(m.start(), m.end(), word, stem(word)))
    return found


def _words_at(term: Words, tokens: list[_Token], first: int) -> bool:
    """Do the term's words (a phrase: all of them, in order) start at tokens[first]?"""
    last = len(term.stems) - 1
    for k, wanted in enumerate(term.stems):
        token = tokens[first + k]
        if k == last and term.prefix:
            if not token.word.startswith(wanted):
                return False
        elif token.stem != wanted:
            return False
    return True


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
