"""The merge policy: one record from two descriptions of the same paper. Pure; no SQL.

It serves both ways two descriptions meet: a listing's sighting merged into the stored
record, and two stored records found to be one paper (a title-keyed record that later
arrives with an arXiv id). Identity never moves backwards: the older GUID and first_seen
survive, whichever record is kept.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from parsing.model import Paper, new_guid
from store.records import StoredPaper, ordered_links


def sighting(paper: Paper, source: str, now: datetime) -> StoredPaper:
    """A paper from a listing, as the record it would be if it were new."""
    return StoredPaper(
        id=None,
        guid=new_guid(paper),
        arxiv_id=paper.arxiv_id,
        title_key=paper.title_key,
        title=paper.title,
        abstract=paper.abstract,
        authors=paper.authors,
        categories=paper.categories,
        sources=tuple(sorted({source} | set(paper.sources))),
        url=paper.url,
        published=paper.published,
        upvotes=paper.upvotes,
        comments=paper.comments,
        first_seen=now,
        updated=now,
        doi=paper.doi,
        item_id=paper.item_id,
        links=ordered_links(dict(paper.links)),
    )


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
    - authors, url, arxiv_id, doi, item_id: kept's when it has them, else other's;
    - links: kept's, and other's of the kinds kept lacks;
    - categories and sources: both, kept's first;
    - published: the earlier date;
    - upvotes and comments: the more recently updated record's, when it has them.
    """
    older = _older(kept, other)
    fresher, staler = (other, kept) if other.updated >= kept.updated else (kept, other)
    corrected = (
        kept.arxiv_id is None
        and kept.doi is None
        and kept.item_id is not None
        and kept.item_id == other.item_id
        and other.updated >= kept.updated
    )
    if supersedes or corrected:
        title, title_key = other.title, other.title_key
        abstract = other.abstract or kept.abstract
    else:
        title, title_key = kept.title, kept.title_key
        abstract = other.abstract if len(other.abstract) > len(kept.abstract) else kept.abstract
    dates = [d for d in (kept.published, other.published) if d is not None]
    merged = replace(
        kept,
        guid=older.guid,
        first_seen=older.first_seen,
        arxiv_id=kept.arxiv_id or other.arxiv_id,
        title=title,
        title_key=title_key,
        abstract=abstract,
        authors=kept.authors or other.authors,
        categories=tuple(dict.fromkeys(kept.categories + other.categories)),
        sources=tuple(sorted(set(kept.sources) | set(other.sources))),
        url=kept.url or other.url,
        doi=kept.doi or other.doi,
        item_id=kept.item_id or other.item_id,
        links=ordered_links({**dict(other.links), **dict(kept.links)}),
        published=min(dates) if dates else None,
        upvotes=fresher.upvotes if fresher.upvotes is not None else staler.upvotes,
        comments=fresher.comments if fresher.comments is not None else staler.comments,
        matched=(),
    )
    if merged == replace(kept, matched=()):
        return kept
    return replace(merged, updated=max(kept.updated, other.updated))
