"""Rows written to SQLite through its own cursor: one executemany of plain tuples.

SQLAlchemy's executemany of dicts (its parameters processed row by row, a multi-row VALUES
built for RETURNING) cost more per paper than SQLite spent storing it. Here each value
is converted by its column's own bind processor, so the stored bytes are the ones
SQLAlchemy would write (JSON text, times as naive UTC), and the statement runs on the
connection's cursor, in its transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect


def insert_new(
    conn: Connection, table: sa.Table, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """Insert rows as insert() does, each given a new id of table's integer key; the ids,
    in the rows' order. SQLite gives each row the largest id plus one (the tables have no
    AUTOINCREMENT), and the first insert takes the write lock that this transaction keeps
    to its end: the rows' ids are the last len(rows) ids, read after them."""
    if not rows:
        return []
    insert(conn, table, names, rows)
    last = int(conn.execute(sa.select(sa.func.max(table.c.id))).scalar_one())
    return list(range(last - len(rows) + 1, last + 1))


def insert(
    conn: Connection, table: sa.Table, names: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert rows (tuples of values for the columns names, in that order) into table."""
    sql, converters = _statement(conn.dialect, table, tuple(names))
    if converters:
        memo: dict[tuple[int, datetime], Any] = {}
        rows = (_converted(row, converters, memo) for row in rows)
    executemany(conn, sql, rows)


def executemany(conn: Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """sql (qmark parameters) once for each row: one executemany of the driver."""
    # Through SQLAlchemy's raw-SQL road: its errors (a locked or broken file) are raised as
    # they are for any statement, and its handle_error hooks see them.
    listed = rows if isinstance(rows, list) else list(rows)
    if listed:  # none: nothing to run (an empty list would run it once, unbound)
        conn.exec_driver_sql(sql, listed)


Converters = tuple[tuple[int, Callable[[Any], Any]], ...]


@lru_cache(maxsize=64)
def _statement(dialect: Dialect, table: sa.Table, names: tuple[str, ...]) -> tuple[str, Converters]:
    """The INSERT for these columns, and the bind processor of each column that has one."""
    columns = ", ".join(names)
    marks = ", ".join("?" * len(names))
    converters = tuple(
        (position, process)
        for position, name in enumerate(names)
        if (process := _processor(table.c[name].type, dialect)) is not None
    )
    return f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", converters


def _processor(kind: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """What SQLAlchemy converts a value of this column type with on this dialect."""
    return kind.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[no-any-return]


def _converted(
    row: Sequence[Any], converters: Converters, memo: dict[tuple[int, datetime], Any]
) -> tuple[Any, ...]:
    values = list(row)
    for position, process in converters:
        value = values[position]
        if type(value) is datetime:  # a batch's rows share a few times: each converted once
            key = (position, value)
            converted = memo.get(key)
            if converted is None:
                converted = memo[key] = process(value)
            values[position] = converted
        else:
            values[position] = process(value)
    return tuple(values)
