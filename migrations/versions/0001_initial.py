"""Initial schema: papers, memberships, topics, sources, state, leases.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "papers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("guid", sa.String(200), nullable=False, unique=True),
        sa.Column("arxiv_id", sa.String(64), nullable=True, unique=True),
        sa.Column("title_key", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("abstract", sa.Text, nullable=False),
        sa.Column("authors", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("sources", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("published", sa.DateTime, nullable=True),
        sa.Column("upvotes", sa.Integer, nullable=True),
        sa.Column("comments", sa.Integer, nullable=True),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("updated", sa.DateTime, nullable=False),
    )
    op.create_index("ix_papers_title_key", "papers", ["title_key"])
    op.create_index("ix_papers_first_seen", "papers", ["first_seen"])
    op.create_table(
        "memberships",
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column(
            "paper_id",
            sa.Integer,
            sa.ForeignKey("papers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("matched", sa.Text, nullable=False),
    )
    op.create_index("ix_memberships_paper", "memberships", ["paper_id"])
    op.create_table(
        "topics",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
    )
    op.create_table(
        "sources",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("last_attempt", sa.DateTime, nullable=True),
        sa.Column("last_success", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("last_error_at", sa.DateTime, nullable=True),
        sa.Column("etag", sa.Text, nullable=True),
        sa.Column("last_modified", sa.Text, nullable=True),
        sa.Column("body_hash", sa.String(64), nullable=True),
        sa.Column("papers_seen", sa.Integer, nullable=False),
        sa.Column("skipped", sa.Integer, nullable=False),
    )
    op.create_table(
        "state",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("number", sa.BigInteger, nullable=True),
        sa.Column("moment", sa.DateTime, nullable=True),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("leases", "state", "sources", "topics", "memberships", "papers"):
        op.drop_table(table)
