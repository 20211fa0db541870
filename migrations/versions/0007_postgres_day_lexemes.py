"""PostgreSQL's text index gains each paper's day as lexemes (store.index.day_lexemes) in
its words and pairs, and its first_seen in paper_index: a search reads the newest days'
hits first, straight from the GIN index, with all it needs from paper_index alone
(store.index._postgres_query).

Revision ID: 0007
Revises: 0006

A store whose index lacks the days or first_seen, or is empty beside papers (0006 leaves
it so), is indexed again, with progress on stderr; one that 0005 built as it is now, and
every SQLite store, is left as it is.
"""

import sqlalchemy as sa
from alembic import op

from migrations import indexing_progress
from store import index

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_HAS_DAY = sa.text("SELECT words @@ CAST('''@1:'':*' AS tsquery) FROM paper_index LIMIT 1")
_HAS_PAPERS = sa.text("SELECT EXISTS (SELECT 1 FROM papers)")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    columns = {column["name"] for column in sa.inspect(bind).get_columns("paper_index")}
    if "first_seen" not in columns:
        op.execute(f"ALTER TABLE paper_index {index.POSTGRES_FIRST_SEEN_COLUMN}")
    op.execute(index.POSTGRES_UNREPAIRED_INDEX)
    has_day = bind.execute(_HAS_DAY).scalar()  # None: an empty index
    if "first_seen" in columns and (has_day or not bind.execute(_HAS_PAPERS).scalar()):
        return  # indexed as it is now, or nothing to index
    # Not DELETE: the GIN indexes built in this transaction would hold the deleted rows
    # too, and even once vacuumed a common word's entry then costs more to read.
    op.execute("TRUNCATE paper_index")
    index.build(bind, indexing_progress)  # and the GIN indexes, after the rows


def downgrade() -> None:
    """The days stay (an earlier release reads its index as before); first_seen goes, so
    that upgrading again finds what the earlier release wrote meanwhile and re-indexes."""
    if op.get_bind().dialect.name != "sqlite":
        op.execute("ALTER TABLE paper_index DROP COLUMN first_seen")
