"""The merge policy: one record from two descriptions of the same paper. Pure; no SQL.

It serves both ways two descriptions meet: a listing's sighting merged into the stored
record, and two stored records found to be one paper (a title-keyed record that later
arrives with an arXiv id). Identity never moves backwards: the older GUID and first_seen
survive, whichever record is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from parsing.model import Paper, column_fields, new_guid
from store.records import StoredPaper, ordered_links

_KEPT = column_fields(Paper)  # what a record keeps of a listing's Paper


def sighting(paper: Paper, source: str, now: datetime) -> StoredPaper:
    """A paper from a listing, as the record it would be if it were new."""
    values: dict[str, Any] = {name: getattr(paper, name) for name in _KEPT}
    values.update(
        sources=tuple(sorted({source} | set(paper.sources))),
        links=ordered_links(dict(paper.links)),
    )
    return StoredPaper(**values, id=None, guid=new_guid(paper), first_seen=now, updated=now)


@dataclass(frozen=True)
class _Meeting:
    """Two records of one paper, as the rules below compare them."""

    kept: StoredPaper
    other: StoredPaper
    older: StoredPaper
    fresher: StoredPaper
    staler: StoredPaper
    takes_text: bool  # other's title (and abstract, when it has one) replace kept's


def _older(a: StoredPaper, b: StoredPaper) -> StoredPaper:
    """The record published first; a record not yet stored (id None) counts as the newer."""
    a_key = (a.first_seen, a.id if a.id is not None else float("inf"))
    b_key = (b.first_seen, b.id if b.id is not None else float("inf"))
    return b if b_key < a_key else a


def merge(kept: StoredPaper, other: StoredPaper, *, supersedes: bool = False) -> StoredPaper:
    """kept (whose id survives) with what other adds; kept itself when other adds nothing.

    - guid and first_seen: the older record's, so readers never see the paper twice;
    - title: kept's, unless other supersedes it (an arXiv 'replace' announcement), which
      also brings its abstract; otherwise the longer abstract wins;
    - a record known only by its listing's item id (no arXiv id, no DOI) takes the title
      and abstract of a newer sighting of the same item: the listing corrected them;
    - links: kept's, and other's of the kinds kept lacks;
    - categories and sources: both, kept's first;
    - published: the earlier date;
    - upvotes, comments and license: the more recently updated record's, when it has them;
    - versions: every version either knows, with the more precise date;
    - every other field (authors, url, arxiv_id, doi, item_id): kept's when it has one,
      else other's.
    """
    fresher, staler = (other, kept) if other.updated >= kept.updated else (kept, other)
    corrected = (
        kept.arxiv_id is None
        and kept.doi is None
        and kept.item_id is not None
        and kept.item_id == other.item_id
        and other.updated >= kept.updated
    )
    meeting = _Meeting(
        kept, other, _older(kept, other), fresher, staler, takes_text=supersedes or corrected
    )
    merged = StoredPaper(**{name: rule(meeting, name) for name, rule in _FIELD_RULES})
    if merged == replace(kept, matched=()):
        return kept
    return replace(merged, updated=max(kept.updated, other.updated))


_Rule = Callable[[_Meeting, str], Any]


def _kept_else_other(meeting: _Meeting, name: str) -> Any:
    value = getattr(meeting.kept, name)
    return value if value not in (None, "", ()) else getattr(meeting.other, name)


def _kept(meeting: _Meeting, name: str) -> Any:
    return getattr(meeting.kept, name)


def _of_older(meeting: _Meeting, name: str) -> Any:
    return getattr(meeting.older, name)


def _of_fresher(meeting: _Meeting, name: str) -> Any:
    value = getattr(meeting.fresher, name)
    return value if value is not None else getattr(meeting.staler, name)


def _title(meeting: _Meeting, name: str) -> Any:
    return meeting.other.title if meeting.takes_text else meeting.kept.title


def _abstract(meeting: _Meeting, name: str) -> Any:
    kept, other = meeting.kept.abstract, meeting.other.abstract
    if meeting.takes_text:
        return other or kept
    return other if len(other) > len(kept) else kept


def _both(meeting: _Meeting, name: str) -> Any:
    return tuple(dict.fromkeys(getattr(meeting.kept, name) + getattr(meeting.other, name)))


def _both_sorted(meeting: _Meeting, name: str) -> Any:
    return tuple(sorted(set(getattr(meeting.kept, name)) | set(getattr(meeting.other, name))))


def _links(meeting: _Meeting, name: str) -> Any:
    return ordered_links({**dict(meeting.other.links), **dict(meeting.kept.links)})


def _earliest(meeting: _Meeting, name: str) -> Any:
    dates = [
        d for d in (getattr(meeting.kept, name), getattr(meeting.other, name)) if d is not None
    ]
    return min(dates) if dates else None


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


# The fields with a rule of their own; any other field is kept's when it has one, else other's.
RULES: dict[str, _Rule] = {
    "id": _kept,
    "updated": _kept,  # moves on only when the merge changes something (merge, above)
    "guid": _of_older,
    "first_seen": _of_older,
    "title": _title,
    "abstract": _abstract,
    "links": _links,
    "categories": _both,
    "sources": _both_sorted,
    "published": _earliest,
    "upvotes": _of_fresher,
    "comments": _of_fresher,
    "versions": _versions,
    "license": _of_fresher,  # a later version may come under another license
    "matched": _nothing,  # read through a topic, never part of the record
}
# Every field with its rule, worked out once: a merge runs for every paper of every refresh.
_FIELD_RULES = tuple((f.name, RULES.get(f.name, _kept_else_other)) for f in fields(StoredPaper))
