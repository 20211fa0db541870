"""The analyser: text as words and stems, and a paper analysed for matching.

Case, accents and hyphens never matter, words are whole words, and singular and plural
forms of a word meet at one stem. The spellings of one word meet too (topics.spelling):
a joined compound is its parts (`pretraining` is `pre training`, as `pre-training` is),
letters and digits are split (`resnet50` is `resnet 50`, as `ResNet-50` is; a version
`mobilenetv2` is `mobilenet v 2`), and a British spelling stems to the American one
(`modelling` -> `modeling`). Rules (topics.query), the text index (store.index) and the
highlighter split text here (terms, tokens), so a word in a rule and a word in a paper
compare equal; the store's title keys (parsing.text.title_key) use words() alone.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from typing import NamedTuple

from topics.spelling import AMERICAN, SECONDS, SPLITS

# What the analyser makes of a text. Bump it when that changes: the store then indexes
# every paper again (store.backfill), and every topic is matched again (its fingerprint).
VERSION = 2

# ---- words and stems --------------------------------------------------------------------

WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower-case and strip accents (Poincaré -> poincare)."""
    if text.isascii():  # the common case, and far faster than decomposing
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text).casefold()
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# ASCII text (most of it) is split by translating every non-alphanumeric to a space:
# the same words as WORD finds, several times faster.
_ASCII_SEPARATORS = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()})


def words(text: str) -> list[str]:
    """Split folded text into words; hyphens, slashes and punctuation separate words."""
    if text.isascii():
        return text.lower().translate(_ASCII_SEPARATORS).split()
    return WORD.findall(fold(text))


# Letters then digits, or digits then letters, inside a word: where terms() splits it.
_MIXED = re.compile(r"[^\W\d_]\d|\d[^\W\d_]")
_RUNS = re.compile(r"[^\W\d_]+|\d+")
# A version after a name (mobilenetv2, yolov8): the v is a word of its own, as in "YOLO v8".
_VERSIONED = re.compile(r"([^\W\d_]{3,})(v)$")


def split_word(word: str) -> tuple[str, ...]:
    """A word as the terms it stands for: a joined compound as its parts, letter and digit
    runs apart (resnet50 -> resnet, 50), a version's v apart (yolov8 -> yolo, v, 8)."""
    joined = SPLITS.get(word)
    if joined is not None:
        return joined
    if not _MIXED.search(word):
        return (word,)
    parts: list[str] = []
    for run in _RUNS.findall(word):
        versioned = _VERSIONED.match(run) if run[-1] == "v" else None
        parts.extend(versioned.groups() if versioned else (run,))
    if parts[-1] == "s" and parts[-2].isdigit():  # a plural: ResNet50s, the 1990s
        parts.pop()
    return tuple(parts)


def _mixed(text: str, found: list[str]) -> bool:
    """Might a word of text (found, as words() gives them, folded: x² is x2) hold letters
    and digits? Most texts hold no digit at all (a memchr per digit says so); otherwise
    a word that is neither all letters nor all digits may (split_word decides)."""
    if text.isascii() and not any(digit in text for digit in "0123456789"):
        return False
    return not all(word.isalpha() or word.isdigit() for word in found)


def terms(text: str) -> list[str]:
    """The words of text as matching and the index see them: words(), each split as
    split_word() says. (Text without a compound or a letter-digit mix costs one search.)"""
    found = words(text)
    if SPLITS.keys().isdisjoint(found) and not _mixed(text, found):
        return found
    return [part for word in found for part in split_word(word)]


def prefix_forms(prefix: str) -> list[tuple[str, ...]]:
    """The ways a prefix (folded, as typed before `*`) may start a word's terms: itself
    split as a word is (resnet5 -> resnet, 5), and where it starts a listed compound, the
    compound's parts (pretrai -> pre, trai). The last of each is a prefix."""
    # A letter-digit mix is always split in a text; anything else may stand whole too.
    forms = [split_word(prefix) if _MIXED.search(prefix) else (prefix,)]
    for first, seconds in SECONDS.items():
        rest = prefix[len(first) :]
        if prefix.startswith(first) and rest and any(s.startswith(rest) for s in seconds):
            forms.append((first, rest))
    return list(dict.fromkeys(forms))


def other_spellings(typed: list[str], parts: list[str]) -> tuple[str, ...]:
    """Other spellings of the typed words that mean their terms (a rule describes itself
    with them): a compound joined, hyphenated or spaced (pretraining, pre-training, pre
    training), an American spelling (modelling: modeling)."""
    forms = [" ".join(typed)]
    if len(parts) > 1 and split_word("".join(parts)) == tuple(parts):
        forms += ["".join(parts), "-".join(parts), " ".join(parts)]
    american = [stem(part) if stem(part) != singular(part) else part for part in parts]
    if american != parts:
        forms.append(" ".join(american))
    return tuple(form for form in dict.fromkeys(forms) if form != forms[0])


class Token(NamedTuple):
    """A word of a text where it stands: its offsets, folded form and stem."""

    start: int
    end: int
    word: str
    stem: str


def tokens(text: str) -> Iterator[Token]:
    """Each term of text with its place (what the highlighter marks), split as terms()."""
    folded = text.lower() if text.isascii() else None  # lower-casing keeps every offset
    for m in WORD.finditer(folded if folded is not None else text):
        word = m.group(0) if folded is not None else fold(m.group(0))
        parts = split_word(word)
        if len(parts) == 1:
            yield Token(m.start(), m.end(), word, stem(word))
            continue
        # Parts are pieces of the word, in order; a word that folding lengthened (a
        # ligature) marks the whole word for each.
        exact = len(word) == m.end() - m.start()
        at = m.start()
        for part in parts:
            if exact:
                yield Token(at, at + len(part), part, stem(part))
                at += len(part)
            else:
                yield Token(m.start(), m.end(), part, stem(part))


class TextTokens:
    """A text to mark, split into tokens when a term first asks for them."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def tokens(self) -> list[Token]:
        return list(tokens(self.text))


def singular(word: str) -> str:
    """Reduce an English plural to its singular: networks -> network, vits -> vit."""
    if len(word) < 3 or word[-1] != "s" or not word[-2].isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    return word[:-1]


class StemCache:
    """Words seen and their stems. Bounded in bytes, not entries: queries bring words of
    any length, and a cap on entries once let it take far more than its share of a worker
    (BENCHMARKS.md, memory budgets). Cleared when full
    (an LRU would cost a lock and bookkeeping on the hottest path of matching)."""

    _DICT_SLOT = 100  # a dict entry's share of the table, with room for its growth

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0  # about how many it holds now (for tests and /metrics)
        self._stems: dict[str, str] = {}

    def stem(self, word: str) -> str:
        found = self._stems.get(word)
        if found is None:
            # British to American before and after the plural goes: both forms are listed.
            found = singular(AMERICAN.get(word, word))
            found = AMERICAN.get(found, found)
            cost = (
                sys.getsizeof(word) + (sys.getsizeof(found) if found != word else 0)
            ) + self._DICT_SLOT
            if self.bytes + cost > self.max_bytes:
                self._stems.clear()
                self.bytes = 0
            self._stems[word] = found
            self.bytes += cost
        return found

    def stems_of(self, raw: list[str]) -> list[str]:
        """stem() of every word; known words are looked up in one C-level pass."""
        found = list(map(self._stems.get, raw))
        if None in found:
            found = [s if s is not None else self.stem(w) for s, w in zip(found, raw, strict=True)]
        return found  # type: ignore[return-value]


# One per process: rules, papers and the highlighter share what it learnt.
STEMS = StemCache(16 * 1024 * 1024)
stem = STEMS.stem
stems_of = STEMS.stems_of


# ---- a paper analysed -------------------------------------------------------------------


@dataclass
class FieldText:
    """One field of a paper, analysed for matching."""

    raw: list[str]
    stems: list[str]
    original: str = ""

    @cached_property
    def stem_set(self) -> frozenset[str]:
        return frozenset(self.stems)

    @cached_property
    def raw_set(self) -> frozenset[str]:
        return frozenset(self.raw)

    @cached_property
    def _sorted(self) -> list[str]:
        return sorted(self.raw_set)

    @cached_property
    def _joined(self) -> str:
        return f" {' '.join(self.stems)} "

    def has_stems(self, stems: tuple[str, ...]) -> bool:
        """Are these stems in the field, one after another? (Stems hold no spaces, so a
        phrase is a substring of the spaced stems.)"""
        if len(stems) == 1:
            return stems[0] in self.stem_set
        return f" {' '.join(stems)} " in self._joined

    def spaced_stems(self) -> str:
        """The stems, space-separated (what the text index keeps)."""
        return " ".join(self.stems)

    def has_prefix(self, prefix: str) -> bool:
        """Does any word start with prefix? A binary search in the sorted words."""
        index = bisect_left(self._sorted, prefix)
        return index < len(self._sorted) and self._sorted[index].startswith(prefix)

    @classmethod
    def of(cls, text: str) -> FieldText:
        raw = terms(text)
        return cls(raw=raw, stems=stems_of(raw), original=text)

    @classmethod
    def of_values(cls, values: tuple[str, ...] | list[str]) -> FieldText:
        """Several values (authors): a separator keeps a phrase from spanning two of them."""
        raw: list[str] = []
        for value in values:
            if raw:
                raw.append(SEPARATOR)
            raw.extend(terms(value))
        return cls(raw=raw, stems=stems_of(raw), original=", ".join(values))


class IndexedStems(FieldText):
    """A field as the text index keeps it: its stems, space-separated. Enough to ask for
    words and phrases (has_stems) without analysing the text again; a prefix, a regex or
    the words themselves need the text, and asking for them is a mistake."""

    def __init__(self, spaced: str) -> None:
        super().__init__(raw=[], stems=[])
        self.__dict__["_joined"] = f" {spaced} "
        self._spaced = spaced

    def spaced_stems(self) -> str:
        return self._spaced

    def has_stems(self, stems: tuple[str, ...]) -> bool:
        return f" {' '.join(stems)} " in self._joined

    def has_prefix(self, prefix: str) -> bool:
        raise LookupError("a prefix was asked of a field known only by its stems")

    @property
    def unknown(self) -> frozenset[str]:
        raise LookupError("the words of a field known only by its stems were asked for")

    stem_set = raw_set = unknown  # type: ignore[assignment]


SEPARATOR = "|"  # never produced by terms(), so it equals no query word (nor is indexed)


TEXT_FIELDS = ("title", "abstract", "author", "source", "category")
NUMERIC_FIELDS = ("upvotes", "comments", "version")
IDENTITY_FIELDS = ("id", "doi")  # the arXiv id, the DOI: matched whole (topics.identifiers)
DEFAULT_FIELDS = ("title", "abstract")
# The paper attribute each field is read from.
PAPER_ATTRIBUTES = {
    "title": "title",
    "abstract": "abstract",
    "author": "authors",
    "source": "sources",
    "category": "categories",
    "upvotes": "upvotes",
    "comments": "comments",
    "id": "arxiv_id",
    "doi": "doi",
    "version": "version",
    "announce": "announce_type",
}


@dataclass
class Document:
    """A paper analysed once, then matched against every topic."""

    fields: dict[str, FieldText]
    numbers: dict[str, int | None]
    ids: dict[str, str | None] = field(default_factory=dict)  # of IDENTITY_FIELDS
    # Values matched whole, not as words: announce (new, cross, replace, replace-cross).
    labels: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        *,
        title: str,
        abstract: str = "",
        authors: tuple[str, ...] | list[str] = (),
        sources: tuple[str, ...] | list[str] = (),
        categories: tuple[str, ...] | list[str] = (),
        upvotes: int | None = None,
        comments: int | None = None,
        arxiv_id: str | None = None,
        doi: str | None = None,
    ) -> Document:
        return cls(
            fields={
                "title": FieldText.of(title),
                "abstract": FieldText.of(abstract),
                "author": FieldText.of_values(authors),
                "source": FieldText.of_values(sources),
                "category": FieldText.of_values(categories),
            },
            numbers={"upvotes": upvotes, "comments": comments},
            ids={"id": arxiv_id, "doi": doi},
        )

    @classmethod
    def of_stems(cls, paper: object) -> Document:
        """A paper as the text index keeps it: each indexed field's stems (attributes named
        as the fields, space-separated), and no numbers."""
        return cls(fields=_LazyFields(lambda name: IndexedStems(getattr(paper, name))), numbers={})

    @classmethod
    def of_paper(cls, paper: object) -> Document:
        """A paper whose fields are analysed when a rule first looks at them: confirming a
        search hit on title and abstract need not split the authors."""
        return cls(
            fields=_LazyFields(lambda name: _analysed(paper, name)),
            numbers={
                "upvotes": getattr(paper, "upvotes", None),
                "comments": getattr(paper, "comments", None),
                "version": getattr(paper, "version", None),
            },
            ids={"id": getattr(paper, "arxiv_id", None), "doi": getattr(paper, "doi", None)},
            labels={"announce": getattr(paper, "announce_type", None)},
        )

    def vocabulary(self) -> set[str]:
        """Every stem in every text field: what the prefilter looks up. (One set from the
        fields' lists: a set a field, then their union, cost the prefilter most of its time.)"""
        return set(self.stems())

    def raw_vocabulary(self) -> set[str]:
        return set(self.raw_words())

    def stems(self) -> Iterator[str]:
        """Every stem of every text field, in order, repeats and all."""
        return chain.from_iterable(self.fields[name].stems for name in TEXT_FIELDS)

    def raw_words(self) -> Iterator[str]:
        """Every word of every text field, as terms() split it."""
        return chain.from_iterable(self.fields[name].raw for name in TEXT_FIELDS)


class _LazyFields(dict[str, FieldText]):
    """Fields made on first use: a rule that reads title and abstract never has the
    authors split."""

    def __init__(self, make: Callable[[str], FieldText]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, name: str) -> FieldText:
        text = self[name] = self._make(name)
        return text


def _analysed(paper: object, name: str) -> FieldText:
    if name in ("title", "abstract"):
        return FieldText.of(getattr(paper, name, ""))
    return FieldText.of_values(getattr(paper, PAPER_ATTRIBUTES[name], ()))
