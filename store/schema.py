"""The tables, and the two column types that spare every query a hand-written conversion.

Times are timezone-aware UTC in Python and naive UTC in the database (SQLite keeps no zone,
and both databases then agree). Lists are JSON (JSONB on PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from parsing.model import MAX_DOI, MAX_ITEM_ID


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; a naive value is taken as UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


Json = sa.JSON().with_variant(JSONB(), "postgresql")

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
    sa.Column("authors", Json, nullable=False, default=list),
    sa.Column("categories", Json, nullable=False, default=list),
    sa.Column("sources", Json, nullable=False, default=list),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("published", UtcDateTime, nullable=True),
    sa.Column("upvotes", sa.Integer, nullable=True),
    sa.Column("comments", sa.Integer, nullable=True),
    sa.Column("doi", sa.String(MAX_DOI), nullable=True, index=True),
    sa.Column("item_id", sa.String(MAX_ITEM_ID), nullable=True, index=True),
    # {kind: url} for the links a listing gives (code, project, pdf); see parsing.model.
    sa.Column("links", Json, nullable=False, default=dict, server_default=sa.text("'{}'")),
    # [{"version": 1, "date": ISO 8601}, ...] oldest first; see parsing.model.Version.
    sa.Column("versions", Json, nullable=False, default=list, server_default=sa.text("'[]'")),
    sa.Column("license", sa.Text, nullable=True),
    sa.Column("first_seen", UtcDateTime, nullable=False, index=True),
    sa.Column("updated", UtcDateTime, nullable=False),
    # A digest of what the record says (StoredPaper.content_hash): a listing's paper whose
    # digest is the same is already stored as it is, and costs no read of the row.
    sa.Column("content_hash", sa.String(32), nullable=True),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("announce_type", sa.String(20), nullable=True),
    sa.Column("withdrawn", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("journal_ref", sa.Text, nullable=True),
    sa.Column("author_comments", sa.Text, nullable=True),
    # {field: source}: which source gave the title, abstract and authors kept (store.merge).
    sa.Column("origins", Json, nullable=False, default=dict, server_default=sa.text("'{}'")),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("topic", sa.String(200), primary_key=True),
    sa.Column(
        "paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("matched", Json, nullable=False, default=list),
    # When the paper entered the topic (its item date, and the feed's order): the paper's
    # first_seen when it matched from the start, later when it qualified later.
    sa.Column("first_seen", UtcDateTime, nullable=False),
    # How well it matches (topics.query: rule clauses and like: similarity): ?order=relevance.
    sa.Column("score", sa.Float, nullable=True),
    sa.Index("ix_memberships_paper", "paper_id"),
    sa.Index("ix_memberships_topic_newest", "topic", "first_seen", "paper_id"),
    sa.Index("ix_memberships_topic_score", "topic", "score", "first_seen", "paper_id"),
)

# The text index (store.index): one row per paper with its order key (newest first). Its words
# are in the FTS5 table paper_words on SQLite, in a tsvector column `words` on PostgreSQL;
# migration 0005 creates both, as raw DDL, since Core has no type for either.
# Readers' "more / less like this" (store.feedback): kind like, unlike or none (undone).
topic_feedback = sa.Table(
    "topic_feedback",
    metadata,
    sa.Column("topic", sa.String(200), primary_key=True),
    sa.Column("paper", sa.String(300), primary_key=True),  # the paper's GUID
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("changed", UtcDateTime, nullable=False),
)

paper_index = sa.Table(
    "paper_index",
    metadata,
    sa.Column("paper_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("order_key", sa.BigInteger, nullable=False),
    sa.Index("ix_paper_index_order_key", "order_key", unique=True),
)

topics = sa.Table(
    "topics",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    # Bumped with every change to the topic's feed (store.memberships).
    sa.Column("generation", sa.BigInteger, nullable=False, server_default="0"),
)

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("last_attempt", UtcDateTime, nullable=True),
    sa.Column("last_success", UtcDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_error_at", UtcDateTime, nullable=True),
    sa.Column("papers_seen", sa.Integer, nullable=False, default=0),
    sa.Column("skipped", sa.Integer, nullable=False, default=0),
    sa.Column("last_started", UtcDateTime, nullable=True),
    sa.Column("health", sa.String(20), nullable=True),  # None, "suspect" or "stale"
    sa.Column("health_reason", sa.Text, nullable=True),
    # A digest of the last batch's identities, and since when the batch is the same.
    sa.Column("batch_digest", sa.String(64), nullable=True),
    sa.Column("batch_since", UtcDateTime, nullable=True),
)

# How far a refresh got through the body of one location: a killed refresh resumes there
# when the body it reads next is the same (refresh.pipeline).
source_progress = sa.Table(
    "source_progress",
    metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("location", sa.String(2000), primary_key=True),
    sa.Column("body_digest", sa.String(64), nullable=False),
    sa.Column("done", sa.Integer, nullable=False),
)

# The HTTP validators of each location a source reads, for conditional GETs.
source_validators = sa.Table(
    "source_validators",
    metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("location", sa.String(2000), primary_key=True),
    sa.Column("etag", sa.Text, nullable=True),
    sa.Column("last_modified", sa.Text, nullable=True),
)

# Where each arXiv OAI-PMH source stands (refresh.oai): the harvest under way (its request,
# from-date and the resumption token of its next page, committed with each page's papers) and
# the from-date of the next harvest (when the last complete one started).
oai_harvests = sa.Table(
    "oai_harvests",
    metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("request", sa.String(500), nullable=False),
    sa.Column("harvest_from", sa.Date, nullable=True),
    sa.Column("token", sa.Text, nullable=True),
    sa.Column("done", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=True),
    sa.Column("started", UtcDateTime, nullable=True),
    sa.Column("next_from", sa.Date, nullable=True),
)

state = sa.Table(
    "state",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("number", sa.BigInteger, nullable=True),
    sa.Column("moment", UtcDateTime, nullable=True),
)

refresh_runs = sa.Table(
    "refresh_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("started", UtcDateTime, nullable=False),
    sa.Column("finished", UtcDateTime, nullable=False),
    sa.Column("sources", sa.Integer, nullable=False),
    sa.Column("new_papers", sa.Integer, nullable=False),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)


def in_core_schema(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """For Alembic's compare: leave out the text index's words, which Core does not model
    (the FTS5 table and its shadow tables on SQLite, the tsvector columns, GIN indexes,
    stems and first_seen columns on PostgreSQL)."""
    if type_ == "table" and name and name.startswith("paper_words"):
        return False
    if type_ == "column" and name == "first_seen" and obj.table.name == "paper_index":
        return False
    return not (name in _INDEX_WORDS and type_ in ("column", "index"))


_INDEX_WORDS = (
    "words",
    "pairs",
    "ix_paper_index_words",
    "ix_paper_index_pairs",
    "ix_paper_index_unrepaired",
    "title_stems",
    "abstract_stems",
    "author_stems",
)
