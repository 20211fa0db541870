"""A log of refresh runs: who ran, when, what it found.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refresh_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("started", sa.DateTime, nullable=False),
        sa.Column("finished", sa.DateTime, nullable=False),
        sa.Column("sources", sa.Integer, nullable=False),
        sa.Column("new_papers", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("refresh_runs")
