"""The only module that talks SQL: papers, topic memberships, source state, the refresh lease.

SQLAlchemy Core on SQLite (the embedded default) or PostgreSQL (DATABASE_URL).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from parsing.model import Paper, arxiv_id_from, new_guid

log = logging.getLogger("paperfeed.store")

metadata = sa.MetaData()

papers = sa.Table(
    "papers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("guid", sa.String(200), nullable=False, unique=True),
    sa.Column("arxiv_id", sa.String(64), nullable=True, unique=True),
    sa.Column("title_key", sa.Text, nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("abstract", sa.Text, nullable=False, default=""),
    sa.Column("authors", sa.Text, nullable=False, default="[]"),
    sa.Column("categories", sa.Text, nullable=False, default="[]"),
    sa.Column("sources", sa.Text, nullable=False, default="[]"),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("published", sa.DateTime, nullable=True),
    sa.Column("upvotes", sa.Integer, nullable=True),
    sa.Column("comments", sa.Integer, nullable=True),
    sa.Column("first_seen", sa.DateTime, nullable=False, index=True),
    sa.Column("updated", sa.DateTime, nullable=False),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("topic", sa.String(200), primary_key=True),
    sa.Column(
        "paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("matched", sa.Text, nullable=False, default="[]"),
    sa.Index("ix_memberships_paper", "paper_id"),
)

topics = sa.Table(
    "topics",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
)

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("last_attempt", sa.DateTime, nullable=True),
    sa.Column("last_success", sa.DateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_error_at", sa.DateTime, nullable=True),
    sa.Column("etag", sa.Text, nullable=True),
    sa.Column("last_modified", sa.Text, nullable=True),
    sa.Column("body_hash", sa.String(64), nullable=True),
    sa.Column("papers_seen", sa.Integer, nullable=False, default=0),
    sa.Column("skipped", sa.Integer, nullable=False, default=0),
)

state = sa.Table(
    "state",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("number", sa.BigInteger, nullable=True),
    sa.Column("moment", sa.DateTime, nullable=True),
)

refresh_runs = sa.Table(
    "refresh_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("started", sa.DateTime, nullable=False),
    sa.Column("finished", sa.DateTime, nullable=False),
    sa.Column("sources", sa.Integer, nullable=False),
    sa.Column("new_papers", sa.Integer, nullable=False),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)


Matches = dict[int, dict[str, list[tuple[str, str]]]]  # paper id -> topic -> what matched


def utcnow() -> datetime:
    return datetime.now(UTC)


def _to_db(moment: datetime | None) -> datetime | None:
    """Store naive UTC: SQLite keeps no zone, and both databases then agree."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _from_db(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None else None


def engine_url(url: str) -> str:
    """Accept Heroku's postgres:// and plain postgresql:// as psycopg 3 URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, busy_timeout_ms: int = 10_000) -> Engine:
    url = engine_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets readers (web workers) go on while the refresher writes.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


@dataclass(frozen=True)
class StoredPaper:
    """A paper as the store keeps it, with the words that put it in a topic."""

    id: int
    guid: str
    arxiv_id: str | None
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
    matched: tuple[tuple[str, str], ...] = ()


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


@dataclass(frozen=True)
class SourceState:
    name: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    papers_seen: int = 0
    skipped: int = 0

    @property
    def failing(self) -> bool:
        if self.last_error_at is None:
            return False
        return self.last_success is None or self.last_error_at >= self.last_success


_MERGED_FIELDS = (
    "title",
    "abstract",
    "authors",
    "categories",
    "sources",
    "url",
    "published",
    "upvotes",
    "comments",
    "arxiv_id",
    "guid",
    "first_seen",
)


def _row_to_stored(row: Any, matched: str | None = None) -> StoredPaper:
    return StoredPaper(
        id=row.id,
        guid=row.guid,
        arxiv_id=row.arxiv_id,
        title=row.title,
        abstract=row.abstract,
        authors=tuple(json.loads(row.authors)),
        categories=tuple(json.loads(row.categories)),
        sources=tuple(json.loads(row.sources)),
        url=row.url,
        published=_from_db(row.published),
        upvotes=row.upvotes,
        comments=row.comments,
        first_seen=_from_db(row.first_seen),  # type: ignore[arg-type]
        updated=_from_db(row.updated),  # type: ignore[arg-type]
        matched=tuple(tuple(pair) for pair in json.loads(matched)) if matched else (),
    )


def _merge(existing: dict[str, Any], paper: Paper, source: str) -> dict[str, Any]:
    """Combine a stored record with a new sighting; identity fields never move backwards."""
    merged = dict(existing)
    if paper.supersedes:
        merged["title"] = paper.title
        merged["title_key"] = paper.title_key
        merged["abstract"] = paper.abstract or existing["abstract"]
    elif len(paper.abstract) > len(existing["abstract"] or ""):
        merged["abstract"] = paper.abstract
    if paper.authors and not json.loads(existing["authors"]):
        merged["authors"] = json.dumps(list(paper.authors), ensure_ascii=False)
    categories = list(dict.fromkeys(json.loads(existing["categories"]) + list(paper.categories)))
    merged["categories"] = json.dumps(categories, ensure_ascii=False)
    names = sorted(set(json.loads(existing["sources"])) | {source} | set(paper.sources))
    merged["sources"] = json.dumps(names, ensure_ascii=False)
    if paper.upvotes is not None:
        merged["upvotes"] = paper.upvotes
    if paper.comments is not None:
        merged["comments"] = paper.comments
    if not existing["url"] and paper.url:
        merged["url"] = paper.url
    if paper.arxiv_id and not existing["arxiv_id"]:
        merged["arxiv_id"] = paper.arxiv_id
    published = _to_db(paper.published)
    if published and (existing["published"] is None or published < existing["published"]):
        merged["published"] = published
    return merged


class Store:
    """Every read and write of paperfeed's data."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from migrations import upgrade  # here: migrations/env.py imports this module

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    # ---- papers -------------------------------------------------------------------------

    def upsert(
        self,
        batch: Iterable[Paper],
        source: str,
        now: datetime | None = None,
        match: Callable[[list[StoredPaper]], Matches] | None = None,
    ) -> UpsertResult:
        """Store papers from one source, merging each into the record it belongs to.

        With match, the topic memberships of every new or changed paper are replaced in the
        same transaction: a refresher killed at any moment leaves no paper unmatched.
        """
        now_db = _to_db(now or utcnow())
        result = UpsertResult()
        with self.engine.begin() as conn:
            for paper in batch:
                self._upsert_one(conn, paper, source, now_db, result)
            if match is not None and result.touched:
                stored = self._papers_by_ids(conn, result.touched)
                result.memberships_changed = self._replace_memberships(
                    conn, [p.id for p in stored], match(stored)
                )
        return result

    def _upsert_one(
        self, conn: Connection, paper: Paper, source: str, now: Any, result: UpsertResult
    ) -> None:
        by_id = None
        title_match: sa.ColumnElement[bool]
        if paper.arxiv_id:
            by_id = (
                conn.execute(sa.select(papers).where(papers.c.arxiv_id == paper.arxiv_id))
                .mappings()
                .first()
            )
            title_match = papers.c.arxiv_id.is_(None)
        else:
            title_match = sa.true()
        by_title = (
            conn.execute(
                sa.select(papers)
                .where(papers.c.title_key == paper.title_key, title_match)
                .order_by(papers.c.first_seen, papers.c.id)
            )
            .mappings()
            .first()
        )
        if by_id is not None and by_title is not None and by_title["id"] != by_id["id"]:
            self._absorb(conn, keep=dict(by_id), gone=dict(by_title), result=result)
            by_id = (
                conn.execute(sa.select(papers).where(papers.c.id == by_id["id"])).mappings().first()
            )
        existing = by_id if by_id is not None else by_title
        if existing is None:
            row = self._insert(conn, paper, source, now)
            result.new.append(row)
            return
        current = dict(existing)
        merged = _merge(current, paper, source)
        if all(merged[k] == current[k] for k in _MERGED_FIELDS):
            result.unchanged += 1
            return
        merged["updated"] = now
        values = {k: merged[k] for k in _MERGED_FIELDS + ("updated",)}
        conn.execute(sa.update(papers).where(papers.c.id == current["id"]).values(**values))
        result.changed.append(current["id"])

    def _absorb(
        self, conn: Connection, keep: dict[str, Any], gone: dict[str, Any], result: UpsertResult
    ) -> None:
        """Merge a title-keyed record into the arXiv-keyed one; the older GUID survives."""
        values: dict[str, Any] = {}
        if (gone["first_seen"], gone["id"]) < (keep["first_seen"], keep["id"]):
            values["guid"] = gone["guid"]
            values["first_seen"] = gone["first_seen"]
        if len(gone["abstract"]) > len(keep["abstract"]):
            values["abstract"] = gone["abstract"]
        if not json.loads(keep["authors"]) and json.loads(gone["authors"]):
            values["authors"] = gone["authors"]
        names = sorted(set(json.loads(keep["sources"])) | set(json.loads(gone["sources"])))
        values["sources"] = json.dumps(names, ensure_ascii=False)
        cats = list(dict.fromkeys(json.loads(keep["categories"]) + json.loads(gone["categories"])))
        values["categories"] = json.dumps(cats, ensure_ascii=False)
        if gone["published"] and (
            keep["published"] is None or gone["published"] < keep["published"]
        ):
            values["published"] = gone["published"]
        conn.execute(sa.delete(memberships).where(memberships.c.paper_id == gone["id"]))
        conn.execute(sa.delete(papers).where(papers.c.id == gone["id"]))
        conn.execute(sa.update(papers).where(papers.c.id == keep["id"]).values(**values))
        result.merged_away.append(gone["id"])
        result.changed.append(keep["id"])

    def _insert(self, conn: Connection, paper: Paper, source: str, now: Any) -> int:
        sources_json = json.dumps(sorted({source} | set(paper.sources)), ensure_ascii=False)
        inserted = conn.execute(
            sa.insert(papers).values(
                guid=new_guid(paper),
                arxiv_id=paper.arxiv_id,
                title_key=paper.title_key,
                title=paper.title,
                abstract=paper.abstract,
                authors=json.dumps(list(paper.authors), ensure_ascii=False),
                categories=json.dumps(list(paper.categories), ensure_ascii=False),
                sources=sources_json,
                url=paper.url,
                published=_to_db(paper.published),
                upvotes=paper.upvotes,
                comments=paper.comments,
                first_seen=now,
                updated=now,
            )
        )
        return int(inserted.inserted_primary_key[0])  # type: ignore[index]

    def count_papers(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one())

    def papers_by_ids(self, ids: Iterable[int]) -> list[StoredPaper]:
        with self.engine.connect() as conn:
            return self._papers_by_ids(conn, list(ids))

    @staticmethod
    def _papers_by_ids(conn: Connection, wanted: list[int]) -> list[StoredPaper]:
        found: list[StoredPaper] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = conn.execute(sa.select(papers).where(papers.c.id.in_(chunk)))
            found.extend(_row_to_stored(row) for row in rows)
        return found

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
                yield _row_to_stored(row)
            last = (rows[-1].first_seen, rows[-1].id)

    def find_paper(self, ref: str) -> StoredPaper | None:
        """Look a paper up by arXiv id, GUID or database id."""
        conditions = [papers.c.guid == ref]
        arxiv_id = arxiv_id_from(ref)
        if arxiv_id:
            conditions.append(papers.c.arxiv_id == arxiv_id)
        if ref.isdigit():
            conditions.append(papers.c.id == int(ref))
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(papers).where(sa.or_(*conditions))).first()
        return _row_to_stored(row) if row else None

    # ---- topics and memberships ---------------------------------------------------------

    def topic_fingerprints(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(topics.c.name, topics.c.fingerprint)).all())

    def _replace_memberships(self, conn: Connection, ids: list[int], matches: Matches) -> int:
        changed = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            old = {
                (row.topic, row.paper_id): row.matched
                for row in conn.execute(
                    sa.select(memberships).where(memberships.c.paper_id.in_(chunk))
                )
            }
            new = {
                (topic, pid): json.dumps(matched, ensure_ascii=False)
                for pid in chunk
                for topic, matched in matches.get(pid, {}).items()
            }
            changed += self._apply_membership_diff(conn, old, new)
        return changed

    def set_topic(
        self, name: str, fingerprint: str, paper_matches: dict[int, list[tuple[str, str]]]
    ) -> int:
        """Replace every membership of one topic (its rule changed) and record its fingerprint."""
        with self.engine.begin() as conn:
            old = {
                (row.topic, row.paper_id): row.matched
                for row in conn.execute(sa.select(memberships).where(memberships.c.topic == name))
            }
            new = {
                (name, pid): json.dumps(matched, ensure_ascii=False)
                for pid, matched in paper_matches.items()
            }
            changed = self._apply_membership_diff(conn, old, new)
            conn.execute(sa.delete(topics).where(topics.c.name == name))
            conn.execute(sa.insert(topics).values(name=name, fingerprint=fingerprint))
        return changed

    def drop_topics_except(self, keep: Iterable[str]) -> int:
        names = list(keep)
        with self.engine.begin() as conn:
            gone = conn.execute(sa.delete(memberships).where(memberships.c.topic.not_in(names)))
            conn.execute(sa.delete(topics).where(topics.c.name.not_in(names)))
        return gone.rowcount or 0

    @staticmethod
    def _apply_membership_diff(
        conn: Connection, old: dict[tuple[str, int], str], new: dict[tuple[str, int], str]
    ) -> int:
        removed = [key for key in old if key not in new]
        upserts = [key for key, value in new.items() if old.get(key) != value]
        for topic, pid in removed + [k for k in upserts if k in old]:
            conn.execute(
                sa.delete(memberships).where(
                    memberships.c.topic == topic, memberships.c.paper_id == pid
                )
            )
        if upserts:
            conn.execute(
                sa.insert(memberships),
                [{"topic": t, "paper_id": p, "matched": new[(t, p)]} for t, p in upserts],
            )
        return len(removed) + len(upserts)

    def topic_items(self, topic: str, limit: int) -> list[StoredPaper]:
        """The newest papers of a topic, newest first (by first_seen)."""
        query = (
            sa.select(papers, memberships.c.matched)
            .join(memberships, memberships.c.paper_id == papers.c.id)
            .where(memberships.c.topic == topic)
            .order_by(papers.c.first_seen.desc(), papers.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_row_to_stored(row, row.matched) for row in conn.execute(query)]

    def topic_summaries(self) -> dict[str, TopicSummary]:
        """Item count and newest paper of every topic, in one query."""
        ranked = (
            sa.select(
                memberships.c.topic,
                papers.c.title,
                papers.c.first_seen,
                sa.func.count().over(partition_by=memberships.c.topic).label("item_count"),
                sa.func.row_number()
                .over(
                    partition_by=memberships.c.topic,
                    order_by=(papers.c.first_seen.desc(), papers.c.id.desc()),
                )
                .label("rank"),
            )
            .join(papers, papers.c.id == memberships.c.paper_id)
            .subquery()
        )
        query = sa.select(ranked.c.topic, ranked.c.item_count, ranked.c.title, ranked.c.first_seen)
        with self.engine.connect() as conn:
            rows = conn.execute(query.where(ranked.c.rank == 1))
            return {
                row.topic: TopicSummary(int(row.item_count), row.title, _from_db(row.first_seen))
                for row in rows
            }

    # ---- sources ------------------------------------------------------------------------

    def source_state(self, name: str) -> SourceState:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sources).where(sources.c.name == name)).mappings().first()
        return self._source(row) if row else SourceState(name=name)

    def source_states(self) -> dict[str, SourceState]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(sources)).mappings().all()
        return {row["name"]: self._source(row) for row in rows}

    @staticmethod
    def _source(row: Any) -> SourceState:
        values = dict(row)
        for key in ("last_attempt", "last_success", "last_error_at"):
            values[key] = _from_db(values[key])
        return SourceState(**values)

    def save_source(self, name: str, **values: Any) -> None:
        values = {k: (_to_db(v) if isinstance(v, datetime) else v) for k, v in values.items()}
        with self.engine.begin() as conn:
            updated = conn.execute(
                sa.update(sources).where(sources.c.name == name).values(**values)
            )
            if not updated.rowcount:
                conn.execute(sa.insert(sources).values(name=name, **values))

    # ---- generation: a number that changes whenever any feed could change ---------------

    def generation(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(state.c.number).where(state.c.key == "generation")
            ).scalar()
        return int(value or 0)

    def bump_generation(self, now: datetime | None = None) -> int:
        moment = _to_db(now or utcnow())
        with self.engine.begin() as conn:
            updated = conn.execute(
                sa.update(state)
                .where(state.c.key == "generation")
                .values(number=state.c.number + 1, moment=moment)
            )
            if not updated.rowcount:
                conn.execute(sa.insert(state).values(key="generation", number=1, moment=moment))
            return int(
                conn.execute(
                    sa.select(state.c.number).where(state.c.key == "generation")
                ).scalar_one()
            )

    def last_change(self) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(state.c.moment).where(state.c.key == "generation")
            ).scalar()
        return _from_db(value)

    def record_run(self, holder: str, started: datetime, sources_tried: int, new: int) -> None:
        """Log one refresh that fetched something (shown in /status)."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(refresh_runs).values(
                    holder=holder,
                    started=_to_db(started),
                    finished=_to_db(utcnow()),
                    sources=sources_tried,
                    new_papers=new,
                )
            )

    def recent_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        query = sa.select(refresh_runs).order_by(refresh_runs.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {**row, "started": _from_db(row["started"]), "finished": _from_db(row["finished"])}
            for row in rows
        ]

    # ---- the refresh lease: one refresher at a time across every process ----------------

    def acquire_lease(
        self, name: str, holder: str, ttl: timedelta, now: datetime | None = None
    ) -> bool:
        """Take the lease if it is free, expired, or already ours."""
        moment = _to_db(now or utcnow())
        expires = moment + ttl  # type: ignore[operator]
        with self.engine.begin() as conn:
            taken = conn.execute(
                sa.update(leases)
                .where(
                    leases.c.name == name,
                    sa.or_(leases.c.holder == holder, leases.c.expires_at < moment),
                )
                .values(holder=holder, expires_at=expires)
            )
            if taken.rowcount:
                return True
        try:
            with self.engine.begin() as conn:
                exists = conn.execute(sa.select(leases.c.name).where(leases.c.name == name)).first()
                if exists:
                    return False
                conn.execute(sa.insert(leases).values(name=name, holder=holder, expires_at=expires))
                return True
        except IntegrityError:
            return False

    def renew_lease(self, name: str, holder: str, ttl: timedelta) -> bool:
        expires = _to_db(utcnow() + ttl)
        with self.engine.begin() as conn:
            renewed = conn.execute(
                sa.update(leases)
                .where(leases.c.name == name, leases.c.holder == holder)
                .values(expires_at=expires)
            )
        return bool(renewed.rowcount)

    def release_lease(self, name: str, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(leases)
                .where(leases.c.name == name, leases.c.holder == holder)
                .values(expires_at=datetime(1970, 1, 1))
            )

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(leases).where(leases.c.name == name)).first()
        if row is None or row.expires_at < _to_db(utcnow()):
            return None
        return row.holder, _from_db(row.expires_at)  # type: ignore[return-value]
