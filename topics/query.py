"""The topic query language: Lucene syntax, parsed by luqum, compiled to a matcher.

A query compiles to a small tree of nodes (Words, Near, Range, Regex, Like, And, Or, Not). Each
node carries all it means: it matches a Document, says which of its words matched where
(explain) and why it did not, describes itself in plain words, and gives its anchors, its
index lookup and where to mark it in a text. A new kind of node is one class here and one
branch of the compiler. Errors carry the 1-based column of the mistake.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import re2
from luqum import tree
from luqum.exceptions import IllegalCharacterError, ParseError, ParseSyntaxError
from luqum.parser import parser as _luqum_parser

from topics import identifiers
from topics.analysis import (
    DEFAULT_FIELDS,
    IDENTITY_FIELDS,
    NUMERIC_FIELDS,
    SEPARATOR,
    VERSION,
    Document,
    FieldText,
    TextTokens,
    Token,
    fold,
    other_spellings,
    prefix_forms,
    stem,
    terms,
    words,
)
from topics.plan import (
    AnyOf,
    IndexShape,
    Lookup,
    Phrase,
    Term,
    all_of,
    prefix_lookup,
    prefix_phrase_lookup,
)
from topics.similarity import RULE_PRIOR, Profile, Similar, Vectors

MAX_QUERY_LENGTH = 1000
MAX_TERMS = 64
MAX_DEPTH = 16
MAX_PHRASE_WORDS = 32
MAX_SLOP = 100  # "a b"~N: at most this many other words among the words
# A regex is compiled with a memory cap (RE2 keeps it within its DFA cache instead of falling
# back to the slow NFA) and refused past a program size: /(.?){1000}x/ would otherwise cost
# seconds per paper. Ordinary patterns compile to a few dozen instructions.
REGEX_MAX_MEM = 8 << 20
MAX_REGEX_PROGRAM = 1000
# Bump when matching semantics change: every topic is re-matched (as when the analyser's
# version changes). 2: memberships carry a score.
_ANALYSIS_VERSION = f"2.{VERSION}"

_FIELD_ALIASES = {
    "title": "title",
    "abstract": "abstract",
    "summary": "abstract",
    "author": "author",
    "authors": "author",
    "source": "source",
    "category": "category",
    "categories": "category",
    "cat": "category",
    "upvotes": "upvotes",
    "comments": "comments",
    "id": "id",
    "arxiv": "id",
    "doi": "doi",
    "version": "version",
    "announce": "announce",
}
# luqum's parser is a module-level PLY parser with state: one parse at a time.
_PARSE_LOCK = threading.Lock()


class QueryError(ValueError):
    """A query that cannot be used, with the 1-based column of the mistake."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        where = f"column {self.column}: " if self.column else ""
        return f"{where}{self.message}"

    def pointed(self, text: str, indent: str = "    ") -> str:
        """The query on one line and a caret under the column of the mistake."""
        line = text.replace("\n", " ").replace("\t", " ")
        caret = " " * ((self.column or 1) - 1) + "^"
        return f"{indent}{line}\n{indent}{caret}"


class UnknownField(QueryError):
    """A field: that is no field (a search box may read it as text: topics.searchbox)."""

    def __init__(self, message: str, column: int | None, name: str) -> None:
        super().__init__(message, column)
        self.name = name


Match = list[tuple[str, str]]  # (what matched, in which field)
LIKE_FIELD = "like"  # the field of a like: explanation, whose label says it all


class Explained(list[tuple[str, str]]):
    """What matched (a Match), and how well: the score a topic is ordered by."""

    score: float = 0.0


Anchor = tuple[str, str]  # ("word", stem) or ("prefix", folded prefix): see topics.matcher
Span = tuple[int, int]  # offsets of what to mark in a text


class Node:
    """A compiled query node. Each kind carries every behaviour of its own: a new kind is
    one class here (and a branch of the compiler), not an edit in every module that reads
    queries. The defaults are those of a node that names no word."""

    grouped = False  # described in parentheses inside another node (And, Or)

    def matches(self, doc: Document) -> bool:
        raise NotImplementedError

    def score(self, doc: Document) -> float:
        """How well doc matches: a rule clause adds RULE_PRIOR, a like: its similarity."""
        return RULE_PRIOR if self.matches(doc) else 0.0

    def explain(self, doc: Document, found: Match) -> None:
        """Add the positive terms that match doc to found."""

    def describe(self) -> str:
        raise NotImplementedError

    def canonical(self) -> str:
        raise NotImplementedError

    def reads(self) -> frozenset[str]:
        """Every field the node reads."""
        return frozenset()

    def failing(self, doc: Document) -> list[str]:
        """Why the node does not match doc, one line per part that failed."""
        return [f"not true: {self.describe()}"]

    def searched_words(self) -> set[str]:
        """The labels of every word and phrase the node looks for, under a NOT too."""
        return set()

    def anchors(self) -> set[Anchor] | None:
        """Words one of which any matching paper contains; None when there is no such set."""
        return None

    def lookup(self, shape: IndexShape) -> Lookup | None:
        """An index lookup whose papers include every paper the node matches; None: scan."""
        return None

    def identities(self) -> frozenset[tuple[str, str]] | None:
        """(field, value) identifiers one of which every matching paper has; None: no such."""
        return None

    def decided_by_stems(self, shape: IndexShape) -> bool:
        """Does the node mean the same on the stems the index keeps as on the text?"""
        return False

    def within(self, vectors: Vectors) -> set[int] | None:
        """The positions of vectors' papers that the node may match (every one it matches
        among them); None: it cannot tell without reading them."""
        return None

    def spans(self, field: str, text: TextTokens, matched: Collection[Anchor] | None) -> list[Span]:
        """Where in text (of field) the node's positive terms are; with matched (the
        (term, field) pairs that put the paper in a topic), a word only where it matched."""
        return []


class _InFields(Node):
    """A node that matches when one of its fields holds it (Words, Near)."""

    fields: tuple[str, ...]
    label: str

    def _in(self, text: FieldText) -> bool:
        raise NotImplementedError

    def matches(self, doc: Document) -> bool:
        # Loops, not any(generator): matching a batch against a thousand topics runs these
        # millions of times, and a generator's setup cost as much as the test.
        fields = doc.fields
        for name in self.fields:  # noqa: SIM110
            if self._in(fields[name]):
                return True
        return False

    def explain(self, doc: Document, found: Match) -> None:
        for name in self.fields:
            if self._in(doc.fields[name]) and (self.label, name) not in found:
                found.append((self.label, name))


@dataclass(frozen=True)
class Words(_InFields):
    """A term, a prefix* or a "phrase": consecutive words in one of the fields."""

    fields: tuple[str, ...]
    stems: tuple[str, ...]
    prefix: bool  # the last word is a prefix
    label: str
    same: tuple[str, ...] = ()  # other spellings it stands for (explained, not searched)
    written: Any = None  # C++, C#: the word as written (RE2), besides its letters

    def _in(self, text: FieldText) -> bool:
        stems, last = self.stems, len(self.stems) - 1
        if self.written is not None:
            return text.has_stems(stems) and self.written.search(text.original) is not None
        if not self.prefix:
            return text.has_stems(stems)
        if last == 0:
            return text.has_prefix(stems[0])
        # A phrase whose last word is a prefix: the words before it, then a word so starting.
        fixed = list(stems[:last])
        if any(s not in text.stem_set for s in fixed):
            return False
        starts = (
            i for i, word in enumerate(text.stems[: len(text.stems) - last]) if word == fixed[0]
        )
        return any(
            text.stems[i : i + last] == fixed and text.raw[i + last].startswith(stems[last])
            for i in starts
        )

    def describe(self) -> str:
        typed = self.label.rstrip("*").split()  # the words typed (a compound is one)
        kind = (
            "a word starting with"
            if self.prefix and len(typed) == 1
            else ("the phrase" if len(typed) > 1 else "the word")
        )
        also = f" (also written {' or '.join(repr(s) for s in self.same)})" if self.same else ""
        return f"{_or_fields(self.fields)} contains {kind} '{self.label.rstrip('*')}'{also}"

    def canonical(self) -> str:
        text = " ".join(self.stems) + ("*" if self.prefix else "")
        written = f" AND /{self.written.pattern}/" if self.written is not None else ""
        return f'{"+".join(self.fields)}:"{text}"{written}'

    def reads(self) -> frozenset[str]:
        return frozenset(self.fields)

    def searched_words(self) -> set[str]:
        return {self.label}

    def anchors(self) -> set[Anchor] | None:
        if self.prefix and len(self.stems) == 1:
            return {("prefix", self.stems[0])}
        fixed = self.stems[:-1] if self.prefix else self.stems
        # The longest word of a phrase is usually the rarest: fewer papers to check.
        return {("word", max(fixed, key=len))}

    def lookup(self, shape: IndexShape) -> Lookup | None:
        if not shape.covers(self.fields):
            return None
        if len(self.stems) == 1:
            if self.prefix:
                return prefix_lookup(self.stems[0], self.fields)
            return Term(self.stems[0], self.fields)
        if not self.prefix:
            return Phrase(self.stems, self.fields)
        return prefix_phrase_lookup(self.stems, self.fields)

    def decided_by_stems(self, shape: IndexShape) -> bool:
        # Prefixes need the words themselves; the index drops the separator between two
        # authors and cuts tokens at max_token letters: author phrases and long words are
        # left to the text.
        return (
            not self.prefix
            and self.written is None
            and shape.covers(self.fields)
            and ("author" not in self.fields or len(self.stems) == 1)
            and all(len(token) < shape.max_token for token in self.stems)
        )

    def spans(self, field: str, text: TextTokens, matched: Collection[Anchor] | None) -> list[Span]:
        if field not in self.fields or (matched is not None and (self.label, field) not in matched):
            return []
        if self.written is not None:
            return [m.span(1) for m in self.written.finditer(text.text)]
        found = text.tokens
        size = len(self.stems)
        return [
            (found[first].start, found[first + size - 1].end)
            for first in range(len(found) - size + 1)
            if self._at(found, first)
        ]

    def _at(self, found: list[Token], first: int) -> bool:
        """Do the words (a phrase: all of them, in order) start at found[first]?"""
        last = len(self.stems) - 1
        for k, wanted in enumerate(self.stems):
            token = found[first + k]
            if k == last and self.prefix:
                if not token.word.startswith(wanted):
                    return False
            elif token.stem != wanted:
                return False
        return True


@dataclass(frozen=True)
class Near(_InFields):
    """ "a b"~N: the words in one field, in any order, with at most N other words among them."""

    fields: tuple[str, ...]
    stems: tuple[str, ...]  # distinct, at least two
    slop: int
    label: str

    def _windows(self, stems: list[str]) -> Iterator[tuple[int, int]]:
        """(first, last) positions of each shortest run of stems holding every word, at
        most slop words more than the words themselves, never across two values (authors)."""
        wanted = frozenset(self.stems)
        width = len(wanted) - 1 + self.slop
        hits = [(i, s) for i, s in enumerate(stems) if s in wanted or s == SEPARATOR]
        for start, (first, word) in enumerate(hits):
            if word == SEPARATOR:
                continue
            seen: set[str] = set()
            for position, other in hits[start:]:
                if other == SEPARATOR or position - first > width:
                    break
                seen.add(other)
                if len(seen) == len(wanted):
                    yield first, position
                    break

    def _in(self, text: FieldText) -> bool:
        if any(s not in text.stem_set for s in self.stems):
            return False
        return next(self._windows(text.stems), None) is not None

    def describe(self) -> str:
        listed = ", ".join(f"'{s}'" for s in self.stems)
        return (
            f"{_or_fields(self.fields)} contains the words {listed} "
            f"with at most {self.slop} other words among them"
        )

    def canonical(self) -> str:
        return f'{"+".join(self.fields)}:"{" ".join(self.stems)}"~{self.slop}'

    def reads(self) -> frozenset[str]:
        return frozenset(self.fields)

    def searched_words(self) -> set[str]:
        return {self.label}

    def anchors(self) -> set[Anchor] | None:
        return {("word", max(self.stems, key=len))}

    def lookup(self, shape: IndexShape) -> Lookup | None:
        # Every word, each in one of the fields: a superset (the index has no positions
        # to ask for nearness on both dialects); the text decides.
        if not shape.covers(self.fields):
            return None
        return all_of([Term(token, self.fields) for token in self.stems])

    def spans(self, field: str, text: TextTokens, matched: Collection[Anchor] | None) -> list[Span]:
        if field not in self.fields or (matched is not None and (self.label, field) not in matched):
            return []
        found = text.tokens
        wanted = frozenset(self.stems)
        return [
            (token.start, token.end)
            for first, last in self._windows([token.stem for token in found])
            for token in found[first : last + 1]
            if token.stem in wanted
        ]


@dataclass(frozen=True)
class Range(Node):
    """A numeric comparison such as upvotes:[20 TO *] or upvotes:>=20."""

    field: str
    low: float | None
    high: float | None
    include_low: bool = True
    include_high: bool = True

    def matches(self, doc: Document) -> bool:
        value = doc.numbers.get(self.field)
        if value is None:
            return False
        if self.low is not None and (
            value < self.low or (value == self.low and not self.include_low)
        ):
            return False
        return not (
            self.high is not None
            and (value > self.high or (value == self.high and not self.include_high))
        )

    def explain(self, doc: Document, found: Match) -> None:
        if self.matches(doc):
            found.append((f"{self.field}={doc.numbers.get(self.field)}", self.field))

    def describe(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>=' if self.include_low else '>'} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<=' if self.include_high else '<'} {self.high:g}")
        return f"{self.field} {' and '.join(parts) or 'is known'}"

    def canonical(self) -> str:
        low = "*" if self.low is None else f"{self.low:g}"
        high = "*" if self.high is None else f"{self.high:g}"
        opening = "[" if self.include_low else "{"
        closing = "]" if self.include_high else "}"
        return f"{self.field}:{opening}{low} TO {high}{closing}"

    def reads(self) -> frozenset[str]:
        return frozenset((self.field,))


@dataclass(frozen=True)
class Announce(Node):
    """announce:new (cross, replace, replace-cross): how arXiv last announced the paper."""

    kind: str

    def matches(self, doc: Document) -> bool:
        return doc.labels.get("announce") == self.kind

    def explain(self, doc: Document, found: Match) -> None:
        if self.matches(doc):
            found.append((f"announce={self.kind}", "announce"))

    def describe(self) -> str:
        return f"announced by arXiv as {self.kind}"

    def canonical(self) -> str:
        return f"announce:{self.kind}"

    def reads(self) -> frozenset[str]:
        return frozenset(("announce",))


ANNOUNCE_KINDS = ("new", "cross", "replace", "replace-cross")


@dataclass(frozen=True)
class Regex(Node):
    """/pattern/, run by RE2 (linear time, no catastrophic backtracking), case-insensitive."""

    fields: tuple[str, ...]
    pattern: str
    compiled: Any

    def matches(self, doc: Document) -> bool:
        return any(self.compiled.search(doc.fields[f].original) for f in self.fields)

    def explain(self, doc: Document, found: Match) -> None:
        for name in self.fields:
            hit = self.compiled.search(doc.fields[name].original)
            if hit:
                found.append((hit.group(0), name))

    def describe(self) -> str:
        return f"{_or_fields(self.fields)} matches the pattern /{self.pattern}/"

    def canonical(self) -> str:
        return f"{'+'.join(self.fields)}:/{self.pattern}/"

    def reads(self) -> frozenset[str]:
        return frozenset(self.fields)

    def spans(self, field: str, text: TextTokens, matched: Collection[Anchor] | None) -> list[Span]:
        # Marked wherever it matches: what it matched is text, not a (term, field) pair.
        if field not in self.fields:
            return []
        return [m.span() for m in self.compiled.finditer(text.text) if m.end() > m.start()]


MAX_LIKE_IDS = 20
_LIKE_FIELDS = ("title", "abstract")


class Unbound(QueryError):
    """A like: asked to match before the store gave it a profile (Query.bind)."""


@dataclass(frozen=True)
class Like(Node):
    """like:(ID ...): papers similar to example papers (topics.similarity), matched when the
    similarity reaches the threshold (min_similarity). unlike:(ID ...) matches every paper
    and pushes the like: profiles of its query away from its papers' words (Rocchio)."""

    ids: tuple[str, ...]
    negative: bool = False
    threshold: float | None = None  # None: the default (topics.similarity)
    profile: Profile | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def _bound(self) -> Profile:
        if self.profile is None:
            raise Unbound(f"{self.canonical()} needs the store's papers to compare with")
        return self.profile

    @property
    def keyword(self) -> str:
        return "unlike" if self.negative else "like"

    def similarity(self, doc: Document) -> float:
        return self._bound.score(doc)

    def matches(self, doc: Document) -> bool:
        return self.negative or self._bound.passes(doc)

    def score(self, doc: Document) -> float:
        # Below the threshold too: in `rule OR like:` the similarity ranks the rule's papers.
        return 0.0 if self.negative else self.similarity(doc)

    def explain(self, doc: Document, found: Match) -> None:
        if not self.negative and self.matches(doc):
            found.append((self.why(doc).line(), LIKE_FIELD))

    def why(self, doc: Document) -> Similar:
        return self._bound.explain(doc)

    def describe(self) -> str:
        papers = f"{len(self.ids)} paper{'s' if len(self.ids) > 1 else ''} ({' '.join(self.ids)})"
        if self.negative:
            return f"pushed away from {papers}"
        floor = "" if self.profile is None else f" (similarity >= {self.profile.threshold:g})"
        return f"similar to {papers}{floor}"

    def canonical(self) -> str:
        limit = "" if self.threshold is None else f">={self.threshold:g}"
        return f"{self.keyword}:({' '.join(self.ids)}){limit}"

    def reads(self) -> frozenset[str]:
        return frozenset(_LIKE_FIELDS)

    def failing(self, doc: Document) -> list[str]:
        found = self.why(doc)
        words = f": {', '.join(found.words)}" if found.words else ""
        return [
            f"not similar enough to {' '.join(self.ids)}: {self.similarity(doc):.2f} < "
            f"{self._bound.threshold:g}{words}"
        ]

    def _words(self) -> list[str]:
        return [] if self.profile is None or self.negative else self.profile.required()

    def anchors(self) -> set[Anchor] | None:
        # A paper whose similarity passes a threshold above 0 holds one of the words.
        found = self._words()
        return {("word", word) for word in found} if found else None

    def lookup(self, shape: IndexShape) -> Lookup | None:
        found = self._words()
        if not found or not shape.covers(_LIKE_FIELDS):
            return None
        return AnyOf(tuple(Term(word, _LIKE_FIELDS) for word in found))

    def decided_by_stems(self, shape: IndexShape) -> bool:
        return shape.covers(_LIKE_FIELDS)

    def within(self, vectors: Vectors) -> set[int] | None:
        return None if self.negative else self._bound.passing(vectors)


@dataclass(frozen=True)
class _Compound(Node):
    """And, Or: a node made of others."""

    children: tuple[Node, ...]
    grouped = True

    @classmethod
    def of(cls, children: list[Node]) -> Node:
        """The node of these children, a child of the same kind merged into it."""
        flat: list[Node] = []
        for child in children:
            flat.extend(child.children if type(child) is cls else [child])  # type: ignore[attr-defined]
        return cls(tuple(flat))

    def reads(self) -> frozenset[str]:
        return frozenset().union(*(child.reads() for child in self.children))

    def score(self, doc: Document) -> float:
        # Every clause that holds adds its part: the rule is a prior beside the similarity.
        total = 0.0
        for child in self.children:
            total += child.score(doc)
        return total

    def searched_words(self) -> set[str]:
        return set().union(*(child.searched_words() for child in self.children))

    def spans(self, field: str, text: TextTokens, matched: Collection[Anchor] | None) -> list[Span]:
        return [span for child in self.children for span in child.spans(field, text, matched)]


@dataclass(frozen=True)
class And(_Compound):
    @classmethod
    def of(cls, children: list[Node]) -> Node:
        if all(type(child) is Not for child in children):
            # "-medical" alone, or "a AND NOT b" written as "NOT b": match everything else.
            children = [Everything(), *children]
        return super().of(children)

    def matches(self, doc: Document) -> bool:
        for child in self.children:  # noqa: SIM110 (a loop: see _InFields.matches)
            if not child.matches(doc):
                return False
        return True

    def within(self, vectors: Vectors) -> set[int] | None:
        told = [found for found in (c.within(vectors) for c in self.children) if found is not None]
        return set.intersection(*told) if told else None

    def explain(self, doc: Document, found: Match) -> None:
        for child in self.children:
            child.explain(doc, found)

    def describe(self) -> str:
        return " and ".join(_paren(c) for c in self.children)

    def canonical(self) -> str:
        return "(" + " AND ".join(c.canonical() for c in self.children) + ")"

    def failing(self, doc: Document) -> list[str]:
        return [
            line for child in self.children if not child.matches(doc) for line in child.failing(doc)
        ]

    def anchors(self) -> set[Anchor] | None:
        options = [found for found in (c.anchors() for c in self.children) if found is not None]
        return min(options, key=len) if options else None

    def lookup(self, shape: IndexShape) -> Lookup | None:
        anchored = [found for found in (c.lookup(shape) for c in self.children) if found]
        return all_of(anchored) if anchored else None

    def identities(self) -> frozenset[tuple[str, str]] | None:
        found = [ids for ids in (c.identities() for c in self.children) if ids is not None]
        return min(found, key=len) if found else None

    def decided_by_stems(self, shape: IndexShape) -> bool:
        return all(child.decided_by_stems(shape) for child in self.children)


@dataclass(frozen=True)
class Or(_Compound):
    def matches(self, doc: Document) -> bool:
        for child in self.children:  # noqa: SIM110 (a loop: see _InFields.matches)
            if child.matches(doc):
                return True
        return False

    def within(self, vectors: Vectors) -> set[int] | None:
        told = [child.within(vectors) for child in self.children]
        return None if None in told else set().union(*told)  # type: ignore[arg-type]

    def explain(self, doc: Document, found: Match) -> None:
        for child in self.children:
            if child.matches(doc):
                child.explain(doc, found)

    def describe(self) -> str:
        return " or ".join(_paren(c) for c in self.children)

    def canonical(self) -> str:
        return "(" + " OR ".join(c.canonical() for c in self.children) + ")"

    def failing(self, doc: Document) -> list[str]:
        return [f"none of these is true: {self.describe()}"]

    def anchors(self) -> set[Anchor] | None:
        found: set[Anchor] = set()
        for child in self.children:
            sub = child.anchors()
            if sub is None:
                return None
            found |= sub
        return found

    def lookup(self, shape: IndexShape) -> Lookup | None:
        branches = [child.lookup(shape) for child in self.children]
        if any(branch is None for branch in branches):
            return None  # one branch needs a scan, so the whole OR does
        return AnyOf(tuple(branches))  # type: ignore[arg-type]

    def identities(self) -> frozenset[tuple[str, str]] | None:
        found = [child.identities() for child in self.children]
        return None if None in found else frozenset().union(*found)  # type: ignore[arg-type]

    def decided_by_stems(self, shape: IndexShape) -> bool:
        return all(child.decided_by_stems(shape) for child in self.children)


@dataclass(frozen=True)
class Not(Node):
    child: Node

    def matches(self, doc: Document) -> bool:
        return not self.child.matches(doc)

    def score(self, doc: Document) -> float:
        return 0.0

    def describe(self) -> str:
        return f"not ({self.child.describe()})"

    def canonical(self) -> str:
        return f"NOT {self.child.canonical()}"

    def reads(self) -> frozenset[str]:
        return self.child.reads()

    def failing(self, doc: Document) -> list[str]:
        found: Match = []
        self.child.explain(doc, found)
        what = format_matches(found) if found else self.child.describe()
        return [f"excluded by NOT ({self.child.describe()}): found {what}"]

    def searched_words(self) -> set[str]:
        return self.child.searched_words()

    def decided_by_stems(self, shape: IndexShape) -> bool:
        return self.child.decided_by_stems(shape)


@dataclass(frozen=True)
class Identifier(Node):
    """id:2410.03450 (an arXiv id) or doi:10.1145/...: the paper that has it."""

    field: str  # "id" or "doi"
    value: str  # as the store keeps it: no version, a DOI in lower case

    def matches(self, doc: Document) -> bool:
        return doc.ids.get(self.field) == self.value

    def explain(self, doc: Document, found: Match) -> None:
        if self.matches(doc):
            found.append((self._named(), self.field))

    def describe(self) -> str:
        return f"the paper is {self._named()}"

    def _named(self) -> str:
        return f"arXiv:{self.value}" if self.field == "id" else f"doi:{self.value}"

    def canonical(self) -> str:
        return f'{self.field}:"{self.value}"'

    def reads(self) -> frozenset[str]:
        return frozenset((self.field,))

    def identities(self) -> frozenset[tuple[str, str]] | None:
        return frozenset(((self.field, self.value),))


@dataclass(frozen=True)
class Everything(Node):
    """The query `*`."""

    def matches(self, doc: Document) -> bool:
        return True

    def score(self, doc: Document) -> float:
        return 0.0

    def describe(self) -> str:
        return "every paper"

    def canonical(self) -> str:
        return "*"


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, _Compound):
        return node.children
    return (node.child,) if isinstance(node, Not) else ()


def _likes(node: Node) -> Iterator[Like]:
    if isinstance(node, Like):
        yield node
    for child in _children(node):
        yield from _likes(child)


def _alternatives(node: Node) -> Iterator[Like]:
    """The positive like: nodes that are children of an Or beside a clause that is not one."""
    if isinstance(node, Or) and any(not isinstance(c, Like) for c in node.children):
        yield from (c for c in node.children if isinstance(c, Like) and not c.negative)
    for child in _children(node):
        yield from _alternatives(child)


def _bound(node: Node, profiles: dict[Like, Profile]) -> Node:
    if isinstance(node, Like):
        return replace(node, profile=profiles.get(node, node.profile))
    if isinstance(node, _Compound):
        return replace(node, children=tuple(_bound(c, profiles) for c in node.children))
    if isinstance(node, Not):
        return replace(node, child=_bound(node.child, profiles))
    return node


def _without_likes(node: Node) -> Node | None:
    if isinstance(node, Like):
        return None
    if isinstance(node, _Compound):
        kept = [c for c in (_without_likes(child) for child in node.children) if c is not None]
        return (kept[0] if len(kept) == 1 else type(node).of(kept)) if kept else None
    if isinstance(node, Not):
        child = _without_likes(node.child)
        return None if child is None else Not(child)
    return node


def with_min_similarity(query: Query, threshold: float) -> Query:
    """The query with every like: of it matching from this similarity on."""
    return replace(query, root=_thresholds(query.root, threshold))


def _thresholds(node: Node, threshold: float) -> Node:
    if isinstance(node, Like):
        return replace(node, threshold=threshold)
    if isinstance(node, _Compound):
        return replace(node, children=tuple(_thresholds(c, threshold) for c in node.children))
    if isinstance(node, Not):
        return replace(node, child=_thresholds(node.child, threshold))
    return node


def _paren(node: Node) -> str:
    text = node.describe()
    return f"({text})" if node.grouped else text


def _or_fields(fields: tuple[str, ...]) -> str:
    return " or ".join(fields)


@dataclass(frozen=True)
class Query:
    """A compiled query: the text it came from and its root node, whose behaviours it
    offers for the whole query."""

    text: str
    root: Node

    def matches(self, doc: Document) -> bool:
        return self.root.matches(doc)

    def explain(self, doc: Document) -> Explained | None:
        """What matched in which field, or None when the paper does not match (`*` and NOT
        name no words, so a match may explain itself with an empty list); .score says how
        well it matches."""
        if not self.root.matches(doc):
            return None
        found = Explained()
        self.root.explain(doc, found)
        found.score = round(self.root.score(doc), 4)
        return found

    def likes(self) -> list[Like]:
        """Every like: and unlike: of the query (what bind() needs profiles for)."""
        return list(_likes(self.root))

    def bind(self, profiles: dict[Like, Profile]) -> Query:
        """The query with each like: node given its profile (built from the store)."""
        return replace(self, root=_bound(self.root, profiles))

    def widened_likes(self) -> set[Like]:
        """The like: nodes beside the rule in an OR (`rule OR like:`): the rule's papers
        widen their profiles (Profile.widened). A like: the rule's papers must pass (`rule
        AND like:`) is not widened: a profile learned from those papers lets every one of
        them through, whatever the examples."""
        return set(_alternatives(self.root))

    def without_similarity(self) -> Query | None:
        """The rule without its like: and unlike: clauses (None when nothing is left): the
        papers it matches widen a like: profile (see Profile.widened)."""
        root = _without_likes(self.root)
        return None if root is None else replace(self, root=root)

    def exclusions(self, doc: Document) -> list[str]:
        """One line per part of the rule that kept doc out; empty when it matches."""
        return [] if self.root.matches(doc) else self.root.failing(doc)

    def spans(self, field: str, text: str, matched: Collection[Anchor] | None = None) -> list[Span]:
        """Where in text (of field) the query's positive terms are, merged and in order."""
        return _merged(self.root.spans(field, TextTokens(text), matched)) if text else []

    def describe(self) -> str:
        return self.root.describe()

    @property
    def fields(self) -> frozenset[str]:
        """Every field the query reads (a paper need hold no others to be matched)."""
        return self.root.reads()

    @property
    def canonical(self) -> str:
        return self.root.canonical()

    @property
    def fingerprint(self) -> str:
        data = f"{_ANALYSIS_VERSION}\n{self.canonical}".encode()
        return hashlib.sha256(data).hexdigest()


def _merged(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def format_matches(found: Match) -> str:
    """'resnet (title), residual connection (abstract)'; a like: says its own."""
    return ", ".join(
        label if field == LIKE_FIELD else f"{label} ({field})" for label, field in found
    )


# ---- compiling luqum trees --------------------------------------------------------------


def parse(text: str) -> Query:
    """Parse and compile a query, or raise QueryError saying where and what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise QueryError('the query is empty: write a word, a "phrase" or field:value', 1)
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"the query is {len(text)} characters long; the limit is {MAX_QUERY_LENGTH}",
            MAX_QUERY_LENGTH + 1,
        )
    _check_nesting(text)
    _check_proximity_degrees(text)
    with _PARSE_LOCK:
        try:
            luqum_tree = _luqum_parser.parse(text)
        except IllegalCharacterError as error:
            raise _translate(text, error) from None
        except ParseSyntaxError as error:
            raise _translate(text, error) from None
        except ParseError as error:
            raise QueryError(str(error)) from None
        except (ArithmeticError, ValueError, TypeError, IndexError, RecursionError) as error:
            # luqum chokes on a few odd inputs ("0~." raises decimal.InvalidOperation).
            raise QueryError(f"cannot read the query ({type(error).__name__})") from None
    compiler = _Compiler(text)
    root = compiler.compile(luqum_tree, None, depth=0)
    _check_unlikes(root)
    return Query(text=text, root=root)


def _check_unlikes(root: Node) -> None:
    """unlike: only beside a like:, as one of the conditions all of which hold."""
    found = list(_likes(root))
    unlikes = [n for n in found if n.negative]
    if not unlikes:
        return
    top = root.children if isinstance(root, And) else (root,)
    if any(n not in top for n in unlikes) or len(unlikes) == len(found):
        raise QueryError(
            "unlike: pushes a like: away: write it beside one, "
            "like:(2401.01234) AND unlike:(2312.00001)"
        )


# A phrase's ~ and what follows it: the parser reads "a b"~1.5 as an error of its own and
# "a b"~-1 as "a b"~1 AND NOT 1, so the degree is checked on the text first.
_PROXIMITY_DEGREE = re.compile(r'"~([-+.\d]*)')


def _check_proximity_degrees(text: str) -> None:
    for found in _PROXIMITY_DEGREE.finditer(text):
        degree = found.group(1)
        if degree and not degree.isdigit():  # a whole number too large: the compiler says so
            raise QueryError(
                f"proximity is a whole number of words from 0 to {MAX_SLOP} ('~{degree}')",
                text.rfind('"', 0, found.start()) + 1,  # where the phrase opens, as the compiler
            )


def _check_nesting(text: str) -> None:
    depth = 0
    for column, char in enumerate(text, start=1):
        if char == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise QueryError(f"parentheses nest deeper than {MAX_DEPTH} levels", column)
        elif char == ")":
            depth -= 1


def _open_bracket(text: str) -> str:
    """The bracket a query leaves open last, outside phrases: '(' a group, '[' or '{' a
    range; "(" when none is open (the message for a group is the general one)."""
    opened: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "([{":
            opened.append(char)
        elif not quoted and char in ")]}" and opened:
            opened.pop()
    return opened[-1] if opened else "("


def _translate(text: str, error: Exception) -> QueryError:
    message = str(error)
    at_position = re.search(r"at position (\d+)", message)
    if "end of expression" in message or "at the end" in message:
        if _open_bracket(text) in "[{":  # not a group: say what a range needs
            return QueryError(
                "the query ends too early: a range needs 'TO' and a closing ']' or '}' "
                "(upvotes:[20 TO *], comments:{0 TO 10])",
                len(text) + 1,
            )
        return QueryError(
            "the query ends too early: expected a term, a \"phrase\" or a closing ')'",
            len(text) + 1,
        )
    column = int(at_position.group(1)) + 1 if at_position else None
    token = re.search(r"'([^']*)'", message)
    found = token.group(1) if token else "this"
    if isinstance(error, IllegalCharacterError):
        if found.startswith('"'):
            return QueryError("unclosed quote: a phrase needs a closing '\"'", column)
        return QueryError(f"unexpected character {found!r}", column)
    return QueryError(
        f"unexpected {found!r}: expected a term, a \"phrase\", '(' or field:value", column
    )


class _Compiler:
    def __init__(self, text: str) -> None:
        self.text = text
        self.terms = 0

    def column(self, node: Any) -> int | None:
        pos = getattr(node, "pos", None)
        return pos + 1 if isinstance(pos, int) else None

    def compile(self, node: Any, fields: tuple[str, ...] | None, depth: int) -> Node:
        if depth > MAX_DEPTH * 2:
            raise QueryError(f"the query nests deeper than {MAX_DEPTH} levels", self.column(node))
        if isinstance(node, tree.SearchField) and node.name.lower() in ("like", "unlike"):
            return self.like(node)
        if isinstance(node, tree.SearchField):
            return self.compile(node.expr, self.field(node), depth + 1)
        if isinstance(node, tree.Group | tree.FieldGroup):
            return self.compile(node.expr, fields, depth + 1)
        if isinstance(node, tree.AndOperation | tree.UnknownOperation):
            return self.combine(node, And, fields, depth)
        if isinstance(node, tree.OrOperation):
            return self.combine(node, Or, fields, depth)
        if isinstance(node, tree.Not | tree.Prohibit):
            return Not(self.compile(node.a, fields, depth + 1))
        if isinstance(node, tree.Plus):
            return self.compile(node.a, fields, depth + 1)
        if isinstance(node, tree.Fuzzy):
            raise QueryError(
                "fuzzy matching (~) is not supported: list the spellings with OR", self.column(node)
            )
        if isinstance(node, tree.Proximity):
            return self.near(node, fields)
        if isinstance(node, tree.Boost):
            raise QueryError(
                "boosts (^) are not supported: feeds are not ranked", self.column(node)
            )
        if isinstance(node, tree.Range | tree.From | tree.To):
            return self.range(node, fields)
        if isinstance(node, tree.Regex):
            return self.regex(node, fields)
        if isinstance(node, tree.Phrase):
            return self.words(node, node.value[1:-1], fields, phrase=True)
        if isinstance(node, tree.Word):
            return self.words(node, node.value, fields, phrase=False)
        raise QueryError(f"unsupported query construct {type(node).__name__}", self.column(node))

    def combine(
        self, node: Any, kind: type[_Compound], fields: tuple[str, ...] | None, depth: int
    ) -> Node:
        children = [self.compile(child, fields, depth + 1) for child in node.children]
        return kind.of(children)

    def field(self, node: Any) -> tuple[str, ...]:
        name = node.name.lower()
        if name not in _FIELD_ALIASES:
            known = ", ".join(sorted(set(_FIELD_ALIASES.values())))
            message = f"unknown field '{node.name}': fields are {known}"
            raise UnknownField(message, self.column(node), node.name)
        return (_FIELD_ALIASES[name],)

    def like(self, node: Any) -> Node:
        """like:ID, like:(ID ID ...), IDs quoted when they hold ':' or '/' (a DOI, a URN)."""
        ids: list[str] = []
        pending = [node.expr]
        while pending:
            part = pending.pop(0)
            if isinstance(part, tree.Group | tree.FieldGroup):
                pending.insert(0, part.expr)
            elif isinstance(part, tree.UnknownOperation | tree.OrOperation):
                pending[:0] = list(part.children)
            elif isinstance(part, tree.Word | tree.Phrase):
                self.count_term(part)
                ids.extend(str(part.value).strip('"').split())
            else:
                raise QueryError(
                    f"{node.name}: takes paper ids: {node.name}:2401.01234 or "
                    f'{node.name}:(2401.01234 "10.1101/2024.01.01.123456")',
                    self.column(node),
                )
        ids = list(dict.fromkeys(ids))
        if not ids or len(ids) > MAX_LIKE_IDS:
            raise QueryError(f"{node.name}: takes 1 to {MAX_LIKE_IDS} paper ids", self.column(node))
        return Like(ids=tuple(ids), negative=node.name.lower() == "unlike")

    def count_term(self, node: Any) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise QueryError(f"the query has more than {MAX_TERMS} terms", self.column(node))

    def text_fields(self, node: Any, fields: tuple[str, ...] | None) -> tuple[str, ...]:
        fields = fields or DEFAULT_FIELDS
        if "announce" in fields:
            raise QueryError(
                f"announce takes one word: {', '.join(ANNOUNCE_KINDS)}", self.column(node)
            )
        if any(f in NUMERIC_FIELDS for f in fields):
            raise QueryError(
                f"'{fields[0]}' is a number: compare it with a range such as {fields[0]}:>=10 "
                f"or {fields[0]}:[10 TO *]",
                self.column(node),
            )
        return fields

    def words(self, node: Any, value: str, fields: tuple[str, ...] | None, phrase: bool) -> Node:
        self.count_term(node)
        if fields == ("announce",):
            if value.lower() not in ANNOUNCE_KINDS:
                raise QueryError(
                    f"announce is one of {', '.join(ANNOUNCE_KINDS)} ('{value}')",
                    self.column(node),
                )
            return Announce(value.lower())
        if value == "*" and not phrase:
            return Everything()
        if fields and fields[0] in IDENTITY_FIELDS:
            return self.identifier(node, value, fields[0])
        fields = self.text_fields(node, fields)
        # A trailing * is a prefix, in a phrase too ("image rec*"), which Lucene lacks.
        prefix = value.endswith("*") and value.count("*") == 1
        if not phrase and ("?" in value or "*" in value.rstrip("*") or value.count("*") > 1):
            raise QueryError(
                f"wildcards are only supported at the end of a word ('{value}')", self.column(node)
            )
        found = words(value.rstrip("*") if prefix else value)
        if not found:
            raise QueryError(f"'{value}' has no letters or digits to match", self.column(node))
        parts = terms(" ".join(found[:-1] if prefix else found))
        if len(parts) > MAX_PHRASE_WORDS:
            raise QueryError(f"a phrase has at most {MAX_PHRASE_WORDS} words", self.column(node))
        if prefix and len(found[-1]) < 2:
            raise QueryError("a prefix needs at least 2 letters before '*'", self.column(node))
        label = " ".join(found) + ("*" if prefix else "")
        stems = tuple(stem(w) for w in parts)
        if prefix:  # each way the prefix may start a word's terms (see prefix_forms)
            forms = [
                Words(
                    fields,
                    stems + tuple(map(stem, form[:-1])) + (form[-1],),
                    True,
                    label,
                    (f"{'-'.join(form)}*", f"{' '.join(form)}*") if len(form) > 1 else (),
                )
                for form in prefix_forms(fold(found[-1]))
            ]
            return forms[0] if len(forms) == 1 else Or.of(list(forms))
        written = _written(value) if not phrase else None
        label = value if written is not None else label
        return Words(fields, stems, False, label, other_spellings(found, parts), written)

    def identifier(self, node: Any, value: str, field: str) -> Node:
        read = identifiers.arxiv_id(value) if field == "id" else identifiers.doi(value)
        if read is None:
            example = "2410.03450" if field == "id" else "10.1145/3442188.3445922"
            raise QueryError(
                f"'{value}' is not {'an arXiv id' if field == 'id' else 'a DOI'}: "
                f"{field}:{example}",
                self.column(node),
            )
        return Identifier(field, read)

    def near(self, node: Any, fields: tuple[str, ...] | None) -> Node:
        self.count_term(node)
        if not isinstance(node.term, tree.Phrase):
            raise QueryError('proximity needs a "phrase" of words: "a b"~3', self.column(node))
        fields = self.text_fields(node, fields)
        value = node.term.value[1:-1]
        if "*" in value or "?" in value:
            raise QueryError(
                f"proximity takes whole words, not wildcards ('{value}')", self.column(node)
            )
        found = terms(value)
        stems = tuple(dict.fromkeys(stem(w) for w in found))
        if len(stems) < 2:
            raise QueryError(
                'proximity needs at least two different words: "a b"~3', self.column(node)
            )
        if len(found) > MAX_PHRASE_WORDS:
            raise QueryError(f"a phrase has at most {MAX_PHRASE_WORDS} words", self.column(node))
        try:
            slop = int(str(node.degree))
        except ValueError:
            slop = -1
        if not 0 <= slop <= MAX_SLOP:
            raise QueryError(
                f"proximity is a whole number of words from 0 to {MAX_SLOP} ('~{node.degree}')",
                self.column(node),
            )
        return Near(fields=fields, stems=stems, slop=slop, label=f"{' '.join(found)}~{slop}")

    def range(self, node: Any, fields: tuple[str, ...] | None) -> Node:
        self.count_term(node)
        if not fields or fields[0] not in NUMERIC_FIELDS:
            raise QueryError(
                "ranges need a numeric field: upvotes:[20 TO *] or comments:>=3",
                self.column(node),
            )
        if isinstance(node, tree.Range):
            return Range(
                fields[0],
                self.number(node.low),
                self.number(node.high),
                bool(node.include_low),
                bool(node.include_high),
            )
        if isinstance(node, tree.From):
            return Range(fields[0], self.number(node.a), None, bool(node.include), True)
        return Range(fields[0], None, self.number(node.a), True, bool(node.include))

    def number(self, node: Any) -> float | None:
        value = str(getattr(node, "value", node))
        if value == "*":
            return None
        try:
            return float(value)
        except ValueError:
            raise QueryError(f"'{value}' is not a number", self.column(node)) from None

    def regex(self, node: Any, fields: tuple[str, ...] | None) -> Node:
        self.count_term(node)
        fields = self.text_fields(node, fields)
        pattern = node.value[1:-1]
        options = re2.Options()
        options.max_mem = REGEX_MAX_MEM
        options.case_sensitive = False
        options.log_errors = False  # the QueryError says it; RE2 would also print to stderr
        try:
            compiled = re2.compile(pattern, options)
        except re2.error as error:
            raise QueryError(
                f"bad regular expression /{pattern}/: {_re2_reason(error)}", self.column(node)
            ) from None
        if compiled.programsize > MAX_REGEX_PROGRAM:
            raise QueryError(
                f"the regular expression /{pattern[:40]}/ is too complex "
                f"(size {compiled.programsize}, limit {MAX_REGEX_PROGRAM}): simplify the "
                "repetition or use words",
                self.column(node),
            )
        return Regex(fields=fields, pattern=pattern, compiled=compiled)


# A word that ends in + or # (C++, C#, F#): its letters alone are another word, so it
# also needs the text as written.
_WRITTEN = re.compile(r"[^\W_]+[+#]+")


def _written(value: str) -> Any:
    """The RE2 pattern of a word written with + or # (C++), else None."""
    if not _WRITTEN.fullmatch(value):
        return None
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    return re2.compile(r"\b(" + re.escape(value) + r")(?:[^+#]|$)", options)


def _re2_reason(error: Exception) -> str:
    """RE2's reason in words: b'missing ): (?i)res(' -> 'missing )'."""
    reason = error.args[0] if error.args else str(error)
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", errors="replace")
    return str(reason).split(": (?i)")[0]
