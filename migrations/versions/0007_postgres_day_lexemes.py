"""PostgreSQL's text index gains each paper's day as lexemes (store.index.day_lexemes) in
its words and pairs: a search reads the newest days' hits first, straight from the GIN
index (store.index._postgres_keys).

Revision ID: 0007
Revises: 0006

A store whose index lacks the days is indexed again, with progress on stderr; an empty
index, one that 0006 built as it is now, and every SQLite store are left as they are.
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


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" or bind.execute(_HAS_DAY).scalar() in (None, True):
        return
    # Not DELETE: the GIN indexes built in this transaction would hold the deleted rows
    # too, and even once vacuumed a common word's entry then costs 5-10 ms more to read.
    op.execute("TRUNCATE paper_index")
    index.build(bind, indexing_progress)  # and the GIN indexes, after the rows


def downgrade() -> None:
    """The days stay: an index with them answers an earlier revision's searches."""
