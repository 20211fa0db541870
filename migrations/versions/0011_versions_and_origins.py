"""What a reader sees: a paper's arXiv version, announce type, withdrawal, journal reference
and comments line, and which source gave its title, abstract and authors (the merge lets a
newer value of the same source correct them).

Revision ID: 0011
Revises: 0012

Self-contained: plain DDL, nothing of the application imported.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("version", sa.Integer, nullable=True))
        batch.add_column(sa.Column("announce_type", sa.String(20), nullable=True))
        batch.add_column(
            sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("journal_ref", sa.Text, nullable=True))
        batch.add_column(sa.Column("author_comments", sa.Text, nullable=True))
        batch.add_column(
            sa.Column(
                "origins",
                sa.JSON().with_variant(JSONB(), "postgresql"),
                nullable=False,
                server_default=sa.text("'{}'"),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        for name in (
            "origins",
            "author_comments",
            "journal_ref",
            "withdrawn",
            "announce_type",
            "version",
        ):
            batch.drop_column(name)
