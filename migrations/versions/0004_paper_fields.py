"""A paper's DOI, its listing's own item id, and its links (code, project, pdf).

Revision ID: 0004
Revises: 0003

The DOI and the item id (RSS guid, Atom id) identify papers that have no arXiv id, so a
corrected title no longer makes a new item; both are indexed for that lookup.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("doi", sa.String(200), nullable=True))
        batch.add_column(sa.Column("item_id", sa.String(500), nullable=True))
        batch.add_column(
            sa.Column(
                "links",
                sa.JSON().with_variant(JSONB(), "postgresql"),
                nullable=False,
                server_default=sa.text("'{}'"),
            )
        )
        batch.create_index("ix_papers_doi", ["doi"])
        batch.create_index("ix_papers_item_id", ["item_id"])


def downgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.drop_index("ix_papers_item_id")
        batch.drop_index("ix_papers_doi")
        for column in ("links", "item_id", "doi"):
            batch.drop_column(column)
