"""A papers row and a StoredPaper, each made from the other by field name.

Every field a record keeps has the column of its name (tests/store/test_shape.py checks), so
a new field needs no edit here. Times convert in their column type (schema.UtcDateTime);
the conversions below are the columns whose JSON differs from the field's value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parsing.model import Version, column_fields
from store.records import StoredPaper, ordered_links
from store.schema import papers

FIELDS = column_fields(StoredPaper)
# What an insert or update writes: every column but the key, title_key included (a
# property of the record, derived from its title, kept as a column for the identity lookup).
WRITTEN = tuple(column.name for column in papers.c if column.name != "id")

# links: (kind, url) pairs in the record, an object {kind: url} in the column; versions:
# Version pairs in the record, objects {"version": n, "date": iso} in the column; origins:
# (field, source) pairs in the record, an object {field: source} in the column.
_TO_COLUMN: dict[str, Callable[[Any], Any]] = {
    "links": dict,
    "versions": lambda value: [version._asdict() for version in value],
    "origins": dict,
}
_FROM_COLUMN: dict[str, Callable[[Any], Any]] = {
    "links": lambda value: ordered_links(value or {}),
    "versions": lambda value: tuple(Version(v["version"], v["date"]) for v in value or ()),
    "origins": lambda value: tuple(sorted((value or {}).items())),
}
# Any other JSON array comes back as a tuple, as the record holds it.
_DECODERS = tuple((name, _FROM_COLUMN.get(name)) for name in FIELDS)


def row_values(record: StoredPaper) -> dict[str, Any]:
    """The values of record's papers row, all but its id."""
    return {name: _to_column(name, getattr(record, name)) for name in WRITTEN}


def row_tuple(record: StoredPaper) -> tuple[Any, ...]:
    """The values of record's papers row in WRITTEN's order (a positional insert)."""
    return tuple([_to_column(name, getattr(record, name)) for name in WRITTEN])


def stored_paper(row: Any, matched: Any = None, entered: Any = None) -> StoredPaper:
    """A papers row (and, read through a topic, what matched and when it entered) as a
    StoredPaper."""
    values = row._mapping
    fields: dict[str, Any] = {}
    for name, decode in _DECODERS:  # the hottest loop of a feed's or a search's read
        value = values[name]
        fields[name] = decode(value) if decode else tuple(value) if type(value) is list else value
    return StoredPaper(
        **fields,
        matched=tuple(tuple(pair) for pair in matched) if matched else (),
        entered=entered,
    )


def _to_column(name: str, value: Any) -> Any:
    if name in _TO_COLUMN:
        return _TO_COLUMN[name](value)
    return list(value) if isinstance(value, tuple) else value  # a JSON array
