"""The text index: paper_index (one row per paper, its order key) and its words; topic feeds
read through memberships (first_seen copied in, indexed), each topic with its own generation.

Revision ID: 0005
Revises: 0004

SQLite keeps the words in an FTS5 table (paper_words), PostgreSQL in a tsvector column of
paper_index with a GIN index (0006 and 0007 add to it). The index is made empty: the
application indexes the papers it lacks (store.backfill), with progress, once the schema
is current (`paperfeed migrate`, and each refresh before topics are matched).

Self-contained, as shipped: plain DDL, nothing of the application imported.
"""

import sqlalchemy as sa
from alembic import op

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
    if op.get_bind().dialect.name == "sqlite":
        # 'ascii' splits where the matcher's tokens end ([a-z0-9] and non-ASCII letters);
        # positions are kept, so a phrase is looked up as a phrase.
        op.execute(
            "CREATE VIRTUAL TABLE paper_words USING fts5(title, abstract, author, tokenize='ascii')"
        )
    else:
        op.execute("ALTER TABLE paper_index ADD COLUMN words tsvector")
        op.execute("CREATE INDEX ix_paper_index_words ON paper_index USING gin (words)")
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
    # The application's fill checkpoint (store.backfill) would claim papers indexed.
    op.execute("DELETE FROM state WHERE key = 'index_checked_through'")
