"""Forgetting a source: its papers that no other source lists go, with their index rows and
memberships; the others only lose its name; its state (validators, progress) goes too, so a
source configured again later reads its listings afresh."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from store.fencing import Transactions
from store.index import reindex
from store.memberships import bump_topics
from store.schema import memberships, papers, source_progress, source_validators, sources


@dataclass(frozen=True)
class Forgotten:
    removed: int  # papers only this source listed
    kept: int  # papers another source lists too: they stay, without this source's name
    known: bool  # whether the store knew the source at all (papers or state)


class ForgetStore(Transactions):
    def source_names(self) -> list[str]:
        """Every source the store has state for (read at least once), by name."""
        with self.engine.connect() as conn:
            return sorted(conn.execute(sa.select(sources.c.name)).scalars())

    def forget_source(self, name: str) -> Forgotten:
        """Remove what the store holds of one source, in one transaction."""
        with self.transaction() as conn:
            listed = _papers_listing(conn, name)
            only = [pid for pid, names in listed if set(names) == {name}]
            shared = [(pid, names) for pid, names in listed if set(names) != {name}]
            for start in range(0, len(only), 500):
                chunk = only[start : start + 500]
                gone = conn.execute(
                    sa.delete(memberships)
                    .where(memberships.c.paper_id.in_(chunk))
                    .returning(memberships.c.topic)
                )
                bump_topics(conn, set(gone.scalars()))
                reindex(conn, [], removed=chunk)
                conn.execute(sa.delete(papers).where(papers.c.id.in_(chunk)))
            if shared:
                conn.execute(
                    sa.update(papers)
                    .where(papers.c.id == sa.bindparam("pid"))
                    .values(sources=sa.bindparam("names")),
                    [{"pid": p, "names": [n for n in names if n != name]} for p, names in shared],
                )
            for table in (source_validators, source_progress):
                conn.execute(sa.delete(table).where(table.c.source == name))
            state = conn.execute(sa.delete(sources).where(sources.c.name == name))
            had_state = bool(state.rowcount)
        return Forgotten(len(only), len(shared), bool(listed) or had_state)


def _papers_listing(conn: Connection, name: str) -> list[tuple[int, list[str]]]:
    """(id, sources) of every paper whose sources name this one: the JSON text narrows them
    (a scan, but forgetting is rare), the decoded list decides."""
    query = sa.select(papers.c.id, papers.c.sources)
    if name.isascii() and not set(name) & set('"\\'):  # written as is inside the JSON text
        text = sa.cast(papers.c.sources, sa.Text)
        query = query.where(text.like(f"%{_json_like(name)}%", escape="\\"))
    return [(row.id, list(row.sources)) for row in conn.execute(query) if name in row.sources]


def _json_like(name: str) -> str:
    """A LIKE pattern piece for name as a JSON string (a prefilter; the caller checks)."""
    return name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
