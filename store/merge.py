"""The merge policy: one record from two descriptions of the same paper. Pure; no SQL.

It serves both ways two descriptions meet: a listing's sighting merged into the stored
record, and two stored records found to be one paper (a title-keyed record that later
arrives with an arXiv id). Identity never moves backwards: the older GUID and first_seen
survive, whichever record is kept (an arXiv GUID that readers have is never given up).

Upstream data changes, and sources disagree. One rule covers both: the record remembers
which source gave its title, abstract, authors and counts (origins); a newer value from
that same source corrects it, while a value from another source settles by a rule that
does not depend on which came last (the longer abstract, the higher count, the first
title). So re-reading listings that bring nothing new changes nothing, and makes no new
generation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from parsing.model import ANNOUNCE_TYPES, Paper, arxiv_id_month, column_fields, new_guid
from store.records import StoredPaper, hash_with_date, ordered_links

_KEPT = column_fields(Paper)  # what a record keeps of a listing's Paper
# The fields whose source the record remembers: a newer value of that source corrects them.
ORIGIN_FIELDS = ("title", "abstract", "authors", "upvotes", "comments")
# A v1 is announced in its id's month or soon after: a later date is a later version's.
_V1_WINDOW = timedelta(days=62)


def sighting(paper: Paper, source: str, now: datetime) -> StoredPaper:
    """A paper from a listing, as the record it would be if it were new."""
    values: dict[str, Any] = {name: getattr(paper, name) for name in _KEPT}
    values.update(
        sources=tuple(sorted({source} | set(paper.sources))),
        links=ordered_links(dict(paper.links)),
        origins=tuple(
            (name, source) for name in ORIGIN_FIELDS if getattr(paper, name) not in (None, "", ())
        ),
    )
    record = StoredPaper(**values, id=None, guid=new_guid(paper), first_seen=now, updated=now)
    record.__dict__["title_key"] = paper.title_key  # the same title: its cached key
    return record


def adds_nothing(
    stored_hash: str | None, stored_published: datetime | None, other: StoredPaper
) -> bool:
    """Would merging other into the stored record with this content hash and date leave
    the record as it is? Decided without the record's row: other says what the record
    says (the same hash), or says it but for a date that the merge does not take (a
    listing's date on each item, as arXiv's RSS gives: a re-read's items all carry a new
    one). False when unsure: the record is then read and merged."""
    if stored_hash is None:
        return False
    published = other.published
    if published != stored_published and (
        _v1_date(stored_published, published, other.arxiv_id) != stored_published
    ):
        return False  # the merge would take other's date
    # One hash either way (other's own is worked out only for a record to be written).
    return hash_with_date(other, stored_published) == stored_hash


@dataclass(frozen=True)
class _Meeting:
    """Two records of one paper, as the rules below compare them."""

    kept: StoredPaper
    other: StoredPaper
    older: StoredPaper
    takes_text: bool  # other's title (and abstract, when it has one) replace kept's
    newer_version: StoredPaper | None  # the record of the later arXiv version; None: same

    def corrects(self, name: str) -> bool:
        """Does other hold a newer value of name from the source that gave kept's, about
        the same paper (the same identity: not another item of that title)?"""
        source = dict(self.kept.origins).get(name)
        return (
            source is not None
            and self.kept.identity == self.other.identity
            and source == dict(self.other.origins).get(name)
            and getattr(self.other, name) not in (None, "", ())
            and self.other.updated >= self.kept.updated
        )


def _older(a: StoredPaper, b: StoredPaper) -> StoredPaper:
    """The record published first; a record not yet stored (id None) counts as the newer."""
    a_key = (a.first_seen, a.id if a.id is not None else float("inf"))
    b_key = (b.first_seen, b.id if b.id is not None else float("inf"))
    return b if b_key < a_key else a


def merge(kept: StoredPaper, other: StoredPaper, *, supersedes: bool = False) -> StoredPaper:
    """kept (whose id survives) with what other adds; kept itself when other adds nothing.

    - guid and first_seen: the older record's, so readers never see the paper twice; of
      two stored records, the one whose GUID is the paper's arXiv URN keeps it;
    - title, abstract, authors, upvotes, comments: other's when it is a newer value from
      the source that gave kept's (a correction); otherwise title and authors stay kept's,
      the longer abstract and the higher count win;
    - title and abstract: other's too when other supersedes kept (an arXiv 'replace'
      announcement), or when kept is known only by its listing's item id and other is a
      newer sighting of that item (the listing corrected them);
    - links: kept's, and other's of the kinds kept lacks;
    - categories and sources: both, kept's first;
    - published: the v1 date: the earliest date within two months of the arXiv id's
      month, else that month (an RSS listing of a later version gives only that), else
      the earliest date;
    - version: the later; announce type, withdrawn, journal ref, comments line and license
      go with it (for one version: the primary announcement, withdrawn if either says so,
      kept's notes else other's);
    - versions: every version either knows, with the more precise date;
    - every other field (url, arxiv_id, doi, item_id): kept's when it has one, else other's.
    """
    corrected = (
        kept.arxiv_id is None
        and kept.doi is None
        and kept.item_id is not None
        and kept.item_id == other.item_id
        and other.updated >= kept.updated
    )
    kept_version, other_version = kept.version or 0, other.version or 0
    meeting = _Meeting(
        kept,
        other,
        _older(kept, other),
        # A replacement brings its text once: re-read, the same version supersedes nothing.
        takes_text=(supersedes and (other.version is None or other_version > kept_version))
        or corrected,
        newer_version=None
        if kept_version == other_version
        else (other if other_version > kept_version else kept),
    )
    values = {name: rule(meeting, name) for name, rule in _FIELD_RULES}
    values["origins"] = _origins(meeting, values)
    if _says_what_kept_says(kept, values):
        return kept
    values["updated"] = max(kept.updated, other.updated)
    return StoredPaper(**values)


# The fields a record's equality compares, and what kept's are taken as when the merged
# values are compared with it (what matched it and when it entered a topic are a read's).
_COMPARED = tuple(f.name for f in fields(StoredPaper) if f.compare)
_CLEARED: dict[str, Any] = {"matched": (), "entered": None}


def _says_what_kept_says(kept: StoredPaper, values: dict[str, Any]) -> bool:
    """StoredPaper(**values) == replace(kept, matched=(), entered=None), field by field as
    the dataclass compares them: building both records to compare them was most of the
    cost of re-reading a listing whose papers changed nothing."""
    for name in _COMPARED:
        mine = _CLEARED[name] if name in _CLEARED else getattr(kept, name)
        value = values[name]
        if value is not mine and value != mine:
            return False
    return True


_Rule = Callable[[_Meeting, str], Any]


def _kept_else_other(meeting: _Meeting, name: str) -> Any:
    value = getattr(meeting.kept, name)
    return value if value not in (None, "", ()) else getattr(meeting.other, name)


def _kept(meeting: _Meeting, name: str) -> Any:
    return getattr(meeting.kept, name)


def _of_older(meeting: _Meeting, name: str) -> Any:
    return getattr(meeting.older, name)


def _guid(meeting: _Meeting, name: str) -> Any:
    kept, other = meeting.kept, meeting.other
    arxiv_id = kept.arxiv_id or other.arxiv_id
    if other.id is not None and arxiv_id and other.guid == f"urn:arxiv:{arxiv_id}":
        return other.guid  # both were published: the arXiv URN is the one to keep
    if arxiv_id and kept.guid == f"urn:arxiv:{arxiv_id}":
        return kept.guid
    return meeting.older.guid


def _title(meeting: _Meeting, name: str) -> Any:
    if meeting.takes_text or meeting.corrects(name):
        return meeting.other.title
    return meeting.kept.title


def _abstract(meeting: _Meeting, name: str) -> Any:
    kept, other = meeting.kept.abstract, meeting.other.abstract
    if meeting.takes_text or meeting.corrects(name):
        return other or kept
    return other if len(other) > len(kept) else kept


def _authors(meeting: _Meeting, name: str) -> Any:
    if meeting.corrects(name):
        return meeting.other.authors
    return _kept_else_other(meeting, name)


def _count(meeting: _Meeting, name: str) -> Any:
    if meeting.corrects(name):
        return getattr(meeting.other, name)
    counts = [
        c for c in (getattr(meeting.kept, name), getattr(meeting.other, name)) if c is not None
    ]
    return max(counts) if counts else None


def _origins(meeting: _Meeting, values: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Which source gave each value the merged record holds: kept's where the value is
    kept's and its source known, other's where it is other's."""
    kept, other = dict(meeting.kept.origins), dict(meeting.other.origins)
    found = {}
    for name in ORIGIN_FIELDS:
        value = values[name]
        if name in kept and value == getattr(meeting.kept, name):
            found[name] = kept[name]
        elif name in other and value == getattr(meeting.other, name):
            found[name] = other[name]
        elif name in kept:
            found[name] = kept[name]
    return tuple(sorted(found.items()))


def _published(meeting: _Meeting, name: str) -> Any:
    arxiv_id = meeting.kept.arxiv_id or meeting.other.arxiv_id
    return _v1_date(meeting.kept.published, meeting.other.published, arxiv_id)


def _v1_date(kept: datetime | None, other: datetime | None, arxiv_id: str | None) -> Any:
    dates = [d for d in (kept, other) if d is not None]
    month = arxiv_id_month(arxiv_id)
    if month is not None:
        within = [d for d in dates if month < d < month + _V1_WINDOW]
        if within:
            return min(within)
        if month in dates:
            return month
    return min(dates) if dates else None


def _version(meeting: _Meeting, name: str) -> Any:
    return max(meeting.kept.version or 0, meeting.other.version or 0) or None


def _of_newer_version(meeting: _Meeting, name: str) -> Any:
    if meeting.newer_version is not None:
        return getattr(meeting.newer_version, name)
    return _kept_else_other(meeting, name)


def _announce_type(meeting: _Meeting, name: str) -> Any:
    if meeting.newer_version is not None:
        return meeting.newer_version.announce_type
    # One version, two announcements (new in one archive, cross in another): the primary.
    kinds = [k for k in (meeting.kept.announce_type, meeting.other.announce_type) if k]
    return min(kinds, key=lambda kind: (_ANNOUNCE_RANK.get(kind, 2), kind)) if kinds else None


_ANNOUNCE_RANK = {kind: ANNOUNCE_TYPES.index(kind) % 2 for kind in ANNOUNCE_TYPES}


def _withdrawn(meeting: _Meeting, name: str) -> Any:
    if meeting.newer_version is not None:
        return meeting.newer_version.withdrawn
    return meeting.kept.withdrawn or meeting.other.withdrawn


def _both(meeting: _Meeting, name: str) -> Any:
    return tuple(dict.fromkeys(getattr(meeting.kept, name) + getattr(meeting.other, name)))


def _both_sorted(meeting: _Meeting, name: str) -> Any:
    return tuple(sorted(set(getattr(meeting.kept, name)) | set(getattr(meeting.other, name))))


def _links(meeting: _Meeting, name: str) -> Any:
    return ordered_links({**dict(meeting.other.links), **dict(meeting.kept.links)})


def _versions(meeting: _Meeting, name: str) -> Any:
    """Every version either knows, by number; where both know one, the more precise date
    (arXivRaw's time beats the arXiv format's day), else kept's."""
    known = {v.version: v for v in meeting.kept.versions}
    for version in meeting.other.versions:
        mine = known.get(version.version)
        if mine is None or len(version.date) > len(mine.date):
            known[version.version] = version
    return tuple(known[number] for number in sorted(known))


def _nothing(meeting: _Meeting, name: str) -> Any:
    return ()


def _none(meeting: _Meeting, name: str) -> Any:
    return None


# The fields with a rule of their own; any other field is kept's when it has one, else other's.
RULES: dict[str, _Rule] = {
    "id": _kept,
    "updated": _kept,  # moves on only when the merge changes something (merge, above)
    "guid": _guid,
    "first_seen": _of_older,
    "title": _title,
    "abstract": _abstract,
    "authors": _authors,
    "links": _links,
    "categories": _both,
    "sources": _both_sorted,
    "published": _published,
    "upvotes": _count,
    "comments": _count,
    "version": _version,
    "announce_type": _announce_type,
    "withdrawn": _withdrawn,
    "journal_ref": _of_newer_version,
    "author_comments": _of_newer_version,
    "license": _of_newer_version,  # a later version may come under another license
    "versions": _versions,
    "origins": _nothing,  # worked out from the merged values (_origins)
    "matched": _nothing,  # read through a topic, never part of the record
    "entered": _none,
}
# Every field with its rule, worked out once: a merge runs for every paper of every refresh.
_FIELD_RULES = tuple((f.name, RULES.get(f.name, _kept_else_other)) for f in fields(StoredPaper))
