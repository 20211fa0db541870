"""PostgreSQL's text index gains what SQLite's FTS5 table has: each indexed field's stems
(a search confirms its candidates on them instead of analysing the text again) and a way
to look a phrase up (each pair of neighbouring tokens is a lexeme: store.index.lexemes).

Revision ID: 0006
Revises: 0005

A store indexed by an earlier 0005 (no stems columns, no pairs) gets the columns and an
empty index, which 0007 builds again (with progress on stderr); one that 0005 indexed as
it is now, and every SQLite store, is left as it is.
"""

import sqlalchemy as sa
from alembic import op

from store import index

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ADDED = ("pairs", "title_stems", "abstract_stems", "author_stems")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    columns = {column["name"] for column in sa.inspect(bind).get_columns("paper_index")}
    if set(_ADDED) <= columns:
        return
    op.execute("TRUNCATE paper_index")  # not DELETE: see 0007
    op.execute(
        "ALTER TABLE paper_index ADD COLUMN pairs tsvector, "
        + ", ".join(f"ADD COLUMN {name} text NOT NULL DEFAULT ''" for name in _ADDED[1:])
    )
    op.execute(index.POSTGRES_IN_ROW)  # the index is built again by 0007, as it is now


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP INDEX ix_paper_index_pairs")
        op.execute("ALTER TABLE paper_index " + ", ".join(f"DROP COLUMN {n}" for n in _ADDED))
