"""Named validator columns per source location; lists as JSON (JSONB on PostgreSQL).

Revision ID: 0003
Revises: 0002

The validators of every location a source reads used to sit in one JSON text in
sources.etag; they move to source_validators(source, location, etag, last_modified).
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_JSON_COLUMNS = {"papers": ("authors", "categories", "sources"), "memberships": ("matched",)}


def upgrade() -> None:
    validators = op.create_table(
        "source_validators",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("location", sa.String(2000), primary_key=True),
        sa.Column("etag", sa.Text, nullable=True),
        sa.Column("last_modified", sa.Text, nullable=True),
    )
    bind = op.get_bind()
    rows = []
    for name, packed in bind.execute(sa.text("SELECT name, etag FROM sources")):
        if not (packed or "").startswith("{"):
            continue
        for location, pair in json.loads(packed).items():
            etag, last_modified = (list(pair) + [None, None])[:2]
            rows.append(
                {"source": name, "location": location, "etag": etag, "last_modified": last_modified}
            )
    if rows:
        op.bulk_insert(validators, rows)
    with op.batch_alter_table("sources") as batch:
        for column in ("etag", "last_modified", "body_hash"):
            batch.drop_column(column)
    for table, columns in _JSON_COLUMNS.items():
        if bind.dialect.name == "postgresql":
            for column in columns:
                op.execute(
                    f"ALTER TABLE {table} ALTER COLUMN {column} TYPE JSONB USING {column}::jsonb"
                )
        else:
            with op.batch_alter_table(table) as batch:
                for column in columns:
                    batch.alter_column(column, type_=sa.JSON(), existing_nullable=False)


def downgrade() -> None:
    for table, columns in _JSON_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.Text(), existing_nullable=False)
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("etag", sa.Text, nullable=True))
        batch.add_column(sa.Column("last_modified", sa.Text, nullable=True))
        batch.add_column(sa.Column("body_hash", sa.String(64), nullable=True))
    op.drop_table("source_validators")
