"""A score per membership (how well the paper matches its topic: the rule's clauses and
the similarity of a like:), the index that orders a topic by it, and the readers'
"more / less like this" per topic and paper.

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
    # kind: "like", "unlike" or "none" (undone); version counts the changes, so a signed
    # form names the state it was made for and cannot be sent twice.
    op.create_table(
        "topic_feedback",
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("paper", sa.String(300), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("changed", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("topic_feedback")
    op.drop_index("ix_memberships_topic_score", table_name="memberships")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("score")
