"""A content hash per stored paper: a listing read again costs a comparison per unchanged
paper, not a merge or a write.

Revision ID: 0009
Revises: 0012

Self-contained: plain DDL, nothing of the application imported. Papers stored before it
have none: the first refresh that reads one again fills it in.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("content_hash")
