"""A score per membership (how well the paper matches its topic: the rule's clauses and
the similarity of a like:), and the index that orders a topic by it.

Revision ID: 0012
Revises: 0008

Self-contained: plain DDL, nothing of the application imported.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("memberships") as batch:
        # None until the topic is matched again (the next refresh re-scores every topic).
        batch.add_column(sa.Column("score", sa.Float, nullable=True))
    op.create_index(
        "ix_memberships_topic_score", "memberships", ["topic", "score", "first_seen", "paper_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_memberships_topic_score", table_name="memberships")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("score")
