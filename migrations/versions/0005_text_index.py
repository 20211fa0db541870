"""The text index: paper_index (one row per paper, its order key) and its words; topic feeds
read through memberships (first_seen copied in, indexed), each topic with its own generation.

Revision ID: 0005
Revises: 0004

SQLite keeps the words in an FTS5 table (paper_words), PostgreSQL in a tsvector column of
paper_index with a GIN index (store.index says why) and, since 0006, each field's stems
and pairs of neighbouring tokens beside them. Existing papers are indexed here, in
batches, with progress on stderr. Uses only the papers columns of 0001-0003, so it runs
after any migration that adds others.
"""

import sqlalchemy as sa
from alembic import op

from migrations import indexing_progress
from store import index

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_index",
        sa.Column("paper_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("order_key", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_paper_index_order_key", "paper_index", ["order_key"], unique=True)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(index.SQLITE_WORDS_TABLE)
    else:
        op.execute(index.POSTGRES_WORDS_COLUMN)
        op.execute(index.POSTGRES_IN_ROW)
    index.build(bind, indexing_progress)  # and on PostgreSQL its GIN indexes, after the rows
    _newest_members_and_topic_generations()


def _newest_members_and_topic_generations() -> None:
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("first_seen", sa.DateTime, nullable=True))
    op.execute(
        "UPDATE memberships SET first_seen = "
        "(SELECT papers.first_seen FROM papers WHERE papers.id = memberships.paper_id)"
    )
    with op.batch_alter_table("memberships") as batch:
        batch.alter_column("first_seen", existing_type=sa.DateTime, nullable=False)
    op.create_index(
        "ix_memberships_topic_newest", "memberships", ["topic", "first_seen", "paper_id"]
    )
    with op.batch_alter_table("topics") as batch:
        batch.add_column(sa.Column("generation", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_index("ix_memberships_topic_newest", table_name="memberships")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("first_seen")
    with op.batch_alter_table("topics") as batch:
        batch.drop_column("generation")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE paper_words")
    op.drop_table("paper_index")
