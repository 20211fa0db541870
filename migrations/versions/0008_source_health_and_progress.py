"""Source health (suspect / stale), when each source was last started, and how far a
refresh got through each location's body, so that a killed refresh resumes there.

Revision ID: 0008
Revises: 0007

Self-contained: plain DDL, nothing of the application imported.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        # Set when a refresh of the source starts; the least recently started goes first.
        batch.add_column(sa.Column("last_started", sa.DateTime, nullable=True))
        # None (healthy), "suspect" (the body read as nothing useful) or "stale" (the same
        # batch past the listing's cadence), with the reason shown in /status.
        batch.add_column(sa.Column("health", sa.String(20), nullable=True))
        batch.add_column(sa.Column("health_reason", sa.Text, nullable=True))
        # A digest of the identities of the last batch read, and since when it is the same.
        batch.add_column(sa.Column("batch_digest", sa.String(64), nullable=True))
        batch.add_column(sa.Column("batch_since", sa.DateTime, nullable=True))
    op.create_table(
        "source_progress",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("location", sa.String(2000), primary_key=True),
        sa.Column("body_digest", sa.String(64), nullable=False),
        sa.Column("done", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("source_progress")
    with op.batch_alter_table("sources") as batch:
        for column in ("batch_since", "batch_digest", "health_reason", "health", "last_started"):
            batch.drop_column(column)
