"""What the store hands out: plain frozen records, no SQL."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from parsing.model import LINK_KINDS, NO_COLUMN, Paper, column_fields

Match = tuple[tuple[str, str], ...]  # (what matched, in which field)
Matches = dict[int, dict[str, list[tuple[str, str]]]]  # paper id -> topic -> what matched


@dataclass(frozen=True, kw_only=True)
class StoredPaper(Paper):
    """A paper as the store keeps it: the Paper's fields (links in LINK_KINDS order;
    supersedes, a listing's word to the merge, always False) and the record's own: id (None
    until inserted), the GUID and times, and the words that put it in a topic when read
    through one, and when it entered that topic. Its title_key, like a Paper's, is its title's."""

    id: int | None = None
    guid: str
    first_seen: datetime
    updated: datetime
    # (field, source): the source whose value of a field the record holds (store.merge).
    origins: tuple[tuple[str, str], ...] = ()
    matched: Match = field(default=(), metadata=NO_COLUMN)
    score: float | None = field(default=None, metadata=NO_COLUMN)  # read through a topic
    # (kind, url) links a like topic's items carry: "more" / "less" like this (web.feedback)
    feedback: tuple[tuple[str, str], ...] = field(default=(), metadata=NO_COLUMN)
    # Read through a topic: when the paper entered it (the item's date and the feed's order).
    entered: datetime | None = field(default=None, metadata=NO_COLUMN)

    @property
    def item_date(self) -> datetime:
        """An item's date: when the paper entered the feed's topic, else when first seen."""
        return self.entered or self.first_seen

    def with_id(self, paper_id: int) -> StoredPaper:
        """This record as inserted under paper_id: its attributes copied, its cached hash
        and title key with them (dataclasses.replace would check and set each of its
        fields again, and work the hash and key out again: a new paper's largest cost
        after its insert and analysis)."""
        stored = object.__new__(type(self))
        stored.__dict__.update(self.__dict__, id=paper_id)
        return stored

    @cached_property  # asked when a sighting is compared, and again when it is written
    def content_hash(self) -> str:
        """A digest of what the record says of its paper (every field a listing gives, none
        of the record's own): a listing's sighting with the digest of the stored record
        would merge into it as a no-op (store.merge), so a re-read skips it unread."""
        return _digest([getattr(self, name) for name in _DESCRIBED])


_DESCRIBED = column_fields(Paper)
_PUBLISHED = _DESCRIBED.index("published")


def hash_with_date(record: Paper, published: datetime | None) -> str:
    """The content hash record would have with this date instead of its own. A sighting
    that differs from a stored record only in a date the merge does not take has, so
    dated, the stored record's hash (store.merge.adds_nothing). Kept on record for the
    last date asked: a batch asks it of each sighting twice (store.batch)."""
    last = record.__dict__.get("_hash_with_date")
    if last is not None and last[0] == published:
        return last[1]  # type: ignore[no-any-return]
    said = [getattr(record, name) for name in _DESCRIBED]
    said[_PUBLISHED] = published
    digest = _digest(said)
    record.__dict__["_hash_with_date"] = (published, digest)
    return digest


def _digest(said: list[object]) -> str:
    return hashlib.blake2b(repr(tuple(said)).encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class TopicSummary:
    items: int
    newest_title: str | None
    newest_seen: datetime | None


@dataclass
class UpsertResult:
    new: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    merged_away: list[int] = field(default_factory=list)
    unchanged: int = 0
    memberships_changed: int = 0

    @property
    def touched(self) -> list[int]:
        new = set(self.new)
        return self.new + [i for i in self.changed if i not in new]

    def add(self, other: UpsertResult) -> None:
        """Count other's papers in too (one refresh writes several batches). Sets, not list
        scans: a re-read that corrects 45,000 papers would otherwise compare them pairwise."""
        self.new += other.new
        changed = set(self.changed)
        self.changed += [i for i in other.changed if i not in changed]
        self.merged_away += other.merged_away
        self.unchanged += other.unchanged
        self.memberships_changed += other.memberships_changed


@dataclass(frozen=True)
class HarvestState:
    """Where an OAI-PMH source stands (refresh.oai): the harvest under way, if any (its
    request, from-date, the token of its next page, records read of total), and the
    from-date of the next harvest."""

    request: str
    harvest_from: date | None = None
    token: str | None = None  # None: no harvest under way
    done: int = 0
    total: int | None = None
    started: datetime | None = None  # when the harvest under way began, upstream's clock
    next_from: date | None = None


@dataclass(frozen=True)
class Checkpoint:
    """How far a refresh got through one location's body (its sha256 digest): the papers
    before done are stored. For an OAI-PMH harvest, harvest is where it stands after them
    (written instead of a body's progress)."""

    location: str
    digest: str
    done: int
    harvest: HarvestState | None = None


@dataclass(frozen=True)
class SourceState:
    name: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    papers_seen: int = 0
    skipped: int = 0
    last_started: datetime | None = None
    health: str | None = None  # None, "suspect" or "stale"
    health_reason: str | None = None
    batch_digest: str | None = None
    batch_since: datetime | None = None

    @property
    def failing(self) -> bool:
        if self.last_error_at is None:
            return False
        return self.last_success is None or self.last_error_at >= self.last_success


def ordered_links(links: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Links in one fixed order (JSONB keeps no key order), known kinds only."""
    return tuple((kind, links[kind]) for kind in LINK_KINDS if links.get(kind))
