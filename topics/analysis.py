"""A paper analysed for matching: each field as words and stems, once per paper.

Case, accents and hyphens never matter, words are whole words, and singular and plural
forms of a word meet at one stem (parsing.text holds those functions).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from parsing.text import stems_of, words


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

    def has_prefix(self, prefix: str) -> bool:
        """Does any word start with prefix? A binary search in the sorted words."""
        index = bisect_left(self._sorted, prefix)
        return index < len(self._sorted) and self._sorted[index].startswith(prefix)

    @classmethod
    def of(cls, text: str) -> FieldText:
        raw = words(text)
        return cls(raw=raw, stems=stems_of(raw), original=text)

    @classmethod
    def of_values(cls, values: tuple[str, ...] | list[str]) -> FieldText:
        """Several values (authors): a separator keeps a phrase from spanning two of them."""
        raw: list[str] = []
        for value in values:
            if raw:
                raw.append(SEPARATOR)
            raw.extend(words(value))
        return cls(raw=raw, stems=stems_of(raw), original=", ".join(values))


class IndexedStems(FieldText):
    """A field as the text index keeps it: its stems, space-separated. Enough to ask for
    words and phrases (has_stems) without analysing the text again; a prefix, a regex or
    the words themselves need the text, and asking for them is a mistake."""

    def __init__(self, spaced: str) -> None:
        super().__init__(raw=[], stems=[])
        self.__dict__["_joined"] = f" {spaced} "

    def has_stems(self, stems: tuple[str, ...]) -> bool:
        return f" {' '.join(stems)} " in self._joined

    def has_prefix(self, prefix: str) -> bool:
        raise LookupError("a prefix was asked of a field known only by its stems")

    @property
    def unknown(self) -> frozenset[str]:
        raise LookupError("the words of a field known only by its stems were asked for")

    stem_set = raw_set = unknown  # type: ignore[assignment]


SEPARATOR = "|"  # never produced by words(), so it equals no query word (nor is indexed)


TEXT_FIELDS = ("title", "abstract", "author", "source", "category")
NUMERIC_FIELDS = ("upvotes", "comments")
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
}


@dataclass
class Document:
    """A paper analysed once, then matched against every topic."""

    fields: dict[str, FieldText]
    numbers: dict[str, int | None]

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
            },
        )

    def vocabulary(self) -> set[str]:
        """Every stem in every text field: what the prefilter looks up."""
        found: set[str] = set()
        for name in TEXT_FIELDS:
            found |= self.fields[name].stem_set
        return found

    def raw_vocabulary(self) -> set[str]:
        found: set[str] = set()
        for name in TEXT_FIELDS:
            found |= self.fields[name].raw_set
        return found


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
