"""PostgreSQL's text index gains what SQLite's FTS5 table has: each indexed field's stems
(a search confirms its candidates on them instead of analysing the text again) and a way
to look a phrase up (each pair of neighbouring tokens is a lexeme in the pairs column).

Revision ID: 0006
Revises: 0005

Rows written before lack the stems and pairs, so the index is emptied, and the application
indexes every paper again (store.backfill). SQLite is left as it is.

Self-contained, as shipped: plain DDL, nothing of the application imported. IF NOT EXISTS
because an earlier 0005 made these columns and indexes itself.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ADDED = ("pairs", "title_stems", "abstract_stems", "author_stems")
# New entries wait in a GIN index's pending list, which every search reads in full: at the
# default 4 MB limit a no-match word took many times longer than the index read
# (BENCHMARKS.md, figures behind code comments).
_PENDING = "gin_pending_list_limit = 128"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    # Not DELETE: a GIN index would keep the deleted rows' entries until vacuumed.
    op.execute("TRUNCATE paper_index")
    op.execute("DELETE FROM state WHERE key = 'index_checked_through'")  # fill from the start
    op.execute(
        "ALTER TABLE paper_index ADD COLUMN IF NOT EXISTS pairs tsvector, "
        + ", ".join(
            f"ADD COLUMN IF NOT EXISTS {name} text NOT NULL DEFAULT ''" for name in _ADDED[1:]
        )
    )
    # Rows pass 2 kB, and PostgreSQL would move their largest values out of line, a TOAST
    # read for every row a search tests; only the pairs, read through their GIN index
    # alone, go out of line.
    op.execute(
        "ALTER TABLE paper_index "
        + ", ".join(
            f"ALTER COLUMN {column} SET STORAGE MAIN"
            for column in ("words", "title_stems", "abstract_stems", "author_stems")
        )
    )
    op.execute("CREATE INDEX IF NOT EXISTS ix_paper_index_pairs ON paper_index USING gin (pairs)")
    for name in ("ix_paper_index_words", "ix_paper_index_pairs"):
        op.execute(f"ALTER INDEX {name} SET ({_PENDING})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP INDEX ix_paper_index_pairs")
        op.execute("ALTER TABLE paper_index " + ", ".join(f"DROP COLUMN {n}" for n in _ADDED))
        op.execute("ALTER INDEX ix_paper_index_words RESET (gin_pending_list_limit)")
        op.execute("ALTER TABLE paper_index ALTER COLUMN words SET STORAGE EXTENDED")
