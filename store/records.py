"""What the store hands out: plain frozen records, no SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from parsing.model import LINK_KINDS

Match = tuple[tuple[str, str], ...]  # (what matched, in which field)
Matches = dict[int, dict[str, list[tuple[str, str]]]]  # paper id -> topic -> what matched


@dataclass(frozen=True)
class StoredPaper:
    """A paper as the store keeps it (id None until inserted), with the words that put it in
    a topic when read through one."""

    id: int | None
    guid: str
    arxiv_id: str | None
    title_key: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    sources: tuple[str, ...]
    url: str | None
    published: datetime | None
    upvotes: int | None
    comments: int | None
    first_seen: datetime
    updated: datetime
    matched: Match = ()
    doi: str | None = None
    item_id: str | None = None
    links: tuple[tuple[str, str], ...] = ()  # (kind, url) in LINK_KINDS order


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
        return self.new + [i for i in self.changed if i not in self.new]

    def add(self, other: UpsertResult) -> None:
        """Count other's papers in too (one refresh writes several batches)."""
        self.new += other.new
        self.changed += [i for i in other.changed if i not in self.changed]
        self.merged_away += other.merged_away
        self.unchanged += other.unchanged
        self.memberships_changed += other.memberships_changed


@dataclass(frozen=True)
class Checkpoint:
    """How far a refresh got through one location's body (its sha256 digest): the papers
    before done are stored."""

    location: str
    digest: str
    done: int


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


def to_stored(row: Any, matched: Any = None) -> StoredPaper:
    """A papers row (and, read through a topic, what matched) as a StoredPaper."""
    values = row._mapping
    return StoredPaper(
        id=values["id"],
        guid=values["guid"],
        arxiv_id=values["arxiv_id"],
        title_key=values["title_key"],
        title=values["title"],
        abstract=values["abstract"],
        authors=tuple(values["authors"]),
        categories=tuple(values["categories"]),
        sources=tuple(values["sources"]),
        url=values["url"],
        published=values["published"],
        upvotes=values["upvotes"],
        comments=values["comments"],
        first_seen=values["first_seen"],
        updated=values["updated"],
        matched=tuple(tuple(pair) for pair in matched) if matched else (),  # type: ignore[misc]
        doi=values["doi"],
        item_id=values["item_id"],
        links=ordered_links(values["links"] or {}),
    )


def ordered_links(links: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Links in one fixed order (JSONB keeps no key order), known kinds only."""
    return tuple((kind, links[kind]) for kind in LINK_KINDS if links.get(kind))
