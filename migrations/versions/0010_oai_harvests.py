"""arXiv OAI-PMH history: each paper's versions and license, and where each OAI-PMH source's
harvest stands (its resumption token is committed with each page's papers).

Revision ID: 0010
Revises: 0012 (0008 when written; chained after 0012, merged first, to keep one head)

Self-contained: plain DDL, nothing of the application imported.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(JSONB(), "postgresql")
    with op.batch_alter_table("papers") as batch:
        # [{"version": 1, "date": ISO 8601}, ...], oldest first.
        batch.add_column(
            sa.Column("versions", json, nullable=False, server_default=sa.text("'[]'"))
        )
        batch.add_column(sa.Column("license", sa.Text, nullable=True))
    op.create_table(
        "oai_harvests",
        sa.Column("source", sa.String(200), primary_key=True),
        # The harvest's metadataPrefix and set: a token of another request is not resumed.
        sa.Column("request", sa.String(500), nullable=False),
        sa.Column("harvest_from", sa.Date, nullable=True),
        # The next page's resumption token; NULL when no harvest is under way.
        sa.Column("token", sa.Text, nullable=True),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=True),
        # When the harvest under way started (the repository's clock); the next harvest
        # asks from that day once this one is complete.
        sa.Column("started", sa.DateTime, nullable=True),
        sa.Column("next_from", sa.Date, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("oai_harvests")
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("license")
        batch.drop_column("versions")
