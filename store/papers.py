"""Papers: upsert with the merge policy, and the reads that list papers."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from parsing.model import Paper, arxiv_id_from, doi_from
from store.coordination import write_checkpoint
from store.fencing import Transactions
from store.index import reindex
from store.memberships import forget_memberships, replace_memberships
from store.merge import merge, sighting
from store.paper_rows import row_values, stored_paper
from store.records import Checkpoint, StoredPaper, UpsertResult
from store.schema import papers
from topics.membership import Topics


def utcnow() -> datetime:
    return datetime.now(UTC)


class PaperStore(Transactions):
    def upsert(
        self,
        batch: Iterable[Paper],
        source: str,
        now: datetime | None = None,
        topics: Topics | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> UpsertResult:
        """Store papers from one source, merging each into the record it belongs to.

        The text index, and with topics the topic memberships, of every new or changed paper
        are written in the same transaction, and so is the checkpoint when given: a refresher
        killed at any moment leaves no paper unindexed or unmatched, and resumes after it.
        """
        now = now or utcnow()
        result = UpsertResult()
        with self.transaction() as conn:
            for paper in batch:
                self._upsert_one(conn, paper, sighting(paper, source, now), result)
            stored = papers_by_ids(conn, result.touched) if result.touched else []
            if stored or result.merged_away:
                reindex(conn, stored, removed=result.merged_away)  # the text index
            if topics is not None and stored:
                result.memberships_changed = replace_memberships(
                    conn, [p.id for p in stored if p.id is not None], topics.of_papers(stored)
                )
            if checkpoint is not None:
                write_checkpoint(conn, source, checkpoint)
        return result

    def _upsert_one(
        self, conn: Connection, paper: Paper, incoming: StoredPaper, result: UpsertResult
    ) -> None:
        found = _records_of(conn, paper)
        if not found:
            inserted = conn.execute(_INSERT, row_values(incoming))
            result.new.append(int(inserted.inserted_primary_key[0]))  # type: ignore[index]
            return
        existing, *duplicates = found
        for other in duplicates:
            # One paper stored twice (first seen by title or item id, now with its arXiv id
            # or DOI): the records merge into the first, which keeps the oldest GUID.
            existing = merge(existing, other)
            forget_memberships(conn, other.id, into=existing.id)  # type: ignore[arg-type]
            conn.execute(sa.delete(papers).where(papers.c.id == other.id))
            result.merged_away.append(other.id)  # type: ignore[arg-type]
        if duplicates:
            conn.execute(_UPDATE, {**row_values(existing), "paper_id": existing.id})
            result.changed.append(existing.id)  # type: ignore[arg-type]
        merged = merge(existing, incoming, supersedes=paper.supersedes)
        if merged is existing:
            result.unchanged += 1
            return
        conn.execute(_UPDATE, {**row_values(merged), "paper_id": existing.id})
        if existing.id not in result.changed:
            result.changed.append(existing.id)  # type: ignore[arg-type]

    def count_papers(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one())

    def papers_by_ids(self, ids: Iterable[int]) -> list[StoredPaper]:
        with self.engine.connect() as conn:
            return papers_by_ids(conn, list(ids))

    def iter_papers(self, batch_size: int = 1000) -> Iterator[StoredPaper]:
        """Every stored paper, newest first, read in batches."""
        last: tuple[Any, int] | None = None
        while True:
            query = sa.select(papers).order_by(papers.c.first_seen.desc(), papers.c.id.desc())
            if last is not None:
                query = query.where(
                    sa.or_(
                        papers.c.first_seen < last[0],
                        sa.and_(papers.c.first_seen == last[0], papers.c.id < last[1]),
                    )
                )
            with self.engine.connect() as conn:
                rows = conn.execute(query.limit(batch_size)).all()
            if not rows:
                return
            for row in rows:
                yield stored_paper(row)
            last = (rows[-1].first_seen, rows[-1].id)

    def find_paper(self, ref: str) -> StoredPaper | None:
        """Look a paper up by arXiv id, DOI, GUID or database id."""
        conditions = [papers.c.guid == ref]
        doi = doi_from(ref)
        if doi:
            conditions.append(papers.c.doi == doi)
        arxiv_id = arxiv_id_from(ref)
        if arxiv_id:
            conditions.append(papers.c.arxiv_id == arxiv_id)
        if ref.isdigit():
            conditions.append(papers.c.id == int(ref))
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(papers).where(sa.or_(*conditions))).first()
        return stored_paper(row) if row else None

    def paper_dates_since(self, since: datetime) -> list[datetime]:
        """Each paper's own date (first_seen when unknown) from since on: the activity chart."""
        when = sa.func.coalesce(papers.c.published, papers.c.first_seen)
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(when).where(when >= since)).scalars())

    def find_papers_by_title(self, fragment: str, limit: int = 10) -> list[StoredPaper]:
        """Papers whose title contains fragment (any case), newest first."""
        escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = (
            sa.select(papers)
            .where(papers.c.title.ilike(f"%{escaped}%", escape="\\"))
            .order_by(papers.c.first_seen.desc(), papers.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [stored_paper(row) for row in conn.execute(query)]


# Built once, their values bound per paper: building a statement per paper (its clauses
# coerced, its cache key computed) cost more than running it.
_INSERT = sa.insert(papers)
_UPDATE = sa.update(papers).where(papers.c.id == sa.bindparam("paper_id"))
# The identity lookups, strongest first: by arXiv id, DOI, the listing's item id, title.
_LOOKUPS = ("arxiv_id", "doi", "item_id", "title_key")


def _records_of(conn: Connection, paper: Paper) -> list[StoredPaper]:
    """The stored records that describe paper, strongest identity first: by arXiv id, DOI,
    the listing's item id, then title. A record whose arXiv id or DOI differs from the
    paper's is another paper, whatever its title."""
    values = {name: getattr(paper, name) for name in _LOOKUPS}
    found: dict[int, StoredPaper] = {}
    for name in _LOOKUPS:
        if values[name]:
            lookup = _lookup(name, bool(values["arxiv_id"]), bool(values["doi"]))
            row = conn.execute(lookup, values).first()
            if row is not None:
                found.setdefault(row.id, stored_paper(row))
    return list(found.values())


@functools.cache
def _lookup(column: str, has_arxiv_id: bool, has_doi: bool) -> sa.Select[Any]:
    """The oldest paper whose column equals the paper's value and whose arXiv id and DOI,
    where the paper has them, are either the same or unknown."""
    conditions = [papers.c[column] == sa.bindparam(column)]
    for name, present in (("arxiv_id", has_arxiv_id), ("doi", has_doi)):
        if present:
            conditions.append(
                sa.or_(papers.c[name].is_(None), papers.c[name] == sa.bindparam(name))
            )
    return sa.select(papers).where(*conditions).order_by(papers.c.first_seen, papers.c.id).limit(1)


def paper_columns(
    conn: Connection, ids: Sequence[int], columns: Sequence[str]
) -> list[sa.Row[Any]]:
    """Papers with only these columns (and id, first_seen) read, as rows whose columns are
    attributes: what matching a query needs, without decoding the rest."""
    wanted = [papers.c.id, papers.c.first_seen, *(papers.c[name] for name in columns)]
    return list(conn.execute(sa.select(*wanted).where(papers.c.id.in_(list(ids)))))


def papers_by_ids(conn: Connection, wanted: list[int]) -> list[StoredPaper]:
    found: list[StoredPaper] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.extend(
            map(stored_paper, conn.execute(sa.select(papers).where(papers.c.id.in_(chunk))))
        )
    return found
