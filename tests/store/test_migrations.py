"""Migrations keep what a store already holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from migrations import upgrade
from parsing.model import make_paper
from store import Store
from topics import search
from topics.query import parse


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_0003_moves_validators_to_named_columns_and_keeps_lists(url: str) -> None:
    store = Store(url)
    upgrade(store.engine, "0002")
    validators = {"https://a.test/x": ['"v1"', "Tue, 12 Mar 2024 00:00:00 GMT"]}
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sources (name, etag, papers_seen, skipped) VALUES ('hf', :e, 3, 0)"
            ),
            {"e": json.dumps(validators)},
        )
        conn.execute(
            sa.text(
                "INSERT INTO papers (guid, title_key, title, abstract, authors, categories, "
                "sources, first_seen, updated) VALUES ('urn:x', 'a', 'A', '', :authors, '[]', "
                "'[\"hf\"]', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"authors": json.dumps(["Cécile", "Ada"], ensure_ascii=False)},
        )
        conn.execute(
            sa.text("INSERT INTO memberships (topic, paper_id, matched) VALUES ('t', 1, :m)"),
            {"m": json.dumps([["resnet", "title"]])},
        )
    upgrade(store.engine)
    assert store.validators("hf") == {"https://a.test/x": ('"v1"', "Tue, 12 Mar 2024 00:00:00 GMT")}
    assert store.source_state("hf").papers_seen == 3
    paper = store.find_paper("urn:x")
    assert paper is not None
    assert paper.authors == ("Cécile", "Ada") and paper.sources == ("hf",)
    assert store.topic_items("t", 10)[0].matched == (("resnet", "title"),)
    store.dispose()


def test_0006_gives_a_postgresql_index_without_stems_its_stems(pg_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """A store indexed before the pairs and stems columns (0005 as it first shipped) is
    indexed again: its phrases are looked up by pairs, its searches confirm on the stems."""
    store = Store(pg_url)
    upgrade(store.engine, "0007")  # the release these tests rewind
    store.upsert([make_paper(title="Echidna graphs", authors=["Ann Lee"])], "s")
    with store.engine.begin() as conn:  # back to the index 0005 first built
        conn.execute(
            sa.text(
                "ALTER TABLE paper_index DROP COLUMN pairs, DROP COLUMN title_stems, "
                "DROP COLUMN abstract_stems, DROP COLUMN author_stems"
            )
        )
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0005'"))
    upgrade(store.engine)
    assert "text index: 1 of 1 papers indexed" in capsys.readouterr().err
    for text in ("echidna", '"echidna graphs"', "author:lee"):
        with store.searching() as index:
            assert [hit.paper_id for hit in search.find(index, parse(text))] == [1], text
    with store.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT title_stems, author_stems FROM paper_index")).one()
    assert tuple(row) == ("echidna graph", "ann lee")
    with store.engine.connect() as conn:  # small pending lists: every search reads them
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


def test_0007_gives_a_postgresql_index_without_days_its_days(pg_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """A store indexed before the day lexemes and first_seen is indexed again, and its
    searches find their papers in the tiers of days (store.index.postgres._postgres_query)."""
    store = Store(pg_url)
    upgrade(store.engine, "0007")  # the release these tests rewind
    store.upsert([make_paper(title="Echidna graphs")], "s")
    store.upsert([make_paper(title="Echidna trees")], "s", datetime.now(UTC) - timedelta(days=9))
    with store.engine.begin() as conn:  # back to the index 0006 built: no days
        conn.execute(
            sa.text(
                "UPDATE paper_index SET words = array_to_tsvector(ARRAY(SELECT lexeme FROM "
                "unnest(words) WHERE lexeme NOT LIKE '@%')), pairs = array_to_tsvector("
                "ARRAY(SELECT lexeme FROM unnest(pairs) WHERE lexeme NOT LIKE '@%'))"
            )
        )
        conn.execute(sa.text("ALTER TABLE paper_index DROP COLUMN first_seen"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0006'"))
        days = "SELECT count(*) FROM paper_index WHERE words @@ CAST(:q AS tsquery)"
        assert conn.execute(sa.text(days), {"q": "'@1:':*"}).scalar() == 0
    upgrade(store.engine)
    assert "text index: 2 of 2 papers indexed" in capsys.readouterr().err
    with store.engine.connect() as conn:
        assert conn.execute(sa.text(days), {"q": "'@1:':*"}).scalar() == 2
        pairs = days.replace("WHERE words", "WHERE pairs")
        assert conn.execute(sa.text(pairs), {"q": "'@1:':* & 'T:echidna_graph'"}).scalar() == 1
    with store.searching() as index:
        assert [hit.paper_id for hit in search.find(index, parse("echidna"))] == [1, 2]
    upgrade(store.engine)  # indexed once: nothing to do
    assert capsys.readouterr().err == ""
    store.dispose()
