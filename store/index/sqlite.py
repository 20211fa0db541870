"""The text index on SQLite: an FTS5 table, paper_words, whose rowid is the order key; its
columns hold each field's stems in order (positions kept: a phrase is looked up as a
phrase), and FTS5 hands candidates out in rowid order, newest first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from store import sqlite_rows
from store.index.layout import FIELDS, ID_MASK, MAX_TOKEN, Entry
from store.schema import UtcDateTime, paper_index
from topics.plan import Lookup, Phrase, Term

WORDS_TABLE = (
    # 'ascii' splits exactly where words() did (our tokens are [a-z0-9] and non-ASCII
    # letters); positions are kept, so a phrase is looked up as a phrase.
    "CREATE VIRTUAL TABLE paper_words USING fts5(title, abstract, author, tokenize='ascii')"
)
_COLUMNS = dict(zip(FIELDS, ("title", "abstract", "author"), strict=True))


def forget(conn: Connection, paper_ids: Sequence[int]) -> None:
    """Drop the words of these papers (their paper_index rows go next)."""
    keys = conn.execute(
        sa.select(paper_index.c.order_key).where(paper_index.c.paper_id.in_(paper_ids))
    ).scalars()
    stale = [{"key": key} for key in keys]
    if stale:
        conn.execute(sa.text("DELETE FROM paper_words WHERE rowid = :key"), stale)


def insert(conn: Connection, entries: Sequence[Entry]) -> None:
    # Plain tuples on SQLite's cursor (store.sqlite_rows): both tables' values need no
    # conversion, and SQLAlchemy's handling of each row's dict cost more than the insert.
    sqlite_rows.insert(
        conn, paper_index, ("paper_id", "order_key"), [(pid, key) for key, pid, _, _ in entries]
    )
    sqlite_rows.executemany(
        conn,
        "INSERT INTO paper_words (rowid, title, abstract, author) VALUES (?, ?, ?, ?)",
        [
            (
                key,
                " ".join(tokens["title"]),
                " ".join(tokens["abstract"]),
                " ".join(tokens["author"]),
            )
            for key, _, tokens, _ in entries
        ],
    )


def clear(conn: Connection) -> None:
    conn.execute(sa.text("DELETE FROM paper_words"))
    conn.execute(sa.delete(paper_index))


def before_build(conn: Connection) -> None:
    """Nothing to drop: FTS5 takes rows in bulk as they come."""


def after_build(conn: Connection) -> None:
    """Nothing to build after the rows."""


def unrepaired(conn: Connection) -> list[int]:
    """Every release wrote SQLite's index as it is now: none to index again."""
    return []


def candidates_query(
    plan: Lookup | None, before: int | None, stems: bool, today: int
) -> tuple[sa.Executable, Mapping[str, Any]]:
    """The statement of candidates and its parameters but :count."""
    params: dict[str, Any] = {"before": before}
    where = ["1 = 1"] if plan is None else ["paper_words MATCH :match"]
    if plan is not None:
        params["match"] = fts5_query(plan)
    where += [] if before is None else ["w.rowid < :before"]
    found = "w.rowid AS key" + (
        # The paper id is the key's low bits (layout.split_key): joining on it spares a
        # lookup in paper_index per row, half the cost of the read.
        f", p.id, p.first_seen, w.title, w.abstract, w.author FROM paper_words w "
        f"JOIN papers p ON p.id = (w.rowid & {ID_MASK})"
        if stems
        else " FROM paper_words w"
    )
    sql = f"SELECT {found} WHERE {' AND '.join(where)} ORDER BY w.rowid DESC LIMIT :count"
    query = sa.text(sql)
    return (query.columns(first_seen=UtcDateTime()) if stems else query), MappingProxyType(params)


def read(conn: Connection, statement: Any, params: Mapping[str, Any], stems: bool) -> Sequence[Any]:
    return conn.execute(statement, params).all()


_COUNTED_AT_ONCE = 500  # scalar subqueries a statement (SQLite allows 2,000 result columns)


def counts(conn: Connection, plans: Sequence[Lookup], cap: int) -> list[int]:
    """How many papers each plan may match, each counted to cap at most; FTS5 counts in C,
    many plans a statement (reading the candidates' keys out to count them cost 7x more)."""
    found: list[int] = []
    for start in range(0, len(plans), _COUNTED_AT_ONCE):
        chunk = plans[start : start + _COUNTED_AT_ONCE]
        parts = ", ".join(
            f"(SELECT count(*) FROM (SELECT 1 FROM paper_words WHERE paper_words MATCH ?{n + 2}"
            " LIMIT ?1))"
            for n in range(len(chunk))
        )
        params = (cap, *(fts5_query(plan) for plan in chunk))
        found.extend(conn.exec_driver_sql(f"SELECT {parts}", params).one())
    return found


class _Fts5:
    """The plan in FTS5 query syntax: {title abstract} : "token token" *, AND, OR."""

    def term(self, term: Term) -> str:
        return self._quoted(term.fields, (term.token,), term.prefix)

    def phrase(self, phrase: Phrase) -> str:
        return self._quoted(phrase.fields, phrase.tokens, phrase.prefix)

    def all_of(self, parts: list[str]) -> str:
        return "(" + " AND ".join(parts) + ")"

    def any_of(self, parts: list[str]) -> str:
        return "(" + " OR ".join(parts) + ")"

    @staticmethod
    def _quoted(fields: tuple[str, ...], tokens: tuple[str, ...], prefix: bool) -> str:
        columns = " ".join(_COLUMNS[f] for f in fields)
        quoted = '"' + " ".join(t[:MAX_TOKEN] for t in tokens).replace('"', '""') + '"'
        return f"{{{columns}}} : {quoted}" + (" *" if prefix else "")


def fts5_query(plan: Lookup) -> str:
    return plan.fold(_Fts5())
