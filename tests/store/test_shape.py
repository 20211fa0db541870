"""One paper shape: a field of Paper (or of StoredPaper) is stored in the papers column of its
name, and comes back as it went in, on SQLite and PostgreSQL. A new field is the dataclass,
the schema and one migration; these tests say which of them is missing."""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import MISSING, fields, make_dataclass, replace
from datetime import UTC, datetime
from itertools import count
from typing import Any

import sqlalchemy as sa

from parsing.model import Paper, Version, column_fields, new_guid
from store import Store, StoredPaper
from store.merge import RULES
from store.schema import papers

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# Values the type alone cannot give: a link's kind is one of LINK_KINDS, in that order.
SAMPLES: dict[str, object] = {
    "links": (
        ("code", "https://code.example/x"),
        ("project", "https://project.example/x"),
        ("pdf", "https://pdf.example/x.pdf"),
    ),
    "versions": (Version(1, "2001-02-03T04:05:06+00:00"), Version(2, "2002-03-04")),
}


def without_column(shape: type[Paper], table: sa.Table = papers) -> list[str]:
    return [name for name in column_fields(shape) if name not in table.c]


def test_every_field_a_record_keeps_has_its_column() -> None:
    missing = without_column(StoredPaper)
    assert not missing, (
        f"fields without a column in the papers table: {missing}; add each to store/schema.py "
        "and a migration, or give the field metadata=parsing.model.NO_COLUMN"
    )


def test_every_column_is_read_or_written_by_name() -> None:
    derived = (property, functools.cached_property)
    properties = {n for n in dir(StoredPaper) if isinstance(getattr(StoredPaper, n), derived)}
    # title_key and content_hash: derived, kept for lookups
    names = set(column_fields(StoredPaper)) | properties
    unknown = [c.name for c in papers.c if c.name not in names]
    assert not unknown, f"papers columns that no StoredPaper field or property names: {unknown}"


def test_a_field_without_a_column_is_named() -> None:
    wider = make_dataclass(
        "Wider",
        [("field_with_no_column", str | None, None)],
        bases=(StoredPaper,),
        frozen=True,
        kw_only=True,
    )
    assert without_column(wider) == ["field_with_no_column"]


def test_the_merge_rules_name_fields() -> None:
    assert set(RULES) <= {f.name for f in fields(StoredPaper)}


def every_field_set() -> Paper:
    """A Paper with every field the store keeps set, each to a value of its own."""
    numbers = count(7)
    hints = typing.get_type_hints(Paper)
    values = {name: SAMPLES.get(name) or sample(name, hints[name], numbers) for name in kept()}
    for f in fields(Paper):
        if f.name in values:
            assert values[f.name] != (f.default if f.default is not MISSING else None), f.name
    return Paper(**values)  # type: ignore[arg-type]


def sample(name: str, hint: Any, numbers: count[int]) -> object:
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        (hint,) = (arg for arg in typing.get_args(hint) if arg is not type(None))
    if hint is str:
        return f"{name} value"
    if hint is int:
        return next(numbers)
    if hint is bool:
        return True
    if hint is datetime:
        return datetime(2001, 2, 3, 4, 5, 6, next(numbers), tzinfo=UTC)
    if typing.get_origin(hint) is tuple and typing.get_args(hint) == (str, ...):
        return (f"{name} 1", f"{name} 2")
    raise AssertionError(f"Paper.{name}: no sample for {hint}; add one to SAMPLES in {__file__}")


def kept() -> tuple[str, ...]:
    return column_fields(Paper)


def test_every_field_comes_back_as_it_was_stored(store: Store) -> None:
    paper = every_field_set()
    source = paper.sources[0]
    store.upsert([paper], source, T0)
    stored = store.find_paper(new_guid(paper))
    assert stored is not None
    for name in kept():
        assert getattr(stored, name) == getattr(paper, name), name
    assert (stored.guid, stored.first_seen, stored.updated) == (new_guid(paper), T0, T0)
    # Read back, the record is what a merge compares: the same sighting changes nothing.
    again = store.upsert([paper], source, T0)
    assert (again.new, again.changed, again.unchanged) == ([], [], 1)


def test_a_record_given_its_id_is_the_record_replace_gives() -> None:
    when = datetime(2026, 11, 1, tzinfo=UTC)
    record = StoredPaper(title="Quokka Nets", guid="g", first_seen=when, updated=when)
    assert record.content_hash and record.title_key  # cached: copied with the record
    given = record.with_id(7)
    assert (given, given.id, record.id) == (replace(record, id=7), 7, None)
    assert given.content_hash == replace(record, id=7).content_hash
