"""The plan of a search: a lookup in a text index whose answer is a superset of a query's
matches. Query nodes make it (Node.lookup); each index turns it into its own dialect by
folding it (Lookup.fold) with a PlanFolder, so neither side walks the other's types.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Protocol, TypeVar

from topics.analysis import stem
from topics.spelling import AMERICAN

_BRITISH = sorted(AMERICAN)

R = TypeVar("R")


@dataclass(frozen=True)
class IndexShape:
    """What a text index keeps, as far as planning needs to know: the fields it covers (a
    word asked for in another field cannot anchor) and how many letters of a token."""

    fields: tuple[str, ...]
    max_token: int

    def covers(self, fields: tuple[str, ...]) -> bool:
        return set(fields) <= set(self.fields)


class PlanFolder(Protocol[R]):
    """An index's reading of a plan, one method per kind of lookup (parts already read)."""

    def term(self, term: Term) -> R: ...

    def phrase(self, phrase: Phrase) -> R: ...

    def all_of(self, parts: list[R]) -> R: ...

    def any_of(self, parts: list[R]) -> R: ...


@dataclass(frozen=True)
class Term:
    """Papers with this token (a whole stem, or with prefix, any token starting so) in one of
    the fields."""

    token: str
    fields: tuple[str, ...]
    prefix: bool = False

    def fold(self, folder: PlanFolder[R]) -> R:
        return folder.term(self)

    @property
    def has_prefix(self) -> bool:
        return self.prefix


@dataclass(frozen=True)
class Phrase:
    """Papers with these tokens one after another in one of the fields (with prefix, the
    last is a prefix). An index without positions may answer it as all of the tokens."""

    tokens: tuple[str, ...]
    fields: tuple[str, ...]
    prefix: bool = False

    def fold(self, folder: PlanFolder[R]) -> R:
        return folder.phrase(self)

    @property
    def has_prefix(self) -> bool:
        return self.prefix


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Lookup, ...]

    def fold(self, folder: PlanFolder[R]) -> R:
        return folder.all_of([part.fold(folder) for part in self.parts])

    @property
    def has_prefix(self) -> bool:
        return any(part.has_prefix for part in self.parts)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Lookup, ...]

    def fold(self, folder: PlanFolder[R]) -> R:
        return folder.any_of([part.fold(folder) for part in self.parts])

    @property
    def has_prefix(self) -> bool:
        return any(part.has_prefix for part in self.parts)


Lookup = Term | Phrase | AllOf | AnyOf


def all_of(parts: list[Lookup]) -> Lookup:
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def any_of(parts: list[Lookup]) -> Lookup:
    return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))


def prefix_lookup(prefix: str, fields: tuple[str, ...]) -> Lookup:
    """A prefix of a raw word, as index lookups of stems.

    The index holds stems, and stem() drops at most three letters ("studies" -> "study"), so
    a word starting with prefix has a stem starting with prefix unless the word is prefix,
    prefix+"s" or prefix+"es": those three stems are looked up whole.
    """
    parts: list[Lookup] = [Term(prefix, fields, prefix=True)]
    parts += [Term(whole, fields) for whole in lost_stems(prefix)]
    return any_of(parts)


def prefix_phrase_lookup(stems: tuple[str, ...], fields: tuple[str, ...]) -> Lookup:
    """A phrase whose last word is a prefix, as index lookups of stems (see prefix_lookup)."""
    fixed, last = stems[:-1], stems[-1]
    forms: list[Lookup] = [Phrase(fixed + (last,), fields, prefix=True)]
    forms += [Phrase(fixed + (whole,), fields) for whole in lost_stems(last)]
    return any_of(forms)


def lost_stems(prefix: str) -> list[str]:
    """Stems of words starting with prefix that do not themselves start with it: the
    plurals above, and British words whose stem is American (optimis* -> optimization)."""
    stems = {stem(prefix + ending) for ending in ("", "s", "es")}
    at = bisect_left(_BRITISH, prefix)
    while at < len(_BRITISH) and _BRITISH[at].startswith(prefix):
        stems.add(stem(_BRITISH[at]))
        at += 1
    return sorted(token for token in stems if not token.startswith(prefix))
