"""Migrations are history: each revision keeps its own DDL and imports nothing of ours. An
empty database and a database of each earlier release migrate to the schema of a new one,
keep what they held, and once the store fills its index (store.backfill) every paper is
found again. SQLite and PostgreSQL."""

from __future__ import annotations

import ast
import json
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, Engine

from migrations import upgrade
from store import Store
from store.index import insert_rows
from store.schema import in_core_schema, metadata
from tests.helpers import ROOT, run
from topics import search
from topics.query import parse

RELEASES = ("0001", "0002", "0003", "0004", "0005", "0006", "0007")
HEAD = "0011"
NOW = datetime.now(UTC).replace(microsecond=0)
NAIVE_NOW = NOW.replace(tzinfo=None)  # as the store writes times


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("pg_url"))


# ---- the schema, as comparable values --------------------------------------------------


def schema(engine: Engine) -> dict[str, Any]:
    """Every table with its columns (type, nullability, default), keys, indexes and
    constraints, and what the inspector cannot tell: SQLite's own DDL (the FTS5 table),
    PostgreSQL's index definitions (GIN, options, partial) and column storage."""
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        tables = {table: _table(inspector, table) for table in inspector.get_table_names()}
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        return {"tables": tables, "version": version, "catalog": _catalog(conn)}


def _table(inspector: Any, table: str) -> dict[str, Any]:
    return {
        "columns": [
            (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
            for c in inspector.get_columns(table)
        ],
        "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
        "foreign_keys": sorted(
            repr((fk["constrained_columns"], fk["referred_table"], fk["referred_columns"]))
            + repr(fk.get("options"))
            for fk in inspector.get_foreign_keys(table)
        ),
        "indexes": sorted(
            repr((i["name"], i["column_names"], i["unique"])) for i in inspector.get_indexes(table)
        ),
        "unique": sorted(repr(u["column_names"]) for u in inspector.get_unique_constraints(table)),
    }


def _catalog(conn: Connection) -> list[tuple[Any, ...]]:
    if conn.dialect.name == "sqlite":
        # A plain table's DDL is left to the inspector: a batch migration writes its
        # constraints in any order.
        rows = conn.execute(sa.text("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        return sorted(
            (kind, name, table, "" if (sql or "").startswith("CREATE TABLE") else str(sql))
            for kind, name, table, sql in rows
        )
    queries = (
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = CAST('public' AS regnamespace)",
        "SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), "
        "a.attnotnull, a.attstorage, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid "
        "AND d.adnum = a.attnum WHERE c.relnamespace = CAST('public' AS regnamespace) "
        "AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped",
        "SELECT relname, CAST(reloptions AS text) FROM pg_class "
        "WHERE relnamespace = CAST('public' AS regnamespace) AND reloptions IS NOT NULL",
    )
    return sorted(tuple(map(str, row)) for query in queries for row in conn.execute(sa.text(query)))


def core_differences(engine: Engine) -> list[Any]:
    """How the schema differs from the tables the store's queries are written against."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": in_core_schema})
        return list(compare_metadata(context, metadata))


_fresh: dict[str, dict[str, Any]] = {}


def fresh_schema(url: str) -> dict[str, Any]:
    """The schema of an empty database migrated to head (once per database kind); leaves
    the database empty again."""
    kind = "sqlite" if url.startswith("sqlite") else "postgresql"
    if kind not in _fresh:
        path = url.replace("old.db", "fresh.db") if kind == "sqlite" else url
        store = Store(path)
        upgrade(store.engine)
        _fresh[kind] = schema(store.engine)
        if kind == "postgresql":
            with store.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        store.dispose()
    return _fresh[kind]


# ---- rows as each release wrote them ------------------------------------------------------


def write_as_release(engine: Engine, release: str) -> list[int]:
    """Papers, a topic's member, a source's validators, the generation, a refresh run and
    a lease, as the release wrote them; at 0005 and after also index rows in the release's
    layout, but not for one paper (a release before 0005, still running beside it during a
    rolling deploy, wrote it). The papers' ids."""

    def listed(value: Any) -> Any:  # JSON text before 0003
        return value if release >= "0003" else json.dumps(value, ensure_ascii=False)

    papers = []
    for number, (title, authors, age) in enumerate(
        [
            ("Echidna graphs", ["Ann Lee"], 1),
            ("Echidna trees", ["Cécile Durand"], 200),
            ("Echidna lakes", [], 3),
        ],
        start=1,
    ):
        seen = (NOW - timedelta(days=age)).replace(tzinfo=None)
        paper = {
            "id": number,
            "guid": f"urn:paper:{number}",
            "arxiv_id": f"2601.0000{number}",
            "title_key": title.lower(),
            "title": title,
            "abstract": f"About {title.split()[1]}.",
            "authors": listed(authors),
            "categories": listed(["cs.LG"]),
            "sources": listed(["hf"]),
            "first_seen": seen,
            "updated": seen,
        }
        if release >= "0004":
            paper |= {"doi": f"10.1/{number}", "item_id": f"item-{number}", "links": {}}
        papers.append(paper)
    member = {"topic": "echidnas", "paper_id": 1, "matched": listed([["echidna", "title"]])}
    if release >= "0005":
        member["first_seen"] = papers[0]["first_seen"]
    with engine.begin() as conn:
        _insert(conn, "papers", papers)
        _insert(conn, "memberships", [member])
        _insert(conn, "topics", [{"name": "echidnas", "fingerprint": "f" * 64}])
        _write_source(conn, release)
        _insert(conn, "state", [{"key": "generation", "number": 7, "moment": papers[0]["updated"]}])
        _insert(conn, "leases", [{"name": "refresh", "holder": "old", "expires_at": NAIVE_NOW}])
        if release >= "0002":
            run = {"holder": "old", "started": NAIVE_NOW, "finished": NAIVE_NOW, "sources": 1}
            _insert(conn, "refresh_runs", [run | {"new_papers": 3}])
        if release >= "0005":
            _write_index_rows(conn, release, papers[:2])
    return [paper["id"] for paper in papers]


def _insert(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows as SQLAlchemy writes them: times naive UTC, lists and mappings as JSON."""
    first = rows[0]
    columns = [sa.column(name, _type_of(value)) for name, value in first.items()]
    conn.execute(sa.insert(sa.table(table, *columns)), rows)


def _type_of(value: Any) -> sa.types.TypeEngine[Any] | None:
    if isinstance(value, datetime):
        return sa.DateTime()
    return sa.JSON() if isinstance(value, list | dict) else None


def _write_source(conn: Connection, release: str) -> None:
    source = {"name": "hf", "papers_seen": 3, "skipped": 0}
    validators = {"https://hf.test/papers": ['"v1"', "Tue, 12 Mar 2024 00:00:00 GMT"]}
    if release < "0003":  # every location's validators in one JSON text
        source["etag"] = json.dumps(validators)
    _insert(conn, "sources", [source])
    if release >= "0003":
        location, (etag, modified) = next(iter(validators.items()))
        row = {"source": "hf", "location": location, "etag": etag, "last_modified": modified}
        _insert(conn, "source_validators", [row])


def _write_index_rows(conn: Connection, release: str, papers: list[dict[str, Any]]) -> None:
    """Index rows as the release wrote them. SQLite's have not changed since 0005; on
    PostgreSQL 0005 wrote words alone, 0006 also pairs and stems (no days, no first_seen),
    0007 what today's store writes."""
    texts = [
        (p["id"], p["first_seen"].replace(tzinfo=UTC), p["title"], p["abstract"], p["authors"])
        for p in papers
    ]
    if conn.dialect.name == "sqlite" or release == "0007":
        insert_rows(conn, texts)
        return
    for paper_id, *_ in texts:
        words = ["t:echidna", "a:about"]
        row = {"id": paper_id, "key": paper_id, "words": words}
        if release == "0005":
            sql = "INSERT INTO paper_index VALUES (:id, :key, array_to_tsvector(:words))"
        else:
            sql = (
                "INSERT INTO paper_index VALUES (:id, :key, array_to_tsvector(:words), "
                "array_to_tsvector(:pairs), 'echidna', 'about', '')"
            )
            row["pairs"] = ["T:echidna_x"]
        conn.execute(sa.text(sql), row)


# ---- the tests -----------------------------------------------------------------------------


def test_an_empty_database_migrates_to_the_schema_the_store_is_written_against(
    url: str,
) -> None:
    expected = fresh_schema(url)
    store = Store(url)
    upgrade(store.engine)
    upgrade(store.engine)  # nothing to do
    assert schema(store.engine) == expected
    assert schema(store.engine)["version"] == HEAD
    assert core_differences(store.engine) == []
    assert store.fill_index() == 0
    store.dispose()


@pytest.mark.parametrize("release", RELEASES)
def test_a_database_of_each_release_migrates_to_head_and_keeps_its_papers_findable(
    url: str, release: str
) -> None:
    expected = fresh_schema(url)
    store = Store(url)
    upgrade(store.engine, release)
    ids = write_as_release(store.engine, release)
    upgrade(store.engine)
    assert schema(store.engine) == expected  # and so the store's tables (the test above)
    assert store.count_papers() == len(ids)
    # The application's fill step (paperfeed migrate, each refresh): the papers the index
    # lacks, whether a migration emptied it or an earlier release wrote them unindexed.
    store.repair_index()
    store.fill_index()
    assert indexed(store) == set(ids)
    assert found(store, "echidna") == [1, 3, 2]  # newest first
    assert found(store, '"echidna graphs"') == [1]
    assert found(store, "author:durand") == [2]
    assert store.fill_index() == 0
    paper = store.find_paper("urn:paper:2")
    assert paper is not None and paper.authors == ("Cécile Durand",)
    (member,) = store.topic_items("echidnas", 10)
    assert member.id == 1 and member.matched == (("echidna", "title"),)
    assert store.source_state("hf").papers_seen == 3
    assert store.validators("hf") == {
        "https://hf.test/papers": ('"v1"', "Tue, 12 Mar 2024 00:00:00 GMT")
    }
    assert store.generation() == 7
    store.dispose()


def test_the_fill_resumes_where_it_stopped_and_catches_papers_written_unindexed(
    url: str,
) -> None:
    store = Store(url)
    upgrade(store.engine)
    with store.engine.begin() as conn:
        _insert(conn, "papers", [_paper(n) for n in (1, 2, 3, 4, 5, 10)])
    seen: list[tuple[str, int, int]] = []

    def stop_after_two(task: str, done: int, total: int) -> None:
        seen.append((task, done, total))
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.fill_index(stop_after_two, batch=2)
    assert seen == [("indexing papers", 0, 6), ("indexing papers", 2, 6)]
    assert indexed(store) == {1, 2}
    seen.clear()
    assert store.fill_index(lambda *step: seen.append(step), batch=2) == 4
    assert seen[0] == ("indexing papers", 0, 4) and seen[-1] == ("indexing papers", 4, 4)
    # A release before 0005 writes papers beside this one: after the checkpoint, and (its
    # transaction taking long) below it.
    with store.engine.begin() as conn:
        _insert(conn, "papers", [_paper(n) for n in (7, 11)])
    assert store.fill_index() == 2
    assert indexed(store) == {1, 2, 3, 4, 5, 7, 10, 11}
    assert found(store, "wombat") == [11, 10, 7, 5, 4, 3, 2, 1]
    store.dispose()


def test_paperfeed_migrate_indexes_the_papers_with_progress(
    url: str, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("progress.PLAIN_LINES_FROM", 1)  # every step a line, off a terminal
    store = Store(url)
    upgrade(store.engine, "0004")
    with store.engine.begin() as conn:
        _insert(conn, "papers", [_paper(n) for n in range(1, 31)])
    result = run("--database-url", url, "migrate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database schema is up to date" in result.stdout
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("migrating")] == [
        f"migrating the database: {done}/8" for done in range(9)
    ]
    assert [line for line in lines if line.startswith("indexing")] == [
        "indexing papers: 0/30",
        "indexing papers: 30/30",
    ]
    assert found(store, "wombat")[:2] == [30, 29] and len(indexed(store)) == 30
    store.dispose()


def test_processes_that_fill_at_once_take_turns(url: str) -> None:
    store = Store(url)
    upgrade(store.engine)
    with store.engine.begin() as conn:
        _insert(conn, "papers", [_paper(n) for n in range(1, 61)])
    counts: list[int] = []
    fillers = [
        threading.Thread(target=lambda: counts.append(store.fill_index(batch=10))) for _ in range(3)
    ]
    for filler in fillers:
        filler.start()
    for filler in fillers:
        filler.join()
    assert sum(counts) == 60 and len(counts) == 3  # each paper indexed once, no failure
    assert indexed(store) == set(range(1, 61))
    store.dispose()


def test_a_postgresql_index_keeps_words_and_stems_in_the_row_and_small_pending_lists(
    pg_url: str,
) -> None:
    store = Store(pg_url)
    upgrade(store.engine, "0005")
    upgrade(store.engine)
    with store.engine.connect() as conn:
        options = conn.execute(
            sa.text(
                "SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'ix_paper_index_%' "
                "AND relname <> 'ix_paper_index_order_key' ORDER BY relname"
            )
        ).all()
        storage = conn.execute(
            sa.text(
                "SELECT attname, attstorage FROM pg_attribute WHERE attnum > 2 "
                "AND NOT attisdropped AND attrelid = CAST('paper_index' AS regclass)"
            )
        ).all()
    # In the row: what a search tests or reads for each candidate; out of line: the pairs.
    assert dict(storage) == {
        "words": "m",
        "title_stems": "m",
        "abstract_stems": "m",
        "author_stems": "m",
        "pairs": "x",
        "first_seen": "p",
    }
    assert [tuple(row) for row in options] == [
        ("ix_paper_index_pairs", ["gin_pending_list_limit=128"]),
        ("ix_paper_index_unrepaired", None),
        ("ix_paper_index_words", ["gin_pending_list_limit=128"]),
    ]
    store.dispose()


def test_a_postgresql_database_an_earlier_0005_built_in_full_migrates_too(pg_url: str) -> None:
    """Before migrations were history, 0005 ran today's code: it made every column and
    index of today's text index. 0006 and 0007 add theirs only where missing."""
    expected = fresh_schema(pg_url)
    store = Store(pg_url)
    upgrade(store.engine, "0005")
    with store.engine.begin() as conn:  # what that 0005 added beside the words
        conn.execute(
            sa.text(
                "ALTER TABLE paper_index ADD COLUMN pairs tsvector, "
                "ADD COLUMN title_stems text NOT NULL DEFAULT '', "
                "ADD COLUMN abstract_stems text NOT NULL DEFAULT '', "
                "ADD COLUMN author_stems text NOT NULL DEFAULT '', "
                "ADD COLUMN first_seen timestamp"
            )
        )
        conn.execute(sa.text("CREATE INDEX ix_paper_index_pairs ON paper_index USING gin (pairs)"))
        conn.execute(
            sa.text(
                "CREATE INDEX ix_paper_index_unrepaired ON paper_index (paper_id) "
                "WHERE first_seen IS NULL"
            )
        )
    upgrade(store.engine)
    assert schema(store.engine) == expected
    store.dispose()


def test_migrations_import_nothing_of_the_application() -> None:
    """A revision is history: it runs alembic, SQLAlchemy and the standard library only,
    so it does today what it did when it shipped. (lint-imports holds the package too.)"""
    allowed = {"alembic", "sqlalchemy", "__future__", *sys.stdlib_module_names}
    for path in sorted((ROOT / "migrations").rglob("*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0] if not node.level else ".")
        assert imported <= allowed, (path.name, imported - allowed)


# ---- helpers ----------------------------------------------------------------------------


def _paper(number: int) -> dict[str, Any]:
    """A paper as a release before 0005 wrote it (no index rows), newest with the highest id."""
    seen = (NOW - timedelta(hours=100 - number)).replace(tzinfo=None)
    return {
        "id": number,
        "guid": f"urn:wombat:{number}",
        "title_key": f"wombat {number}",
        "title": f"Wombat {number}",
        "abstract": "",
        "authors": [],
        "categories": [],
        "sources": ["old"],
        "first_seen": seen,
        "updated": seen,
    }


def indexed(store: Store) -> set[int]:
    with store.engine.connect() as conn:
        return set(conn.execute(sa.text("SELECT paper_id FROM paper_index")).scalars())


def found(store: Store, query: str) -> list[int]:
    with store.searching() as index:
        return [hit.paper_id for hit in search.find(index, parse(query))]
