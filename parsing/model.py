"""The Paper record every parser returns, and how a paper's identity is derived."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from functools import cached_property
from types import MappingProxyType
from typing import NamedTuple

from parsing.text import clean_text, safe_link, tex_accents_to_letters, title_key

# New-style ids (1512.03385, 2310.12345v2) and old-style ids (cs/9901002, math.AG/0601001v1).
_NEW_ID = r"(?P<new>\d{4}\.\d{4,5})(?:v\d+)?"
_OLD_ID = r"(?P<old>[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?"
_ARXIV_ID_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html)/|huggingface\.co/papers/|oai:arXiv\.org:|arXiv:|^)"
    rf"(?:{_NEW_ID}|{_OLD_ID})(?:\.pdf)?(?:[?#/]|$)",
    re.IGNORECASE,
)
_BARE_ID = re.compile(rf"^(?:{_NEW_ID}|{_OLD_ID})$")


def arxiv_id_from(text: str | None) -> str | None:
    """Find an arXiv id (version stripped) in an id, link, guid or 'arXiv:' reference."""
    if not text:
        return None
    text = text.strip()
    bare = _BARE_ID.match(text)
    match = bare or _ARXIV_ID_IN_TEXT.search(text)
    if not match:
        return None
    return match.group("new") or match.group("old")


# What the store can hold (store/schema.py sizes its columns from these): a value outside
# them is dropped at the parser boundary with a reason, never sent to the database.
MAX_TITLE = 1000
MAX_ABSTRACT = 20_000
MAX_AUTHOR = 300
MAX_CATEGORY = 100
MAX_CATEGORIES = 50
MAX_DOI = 200
MAX_ITEM_ID = 500
MAX_LINK = 2000
MAX_LICENSE = 300
MAX_VERSION = 1000
MAX_NOTE = 2000  # a journal reference or an author's comments line
MAX_COUNT = 2**31 - 1  # a 32-bit INTEGER column on PostgreSQL
EARLIEST = datetime(1600, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# The links a paper may carry besides those its arXiv id and DOI give (render adds abs/pdf/hf).
LINK_KINDS = ("code", "project", "pdf")

# How arXiv announces a paper: a new one, a cross-list, a new version (of a paper or a cross-list).
ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")

_DOI = re.compile(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)


def doi_from(text: str | None) -> str | None:
    """A DOI from 'doi:10.1038/x', 'https://doi.org/10.1038/x' or '10.1038/x' (lower-cased:
    DOIs compare case-insensitively)."""
    if not text:
        return None
    match = _DOI.match(text.strip())
    return match.group(1).lower() if match else None


class Version(NamedTuple):
    """One arXiv version of a paper: its number (v1 -> 1) and when it was submitted (ISO 8601;
    a date alone where the upstream gives only the day)."""

    version: int
    date: str


# The metadata of a field the store keeps no column for, such as supersedes: how a listing
# announced the paper rather than what the paper is (the store acts on it when it merges).
NO_COLUMN = MappingProxyType({"column": False})


@dataclass(frozen=True)
class Paper:
    """One paper as a listing describes it; the store merges many of these into one record.

    The one description of a paper's fields: the store's record (store.records.StoredPaper)
    extends it, and its rows are read and written by these fields' names.
    """

    title: str
    abstract: str = ""
    arxiv_id: str | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    url: str | None = None
    # The paper's own date (arXiv v1 or announcement, HF paper.publishedAt, a journal's date).
    published: datetime | None = None
    upvotes: int | None = None
    comments: int | None = None
    sources: tuple[str, ...] = field(default=())
    # A new version announced by its source (arXiv "replace"): its title and abstract win.
    supersedes: bool = field(default=False, metadata=NO_COLUMN)
    doi: str | None = None
    # The listing's own id for the item (RSS guid, Atom id): stable when the title is edited.
    item_id: str | None = None
    links: tuple[tuple[str, str], ...] = ()  # (kind, url), kind in LINK_KINDS
    # Every arXiv version known, oldest first (arXiv OAI-PMH gives them with their dates).
    versions: tuple[Version, ...] = ()
    license: str | None = None  # the license URL arXiv records for the paper
    # arXiv's version of the paper (v4 -> 4) and how the listing announced it.
    version: int | None = None
    announce_type: str | None = None  # one of ANNOUNCE_TYPES
    withdrawn: bool = False
    journal_ref: str | None = None
    # The arXiv "Comments:" line ("12 pages, accepted at ICLR"); comments counts HF comments.
    author_comments: str | None = None

    @cached_property  # a batch asks it of each paper several times (store.batch)
    def title_key(self) -> str:
        return title_key(self.title)

    @property
    def identity(self) -> str:
        """arXiv id, else DOI, else the listing's item id, else the title key (README: Identity)."""
        if self.arxiv_id:
            return f"arxiv:{self.arxiv_id}"
        if self.doi:
            return f"doi:{self.doi}"
        if self.item_id:
            return f"item:{self.item_id}"
        return f"title:{self.title_key}"


_ID_MONTH = re.compile(r"^(?:(\d{2})(\d{2})\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/(\d{2})(\d{2})\d{3})$")


def arxiv_id_month(arxiv_id: str | None) -> datetime | None:
    """The first day of the month an arXiv id was given in (2411.17700 -> 2024-11-01,
    cs/9901002 -> 1999-01-01): the paper's v1 is of that month."""
    match = _ID_MONTH.match(arxiv_id or "")
    if not match:
        return None
    yy, mm = (int(g) for g in (match.group(1, 2) if match.group(1) else match.group(3, 4)))
    if not 1 <= mm <= 12:
        return None
    return datetime(1900 + yy if yy >= 91 else 2000 + yy, mm, 1, tzinfo=UTC)


def column_fields(shape: type[Paper]) -> tuple[str, ...]:
    """The names of shape's fields that the store keeps, each in the column of that name."""
    return tuple(f.name for f in fields(shape) if f.metadata.get("column", True))


def new_guid(paper: Paper) -> str:
    """The GUID a paper gets the first time it is stored; it never changes after that."""
    if paper.arxiv_id:
        return f"urn:arxiv:{paper.arxiv_id}"
    if paper.doi or paper.item_id:
        digest = hashlib.sha1(paper.identity.encode("utf-8")).hexdigest()[:20]
        return f"urn:paperfeed:{'doi' if paper.doi else 'item'}:{digest}"
    digest = hashlib.sha1(paper.title_key.encode("utf-8")).hexdigest()[:20]
    return f"urn:paperfeed:title:{digest}"


def make_paper(
    *,
    title: str | None,
    abstract: str | None = "",
    arxiv_id: str | None = None,
    authors: Iterable[str] = (),
    categories: Iterable[str] = (),
    url: str | None = None,
    published: datetime | None = None,
    upvotes: object = None,
    comments: object = None,
    doi: str | None = None,
    item_id: str | None = None,
    links: Iterable[tuple[str, str | None]] = (),
    supersedes: bool = False,
    versions: Iterable[tuple[object, object]] = (),
    license: str | None = None,
    version: object = None,
    announce_type: str | None = None,
    withdrawn: bool = False,
    journal_ref: str | None = None,
    author_comments: str | None = None,
    dropped: list[str] | None = None,
) -> Paper:
    """Build a Paper from raw upstream values, cleaning and checking every field on the way in.

    A record without a usable title raises ValueError (the parser skips it); any other field
    that the store could not hold is left out, with the reason added to dropped.
    """
    notes = dropped if dropped is not None else []
    clean_title = tex_accents_to_letters(_text(title, MAX_TITLE, "title", notes))
    key = title_key(clean_title) if clean_title else ""
    if not key:
        raise ValueError("record has no title")
    clean_authors = tuple(
        a
        for a in (tex_accents_to_letters(_text(x, MAX_AUTHOR, "author", notes)) for x in authors)
        if a
    )
    clean_categories = tuple(
        dict.fromkeys(
            c for c in (_text(x, MAX_CATEGORY, "category", notes) for x in categories) if c
        )
    )
    if len(clean_categories) > MAX_CATEGORIES:
        notes.append(f"{len(clean_categories) - MAX_CATEGORIES} categories past {MAX_CATEGORIES}")
    paper = Paper(
        title=clean_title,
        abstract=tex_accents_to_letters(_text(abstract, MAX_ABSTRACT, "abstract", notes)),
        arxiv_id=_arxiv_id(arxiv_id, notes),
        authors=clean_authors,
        categories=clean_categories[:MAX_CATEGORIES],
        url=_link(url, "url", notes),
        published=_date(published, notes),
        upvotes=_count(upvotes, "upvotes", notes),
        comments=_count(comments, "comments", notes),
        doi=_doi(doi, notes),
        item_id=_item_id(item_id, notes),
        links=tuple(
            (kind, link)
            for kind, raw in dict(links).items()
            if kind in LINK_KINDS and (link := _link(raw, f"{kind} link", notes))
        ),
        supersedes=supersedes,
        versions=_versions(versions, notes),
        license=_text(license, MAX_LICENSE, "license", notes) or None,
        version=_count(version, "version", notes) or None,
        announce_type=_announce_type(announce_type, notes),
        withdrawn=bool(withdrawn),
        journal_ref=tex_accents_to_letters(_text(journal_ref, MAX_NOTE, "journal ref", notes))
        or None,
        author_comments=_text(author_comments, MAX_NOTE, "comments line", notes) or None,
    )
    paper.__dict__["title_key"] = key  # its cached_property's value, worked out above
    return paper


def _text(value: object, limit: int, name: str, notes: list[str]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        notes.append(f"{name} is not text ({type(value).__name__})")
        return ""
    text = clean_text(value, max_length=limit + 1)
    if len(text) > limit:
        notes.append(f"{name} cut to {limit} characters")
        text = text[:limit]
    return text


def _arxiv_id(value: str | None, notes: list[str]) -> str | None:
    if not value:
        return None
    found = arxiv_id_from(value)
    if found is None:
        notes.append(f"arXiv id {value[:80]!r} is not an arXiv id")
    return found


def _announce_type(value: str | None, notes: list[str]) -> str | None:
    if not value:
        return None
    kind = clean_text(value, max_length=40).lower()
    if kind not in ANNOUNCE_TYPES:
        notes.append(f"announce type {kind!r} is not one of {', '.join(ANNOUNCE_TYPES)}")
        return None
    return kind


def _doi(value: str | None, notes: list[str]) -> str | None:
    if not value:
        return None
    found = doi_from(clean_text(value, max_length=MAX_DOI + 100))
    if found is None or len(found) > MAX_DOI:
        notes.append(f"DOI {value[:80]!r} is not a DOI of at most {MAX_DOI} characters")
        return None
    return found


def _item_id(value: str | None, notes: list[str]) -> str | None:
    text = clean_text(value, max_length=MAX_ITEM_ID + 1) if isinstance(value, str) else ""
    if len(text) > MAX_ITEM_ID:
        notes.append(f"item id longer than {MAX_ITEM_ID} characters")
        return None
    return text or None


def _link(value: str | None, name: str, notes: list[str]) -> str | None:
    if not value:
        return None
    link = safe_link(value) if isinstance(value, str) and len(value) <= MAX_LINK else None
    if link is None:
        notes.append(f"{name} {str(value)[:80]!r} is not an http(s) link")
    return link


def _date(value: datetime | None, notes: list[str]) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not EARLIEST <= value < LATEST:
        notes.append(f"date {value.isoformat()} outside {EARLIEST.year}..{LATEST.year}")
        return None
    return value


def _versions(values: Iterable[tuple[object, object]], notes: list[str]) -> tuple[Version, ...]:
    """(number, date or datetime) pairs as Versions in number order, one per number; a pair
    whose number or date is out of range is dropped."""
    kept: dict[int, Version] = {}
    for number, when in values:
        if isinstance(number, bool) or not isinstance(number, int):
            notes.append(f"version {number!r} is not a number")
            continue
        if not 1 <= number <= MAX_VERSION:
            notes.append(f"version {number} outside 1..{MAX_VERSION}")
            continue
        if isinstance(when, datetime):
            checked = _date(when, notes)
            if checked is None:
                continue
            iso = checked.astimezone(UTC).isoformat()
        elif isinstance(when, date) and EARLIEST.date() <= when < LATEST.date():
            iso = when.isoformat()
        else:
            notes.append(f"version {number} has no usable date ({when!r})")
            continue
        kept.setdefault(number, Version(number, iso))
    return tuple(kept[number] for number in sorted(kept))


def _count(value: object, name: str, notes: list[str]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        notes.append(f"{name} {value!r} is not a number")
        return None
    if not 0 <= value <= MAX_COUNT:
        notes.append(f"{name} {value!r} outside 0..{MAX_COUNT}")
        return None
    return int(value)
