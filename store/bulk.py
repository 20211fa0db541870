"""Bulk inserts: COPY on PostgreSQL, executemany elsewhere.

On PostgreSQL a multi-row INSERT of a batch (SQLAlchemy's insertmanyvalues) is a statement
of thousands of parameters that the driver parses again for every batch: it cost more than
storing the rows. COPY streams them instead, each value converted as its column's type
would (JSON as text, times as naive UTC).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from store.schema import UtcDateTime


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows (dicts by column name, every row the same columns) into table."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(sa.insert(table), list(rows))
        return
    names = list(rows[0])
    convert = [_converter(table.c[name].type, conn) for name in names]
    columns = ", ".join(names)
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([to(row[name]) for name, to in zip(names, convert, strict=True)])


def new_ids(conn: Connection, table: sa.Table, count: int) -> list[int]:
    """count ids of table's serial key, taken now (PostgreSQL): rows COPY writes with them."""
    query = sa.text(
        f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
        "FROM generate_series(1, :count)"
    )
    return [int(value) for value in conn.execute(query, {"count": count}).scalars()]


def _converter(kind: Any, conn: Connection) -> Callable[[Any], Any]:
    if isinstance(kind, UtcDateTime):
        return lambda value: kind.process_bind_param(value, conn.dialect)
    if isinstance(kind.dialect_impl(conn.dialect), sa.JSON):
        return lambda value: None if value is None else json.dumps(value)
    return lambda value: value
