"""PostgreSQL's text index gains each paper's day as lexemes in its words and pairs, and
its first_seen in paper_index: a search reads the newest days' hits first, straight from
the GIN index, with all it needs from paper_index alone.

Revision ID: 0007
Revises: 0006

Rows written before lack the days and first_seen, so the index is emptied, and the
application indexes every paper again (store.backfill). A release before this one still
running beside it (a rolling deploy, a downgrade) writes rows without first_seen: a
partial index finds them for the application to index again. SQLite is left as it is.

Self-contained, as shipped: plain DDL, nothing of the application imported. IF NOT EXISTS
because an earlier 0005 made the column itself.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    # Not DELETE: the GIN indexes would hold the deleted rows too, and even once vacuumed
    # a common word's entry then costs more to read.
    op.execute("TRUNCATE paper_index")
    op.execute("DELETE FROM state WHERE key = 'index_checked_through'")  # fill from the start
    op.execute("ALTER TABLE paper_index ADD COLUMN IF NOT EXISTS first_seen timestamp")
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_paper_index_unrepaired ON paper_index (paper_id) "
        "WHERE first_seen IS NULL"
    )


def downgrade() -> None:
    """first_seen goes, so that upgrading again finds what the earlier release wrote
    meanwhile and indexes it again."""
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP INDEX ix_paper_index_unrepaired")
        op.execute("ALTER TABLE paper_index DROP COLUMN first_seen")
