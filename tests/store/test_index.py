"""The text index and the planner: never a match dropped, newest first, kept with each write."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parsing
from migrations import upgrade
from parsing.model import make_paper
from store import Store
from store import index as store_index
from store.schema import paper_index, papers
from tests.conftest import reset_postgres
from tests.helpers import LISTINGS, SEED_COUNTS, SEPARATORS, WORDS, combine, leaves
from topics import search
from topics.query import parse

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The bundled listings (431 papers), stored once for the read-only tests."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('seeded') / 'store.db'}"
    else:
        url = os.environ.get("TEST_DATABASE_URL") or pytest.skip("TEST_DATABASE_URL is not set")
        reset_postgres(url)
    db = Store(url)
    upgrade(db.engine)
    for name in sorted(SEED_COUNTS):
        db.upsert(parsing.parse("hf-text", (LISTINGS / name).read_bytes()).papers, "s", T0)
    yield db
    db.dispose()


def plain_scan(store: Store, text: str, limit: int | None = None) -> list[int]:
    """The answer without the index: every paper, matched one by one, newest first."""
    return [p.id for p, _ in search.matches(store.iter_papers(), parse(text))][:limit]  # type: ignore[misc]


def planned(store: Store, text: str, limit: int | None = None) -> list[int]:
    with store.searching() as index:
        return [hit.paper_id for hit in search.find(index, parse(text), limit)]


# ---- the planner never drops a match --------------------------------------------------------

# Words whose stem drops letters a prefix may keep ("studies*" must find "studies").
EXTRA_WORDS = ["study", "studies", "class", "classes", "studie", "boxe", "ties"]
# Words past the index's MAX_TOKEN letters, alike in their first 60: kept whole by the text,
# cut by the index.
LONG = "x" * 58 + "ab"
EXTRA_WORDS += [LONG + "cd", LONG + "ef", LONG]
VOCABULARY = WORDS + EXTRA_WORDS


@st.composite
def texts(draw) -> str:  # type: ignore[no-untyped-def]
    count = draw(st.integers(0, 12))
    return "".join(
        draw(st.sampled_from(VOCABULARY)) + draw(st.sampled_from(SEPARATORS)) for _ in range(count)
    )


@st.composite
def extra_leaves(draw) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    """Leaves the reference strategy lacks: *, ranges, authors, sources, regexes, odd prefixes."""
    word = draw(st.sampled_from(VOCABULARY))
    return draw(
        st.sampled_from(
            [
                "*",
                f"upvotes:>={draw(st.integers(0, 5))}",
                f"author:{word}",
                f"author:{word[:3]}*" if len(word) >= 3 else "author:net*",
                f"{word}*" if len(word) >= 2 else "ne*",
                "source:s",
                f"/{word[:3]}/",
                f"-{word}",
                # Author phrases may span two authors: the index lets them, the matcher not.
                f'author:"{word} {draw(st.sampled_from(VOCABULARY))}"',
                f'author:"{word} {draw(st.sampled_from(VOCABULARY))[:3]}*"',
            ]
        )
    ), None


query_texts = st.recursive(st.one_of(leaves(), extra_leaves()), combine, max_leaves=5).map(
    lambda pair: pair[0]
)


@st.composite
def paper_sets(draw) -> list[tuple[object, datetime]]:  # type: ignore[no-untyped-def]
    count = draw(st.integers(0, 12))
    found = []
    for index in range(count):
        # The title ends in a vocabulary word, so a phrase may span title and abstract.
        title = f"paper{index} " + draw(texts())
        authors = [draw(texts()) or "anon" for _ in range(draw(st.integers(0, 2)))]
        paper = make_paper(
            title=title,
            abstract=draw(texts()),
            authors=authors,
            upvotes=draw(st.none() | st.integers(0, 5)),
        )
        # Arrival out of id order, several in one second, some weeks or months apart: the
        # order the index must keep, and each of PostgreSQL's slices of time (store.index).
        seen = T0 + timedelta(
            days=draw(st.sampled_from([0, 0, 0, 5, 20, 60])),
            seconds=draw(st.integers(0, 3)),
            microseconds=draw(st.integers(0, 9)),
        )
        found.append((paper, seen))
    return found


def clear(store: Store) -> None:
    with store.engine.begin() as conn:
        if store.is_sqlite:
            conn.execute(sa.text("DELETE FROM paper_words"))
        conn.execute(sa.delete(paper_index))
        conn.execute(sa.delete(papers))


def test_the_index_path_finds_exactly_what_the_plain_scan_finds(store: Store) -> None:
    agrees_with_the_plain_scan(store, examples=30 if store.is_sqlite else 15)


def test_postgres_fields_too_long_for_pairs_find_exactly_what_the_plain_scan_finds(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Short papers past a lowered limit of paired tokens: their phrases go by words."""
    monkeypatch.setattr(store_index, "MAX_PAIRED", 2)
    store = Store(pg_url)
    upgrade(store.engine)
    agrees_with_the_plain_scan(store, examples=15)
    store.dispose()


def agrees_with_the_plain_scan(store: Store, examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(paper_sets(), query_texts, st.integers(1, 4))
    def check(batch, text, limit) -> None:  # type: ignore[no-untyped-def]
        clear(store)
        for paper, seen in batch:
            store.upsert([paper], "s", seen)
        assert planned(store, text) == plain_scan(store, text), text
        assert planned(store, text, limit) == plain_scan(store, text, limit), text

    check()


def test_the_bundled_listings_agree_on_every_kind_of_query(seeded: Store) -> None:
    store = seeded
    for text in [
        "diffusion",
        "diffus*",
        '"diffusion model"',
        "models",
        "title:vision AND NOT transformer*",
        "image rec*",
        "lang* OR robot*",
        "models*",
        "studies*",
        "reinforcement learning",
        "*",
        "NOT diffusion",
        "upvotes:>=3",
        "/transf.rmer/",
    ]:
        everything = plain_scan(store, text)
        assert planned(store, text) == everything, text
        assert planned(store, text, 7) == everything[:7], text


@pytest.mark.parametrize("few", [2000, 3])
def test_words_of_every_density_agree_across_months_of_papers(
    store: Store, few, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL reads the newest week, the four weeks under it, then the rest, each its own
    way (see store.index): words dense, sparse and absent in each must all agree, also past
    a gap of weeks without papers and when older papers have more than _FEW hits."""
    monkeypatch.setattr(store_index, "_FEW", few)
    for day in [*range(120), 150, 160, 170, 171]:
        words = ["every"] * (day < 120) + ["tenth"] * (day % 10 == 0) + ["oldest"] * (day < 3)
        words += ["recent"] * (day > 115) + ["month"] * (90 <= day < 110)
        paper = make_paper(title=f"paper {day} " + " ".join(words), abstract=f"day{day}")
        store.upsert([paper], "s", T0 + timedelta(days=day, hours=day % 5))
    for text in ["every", "tenth", "oldest", "recent", "month", "absent", "every -tenth"]:
        everything = plain_scan(store, text)
        assert planned(store, text) == everything, text
        for limit in (1, 7, 30):
            assert planned(store, text, limit) == everything[:limit], (text, limit)
    assert len(plain_scan(store, "oldest")) == 3


def test_what_the_index_cuts_or_joins_is_left_to_the_text(store: Store) -> None:
    """The index keeps a word's first MAX_TOKEN letters and no separator between authors;
    the text decides where those differ (a plain scan is the reference)."""
    store.upsert([make_paper(title=f"{LONG}cd paper", authors=["Ann Lee", "Bo Chen"])], "s", T0)
    store.upsert([make_paper(title=f"{LONG} paper", authors=["Lee Bo"])], "s", T0)
    for text in [LONG, f"{LONG}cd", f"{LONG}ef", 'author:"lee bo"', "author:lee", f"{LONG}*"]:
        assert planned(store, text) == plain_scan(store, text), text
    assert len(plain_scan(store, f"{LONG}cd")) == len(plain_scan(store, 'author:"lee bo"')) == 1


def test_postgres_looks_phrases_up_by_pairs_and_long_fields_by_words(pg_url: str) -> None:
    """Each pair of neighbouring tokens is a lexeme; a field too long to keep pairs is
    marked, and a phrase there is looked up by its words (never missed)."""
    store = Store(pg_url)
    upgrade(store.engine)
    many_authors = [f"Author{i} Number{i}" for i in range(5001)] + ["Zebra Quokka"]
    store.upsert([make_paper(title="Long author list", authors=many_authors)], "s", T0)
    store.upsert([make_paper(title="Short wombat", authors=["Zebra Quokka"])], "s", T0)
    store.upsert([make_paper(title="Wombat short", authors=["Quokka Zebra"])], "s", T0)
    long_list, short, reversed_ = 1, 2, 3
    assert store_index.lexemes({"title": ["a", "b", "c"], "abstract": [], "author": []}) == (
        ["t:a", "t:b", "t:c"],
        ["T:a_b", "T:b_c"],
    )
    with store.engine.connect() as conn:
        marked = conn.execute(
            sa.text("SELECT paper_id FROM paper_index WHERE words @@ CAST(:q AS tsquery)"),
            {"q": "'U!'"},
        )
        assert list(marked.scalars()) == [long_list]
    for text, expected in [
        ('author:"zebra quokka"', [long_list, short]),
        ('author:"zebra quok*"', [long_list, short]),
        ('"short wombat"', [short]),
        ('"wombat sho*"', [reversed_]),
    ]:
        assert sorted(planned(store, text)) == expected, text
        assert planned(store, text) == plain_scan(store, text), text
    store.dispose()


# ---- `*` and pure negatives -------------------------------------------------------------------


def test_star_and_pure_negatives_match_everything_they_should(seeded: Store) -> None:
    """They answered nothing: a match of `*` or NOT names no words, and that read as no match."""
    store = seeded
    total = store.count_papers()
    with_diffusion = len(planned(store, "diffusion"))
    assert 0 < with_diffusion < total
    assert len(planned(store, "*")) == total
    assert len(planned(store, "NOT diffusion")) == total - with_diffusion
    assert len(planned(store, "-diffusion")) == total - with_diffusion
    assert len(planned(store, "diffusion OR *")) == total
    assert len(planned(store, "*", 5)) == 5


# ---- the index is written with the papers ----------------------------------------------------


def indexed_ids(store: Store) -> set[int]:
    with store.engine.connect() as conn:
        return set(conn.execute(sa.select(paper_index.c.paper_id)).scalars())


def stored_ids(store: Store) -> set[int]:
    with store.engine.connect() as conn:
        return set(conn.execute(sa.select(papers.c.id)).scalars())


def test_every_write_keeps_the_index_in_step_even_through_a_merge(store: Store) -> None:
    by_title = make_paper(title="Quokka nets for sparse tensors", abstract="first abstract")
    store.upsert([by_title], "rss", T0)
    assert planned(store, "quokka") and not planned(store, "wombat")
    changed = make_paper(title="Quokka nets for sparse tensors", abstract="now about wombats")
    store.upsert([changed], "rss", T0 + timedelta(minutes=1))
    assert planned(store, "wombat") == planned(store, "quokka")
    assert not planned(store, '"first abstract"')
    # The same paper with its arXiv id, first seen by id in another record: two become one.
    store.upsert([make_paper(title="Something else", arxiv_id="2611.00001")], "api", T0)
    merged = make_paper(title="Quokka nets for sparse tensors", arxiv_id="2611.00001")
    store.upsert([merged], "api", T0 + timedelta(minutes=2))
    assert store.count_papers() == 1
    assert indexed_ids(store) == stored_ids(store)
    for text in ["quokka", "wombat", '"something else"', "*"]:
        assert planned(store, text) == plain_scan(store, text)
    assert planned(store, "*") == list(stored_ids(store))


def test_a_failed_write_leaves_neither_paper_nor_index_row(store: Store) -> None:
    def boom(_stored: object) -> dict:  # type: ignore[type-arg]
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        store.upsert([make_paper(title="Platypus graphs")], "rss", T0, match=boom)
    assert store.count_papers() == 0 and indexed_ids(store) == set()
    assert planned(store, "platypus") == []


def test_the_migration_indexes_an_existing_store(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = Store(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(db.engine, "0003")
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO papers (guid, title_key, title, abstract, authors, categories, "
                "sources, first_seen, updated) VALUES ('g1', 'k', 'Echidna graphs', '', "
                "'[\"Ann Lee\"]', '[]', '[]', '2026-11-01 12:00:00', '2026-11-01 12:00:00')"
            )
        )
        conn.execute(sa.text("INSERT INTO memberships VALUES ('t', 1, '[]')"))
        conn.execute(sa.text("INSERT INTO topics VALUES ('t', 'f')"))
    upgrade(db.engine)
    assert "text index: 1 of 1 papers indexed" in capsys.readouterr().err
    assert planned(db, "echidna") == planned(db, "author:lee") == [1]
    # Memberships got their paper's first_seen; topics a generation.
    assert [p.title for p in db.topic_items("t", 5)] == ["Echidna graphs"]
    assert db.topic_generations() == {"t": 0}
    db.dispose()
