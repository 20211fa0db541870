"""Papers: upsert with the merge policy, and the reads that list papers."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from parsing.model import Paper, arxiv_id_from, doi_from
from store import sqlite_rows
from store.batch import KEYS, Batch, Slot, Unread
from store.bulk import insert_rows, new_ids
from store.coordination import write_checkpoint
from store.fencing import Transactions
from store.index import reindex
from store.memberships import forget_memberships, replace_memberships
from store.merge import sighting
from store.paper_rows import WRITTEN, row_tuple, row_values, stored_paper
from store.records import Checkpoint, StoredPaper, UpsertResult
from store.schema import papers
from topics.analysis import Document
from topics.membership import Topics


def utcnow() -> datetime:
    """Now, in whole seconds: the time a paper is first seen, whose order key
    (store.index.layout) then sorts it as its first_seen does."""
    return datetime.now(UTC).replace(microsecond=0)


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

        Set-based: the stored records are found with one query per key kind, merged in
        memory in the batch's order (store.batch), and written with one statement per kind
        of write. A paper whose record says what it says costs a comparison (its content
        hash), no read of the row and no write. The text index, and with topics the topic
        memberships, of every new or changed paper are written in the same transaction, and
        so is the checkpoint when given: a refresher killed at any moment leaves no paper
        unindexed or unmatched, and resumes after it.
        """
        # Resumed once _upsert has returned: the batch's records, documents and rows are
        # freed by then, and the collection that follows has only what outlives it to walk
        # (resumed inside, it walked them all, about 7 ms a 500-paper batch).
        with _collector_paused():
            return self._upsert(list(batch), source, now, topics, checkpoint)

    def _upsert(
        self,
        listed: list[Paper],
        source: str,
        now: datetime | None,
        topics: Topics | None,
        checkpoint: Checkpoint | None,
    ) -> UpsertResult:
        # Whole seconds, whatever the caller's clock: order keys sort by (second, id).
        now = (now or utcnow()).replace(microsecond=0)
        result = UpsertResult()
        with self.transaction() as conn:
            matched = _matched(conn, listed, source, now, result)
            gone = [slot.keys["id"] for slot in matched.slots if slot.gone and not slot.new]
            _delete(conn, gone, _merged_into(matched))
            changed = matched.changed()
            if changed:
                conn.execute(_UPDATE, [_update_values(slot.record) for slot in changed])
            new = matched.new()
            if new:
                ids = _insert(conn, [_record(slot) for slot in new])
                for slot, paper_id in zip(new, ids, strict=True):
                    slot.describe(_record(slot).with_id(paper_id))
            _fill_hashes(conn, matched)
            result.new = [slot.keys["id"] for slot in new]
            result.changed = [slot.keys["id"] for slot in changed]
            result.changed += [slot.keys["id"] for slot in new if slot.changed_again]
            result.merged_away = gone
            written = [_record(slot) for slot in (*new, *changed)]
            docs = {slot.keys["id"]: Document.of_paper(slot.record) for slot in (*new, *changed)}
            fresh = {slot.keys["id"] for slot in new}
            if written or gone:
                reindex(conn, written, removed=gone, fresh=fresh, docs=docs)  # the text index
            if topics is not None and written:
                result.memberships_changed = replace_memberships(
                    conn,
                    [p.id for p in written if p.id is not None],
                    topics.of_papers(written, docs),
                    {p.id: p.updated for p in written if p.id is not None},
                    fresh=fresh,
                )
            if checkpoint is not None:
                write_checkpoint(conn, source, checkpoint)
        return result

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
        with self.engine.connect() as conn:
            return find_paper_on(conn, ref)

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


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a batch is written. A batch makes a few hundred
    container objects a paper (records, analysed fields, rows), none of them in a cycle:
    refcounting frees them all, and the collections they set off (each a walk over the young
    objects, and now and then over every object of the process: the parsed listing too)
    cost a third of the write (BENCHMARKS.md, Ingest). It runs again when the batch is done,
    whatever the outcome; a thread that found it off leaves it to the one that turned it off."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


# Built once, their values bound per row (executemany): building a statement per paper (its
# clauses coerced, its cache key computed) cost more than running it.
_INSERT_RETURNING = sa.insert(papers).returning(papers.c.id, sort_by_parameter_order=True)
_UPDATE = sa.update(papers).where(papers.c.id == sa.bindparam("paper_id"))
_SET_HASH = (
    sa.update(papers)
    .where(papers.c.id == sa.bindparam("paper_id"))
    .values(content_hash=sa.bindparam("hash"))
)
# Ids and keys a query looks up at once (SQLite allows 32,766 parameters a statement).
_CHUNK = 1000
# Records found that a lookup leaves out by id, at most (more: it reads them and skips them).
_FOUND_LEFT_OUT = 20 * _CHUNK
# What a lookup reads of each record: its keys, and the hash and date that spare reading
# the rest (store.merge.adds_nothing).
_KEY_NAMES = (*KEYS, "first_seen", "id", "content_hash", "published")
_KEY_COLUMNS = [papers.c[name] for name in _KEY_NAMES]


def _matched(
    conn: Connection, listed: list[Paper], source: str, now: datetime, result: UpsertResult
) -> Batch:
    """The batch merged into the records its papers describe (store.batch), in order."""
    matched = Batch(_keys_found(conn, listed))
    incoming = [sighting(paper, source, now) for paper in listed]
    _read_records(conn, matched, listed, incoming)
    for paper, record in zip(listed, incoming, strict=True):
        try:
            outcome = matched.add(paper, record)
        except Unread as unread:  # an earlier paper of the batch changed what this one finds
            for found in papers_by_ids(conn, unread.ids):
                matched.slot(found.id).describe(found)  # type: ignore[arg-type]
            outcome = matched.add(paper, record)
        result.unchanged += outcome.unchanged
    return matched


def _keys_found(conn: Connection, listed: list[Paper]) -> Iterator[dict[str, Any]]:
    """The keys of every stored record that shares a key with a paper of the batch, each
    once: one query per key kind (a batch's papers mostly have an arXiv id or none at all),
    leaving out the records an earlier kind found (a paper listed again finds its record
    by every key it has: reading it once a kind was most of a re-read's lookups)."""
    found: set[int] = set()
    for key in KEYS:
        values = sorted({value for paper in listed if (value := getattr(paper, key))})
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            query = sa.select(*_KEY_COLUMNS).where(papers.c[key].in_(chunk))
            if 0 < len(found) <= _FOUND_LEFT_OUT:
                query = query.where(papers.c.id.not_in(sorted(found)))
            for row in conn.execute(query):
                keys = dict(zip(_KEY_NAMES, row, strict=True))  # cheaper than row._mapping
                if keys["id"] not in found:
                    found.add(keys["id"])
                    yield keys


def _read_records(
    conn: Connection, matched: Batch, listed: list[Paper], incoming: list[StoredPaper]
) -> None:
    """Read the whole rows of the records these papers need merged (one query)."""
    wanted = {
        slot.keys["id"]: slot
        for paper, record in zip(listed, incoming, strict=True)
        for slot in matched.needs_records(paper, record)
    }
    for record in papers_by_ids(conn, list(wanted)):
        wanted[record.id].describe(record)  # type: ignore[index]


def _merged_into(matched: Batch) -> dict[int, int]:
    """Stored records merged away -> the stored record each went into (its memberships'
    entries move there)."""
    return {
        slot.keys["id"]: slot.into.keys["id"]
        for slot in matched.slots
        if slot.gone and not slot.new and slot.into is not None and not slot.into.new
    }


def _delete(conn: Connection, ids: list[int], into: dict[int, int]) -> None:
    """Delete records merged into others, and their memberships (bumping their topics)."""
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        forget_memberships(conn, chunk, {i: into[i] for i in chunk if i in into})
        conn.execute(sa.delete(papers).where(papers.c.id.in_(chunk)))


def _insert(conn: Connection, records: list[StoredPaper]) -> list[int]:
    """Insert new papers' rows; their ids, in order."""
    if conn.dialect.name == "sqlite":
        return sqlite_rows.insert_new(conn, papers, WRITTEN, list(map(row_tuple, records)))
    if conn.dialect.name != "postgresql":  # one multi-row INSERT ... RETURNING a batch
        return list(conn.execute(_INSERT_RETURNING, list(map(row_values, records))).scalars())
    rows = list(map(row_values, records))
    ids = new_ids(conn, papers, len(rows))
    insert_rows(conn, papers, [{"id": n, **row} for n, row in zip(ids, rows, strict=True)])
    return ids


def _update_values(record: StoredPaper | None) -> dict[str, Any]:
    assert record is not None and record.id is not None
    return {**row_values(record), "paper_id": record.id}


def _record(slot: Slot) -> StoredPaper:
    assert slot.record is not None  # a new or changed record is whole
    return slot.record


def _fill_hashes(conn: Connection, matched: Batch) -> None:
    """Give records stored before content hashes theirs, once read for a merge that found
    nothing to change: the next re-read skips them."""
    missing = [
        {"paper_id": slot.keys["id"], "hash": slot.record.content_hash}
        for slot in matched.slots
        if slot.record is not None and not slot.new and not slot.dirty and not slot.gone
        if slot.keys["content_hash"] is None
    ]
    if missing:
        conn.execute(_SET_HASH, missing)


def paper_columns(
    conn: Connection, ids: Sequence[int], columns: Sequence[str]
) -> list[sa.Row[Any]]:
    """Papers with only these columns (and id, first_seen) read, as rows whose columns are
    attributes: what matching a query needs, without decoding the rest."""
    wanted = [papers.c.id, papers.c.first_seen, *(papers.c[name] for name in columns)]
    return list(conn.execute(sa.select(*wanted).where(papers.c.id.in_(list(ids)))))


def papers_by_ids(conn: Connection, wanted: list[int]) -> list[StoredPaper]:
    found: list[StoredPaper] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        found.extend(
            map(stored_paper, conn.execute(sa.select(papers).where(papers.c.id.in_(chunk))))
        )
    return found


def find_paper_on(conn: Connection, ref: str) -> StoredPaper | None:
    """A paper by arXiv id, DOI, GUID or database id, read on conn."""
    conditions = [papers.c.guid == ref]
    doi = doi_from(ref)
    if doi:
        conditions.append(papers.c.doi == doi)
    arxiv_id = arxiv_id_from(ref)
    if arxiv_id:
        conditions.append(papers.c.arxiv_id == arxiv_id)
    if ref.isdigit():
        conditions.append(papers.c.id == int(ref))
    row = conn.execute(sa.select(papers).where(sa.or_(*conditions))).first()
    return stored_paper(row) if row else None
