"""The store: the only package that talks SQL (SQLAlchemy Core; SQLite or PostgreSQL).

One Store type whose methods live in one module per entity: papers, memberships, the text
index, its fill (store.backfill) and a search's reads of it, and coordination (source
state, generation, refresh runs, lease). The merge policy is a pure function in
store.merge; the tables and column types are in store.schema.
"""

from __future__ import annotations

import sqlalchemy as sa

from store.backfill import IndexFillStore
from store.coordination import CoordinationStore, LeaseState, Validators
from store.engine import (
    SQLiteFile,
    StoreError,
    StoreGone,
    engine_url,
    limit_statements,
    lock_timed_out,
    make_engine,
)
from store.feedback import FeedbackStore
from store.fencing import LeaseLost
from store.forget import ForgetStore, Forgotten
from store.index import IndexStore
from store.memberships import MembershipStore
from store.papers import PaperStore
from store.reader import ReaderStore, SearchReader
from store.records import (
    Checkpoint,
    HarvestState,
    Matches,
    SourceState,
    StoredPaper,
    TopicSummary,
    UpsertResult,
)
from store.similarity import SimilarityStore

__all__ = [
    "Checkpoint",
    "Forgotten",
    "HarvestState",
    "LeaseLost",
    "LeaseState",
    "Matches",
    "SearchReader",
    "SourceState",
    "Store",
    "StoreError",
    "StoreGone",
    "StoredPaper",
    "TopicSummary",
    "UpsertResult",
    "Validators",
    "engine_url",
    "limit_statements",
    "lock_timed_out",
]

# Tables a usable store has: Alembic's version and the papers.
_TABLES = ("alembic_version", "papers")


class Store(
    PaperStore,
    MembershipStore,
    CoordinationStore,
    IndexStore,
    IndexFillStore,
    ReaderStore,
    SimilarityStore,
    FeedbackStore,
    ForgetStore,
):
    """Every read and write of paperfeed's data, on one engine (on PostgreSQL, searches on
    one of their own: store.engine.make_engine)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.search_engine = self.engine if self.is_sqlite else make_engine(url, searches=True)
        # SQLite: the file this store opens, refused once the path names another or none.
        self.file = SQLiteFile(self.engine) if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def ping(self) -> None:
        """Raise StoreError unless the database answers now and holds the store this process
        opened: on SQLite the same file (checked at every checkout), and its tables."""
        with self.engine.connect() as conn:
            inspector = sa.inspect(conn)
            missing = [table for table in _TABLES if not inspector.has_table(table)]
        if missing:
            raise StoreGone(
                f"the database has no {' and no '.join(missing)} table: not a paperfeed store "
                "(dropped, or restored elsewhere?); `paperfeed migrate` makes an empty one"
            )

    def dispose(self) -> None:
        self.engine.dispose()
        self.search_engine.dispose()
        if self.file is not None:
            self.file.forget()
