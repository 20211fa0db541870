"""The text index and the planner: never a match dropped, newest first, kept with each write."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parsing
from migrations import upgrade
from parsing.model import make_paper
from store import Store
from store import index as store_index
from store.reader import SearchReader
from store.schema import paper_index, papers, state
from tests.conftest import postgres_test_url, reset_postgres
from tests.helpers import LISTINGS, SEED_COUNTS, SEPARATORS, WORDS, combine, leaves
from topics import search
from topics.membership import Matches, Topics
from topics.plan import Phrase, Term
from topics.query import parse

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# PostgreSQL reads papers by their age (store.index.postgres._postgres_query).
NOW = datetime.now(UTC)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The bundled listings (431 papers), stored once for the read-only tests."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('seeded') / 'store.db'}"
    else:
        url = postgres_test_url() or pytest.skip("TEST_DATABASE_URL is not set")
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
        # Arrival out of id order, several in one second, some days or months apart: the
        # order the index must keep, and each of PostgreSQL's tiers of days before today,
        # after it, and older (store.index.postgres._postgres_query).
        seen = NOW - timedelta(
            days=draw(st.sampled_from([-9, -1, 0, 0, 0, 1, 3, 9, 40, 100])),
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
    monkeypatch.setattr(store_index.postgres, "MAX_PAIRED", 2)
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
    """PostgreSQL reads papers from after tomorrow, then tiers of days before today, then
    the older ones, each its own way (see store.index.postgres._postgres_query): words dense, sparse
    and absent in each must all agree, also past a gap of weeks without papers and when
    older papers have more than _FEW hits."""
    monkeypatch.setattr(store_index.postgres, "_FEW", few)
    for day in [*range(120), 150, 160, 170, 171, 172, 176]:  # 171: today; 172 on: ahead
        words = ["every"] * (day < 120) + ["tenth"] * (day % 10 == 0) + ["oldest"] * (day < 3)
        words += ["recent"] * (day > 115) + ["month"] * (90 <= day < 110)
        paper = make_paper(title=f"paper {day} " + " ".join(words), abstract=f"day{day}")
        store.upsert([paper], "s", NOW + timedelta(days=day - 171, hours=day % 5 - 2))
    for text in ["every", "tenth", "oldest", "recent", "month", "absent", "every -tenth", "ten*"]:
        everything = plain_scan(store, text)
        assert planned(store, text) == everything, text
        for limit in (1, 7, 30):
            assert planned(store, text, limit) == everything[:limit], (text, limit)
    assert len(plain_scan(store, "oldest")) == 3
    # Page by page (each page below the last key read) as in one read, across every tier.
    with store.searching() as reader:
        for text in ["every", "tenth", "recent", "every -tenth"]:
            plan = search.plan(parse(text), store_index.SHAPE)
            whole = [row.key for row in reader.candidates(plan, None, 1000, stems=False)]
            for size in (1, 7):
                paged: list[int] = []
                while page := reader.candidates(plan, paged[-1] if paged else None, size, False):
                    paged += [row.key for row in page]
                assert paged == whole, (text, size)


def test_proximity_finds_through_the_index_what_the_plain_scan_finds(store: Store) -> None:
    """A proximity ("a b"~N) is looked up as all of its words and decided on the text."""
    for title in [
        "deep learning at scale",
        "learning deep features",
        "deep reinforcement learning",
        "deep and wide reinforcement learning",
        "deep nets",
    ]:
        store.upsert([make_paper(title=title, authors=["Ann Lee", "Bo Chen"])], "s", T0)
    for text in [
        '"deep learning"~0',
        '"deep learning"~1',
        '"deep learning"~3 -wide',
        'author:"lee bo"~0',
        'author:"ann lee"~0 AND "learning deep"~5',
    ]:
        assert planned(store, text) == plain_scan(store, text), text
    assert len(plain_scan(store, '"deep learning"~1')) == 3


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
    tokens = {"title": ["a", "b", "c"], "abstract": [], "author": []}
    days = ["@16:134", "@1:2150", "@4:537", "@64:33"]
    assert store_index.lexemes(tokens, 2150) == (
        [*days, "t:a", "t:b", "t:c"],
        [*days, "T:a_b", "T:b_c"],
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


def test_counts_are_as_many_papers_as_the_candidates_up_to_the_cap(seeded: Store) -> None:
    """index.counts (a like:'s rare words counted by the database, many in one statement on
    SQLite) gives what reading the candidates out gives, for words of every frequency, a
    word in no paper, a phrase, and a cap below the count."""
    fields = ("title", "abstract")
    plans = [Term(word, fields) for word in ("model", "gaussian", "splat", "wombatgraph")]
    plans.append(Phrase(("languag", "model"), fields))
    with seeded.search_engine.connect() as conn:
        for cap in (3, 10_000):
            expected = [len(store_index.candidates(conn, p, None, cap, False)) for p in plans]
            assert store_index.counts(conn, plans, cap) == expected
        assert expected[0] > 3 and expected[3] == 0
        assert store_index.counts(conn, [], 5) == []


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
    class Boom(Topics):
        def of_papers(self, papers: object, docs: object = None) -> Matches:  # type: ignore[override]
            raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        store.upsert([make_paper(title="Platypus graphs")], "rss", T0, topics=Boom({}))
    assert store.count_papers() == 0 and indexed_ids(store) == set()
    assert planned(store, "platypus") == []


def test_spellings_of_one_word_find_the_same_papers_through_the_index(seeded: Store) -> None:
    store = seeded
    for forms in [
        ("pretraining", "pre-training", '"pre training"', "pretrain*", "pre-train*"),
        ("finetuning", "fine-tuning"),
        ("multimodal", "multi-modal"),
        ("resnet50", "ResNet-50"),
        ("modeling", "modelling", "modell*"),
        ("optimization", "optimisation", "optimis*"),
    ]:
        everything = plain_scan(store, forms[0])
        assert everything, forms[0]  # the samples hold each
        for text in forms:
            assert planned(store, text) == plain_scan(store, text), text
        assert all(planned(store, text) == everything for text in forms[:2]), forms


def test_id_and_doi_find_their_paper_without_the_text_index(store: Store) -> None:
    store.upsert(
        [
            make_paper(title="Swin Transformer V2: Scaling Up", arxiv_id="2111.09883"),
            make_paper(title="On the dangers", doi="10.1145/3442188.3445922"),
            make_paper(title="Another paper", arxiv_id="2111.09884"),
        ],
        "s",
        T0,
    )
    swin = planned(store, "id:2111.09883")
    assert len(swin) == 1 and swin == plain_scan(store, "id:2111.09883v2")
    assert planned(store, "doi:10.1145/3442188.3445922") == plain_scan(
        store, "doi:10.1145/3442188.3445922"
    )
    assert len(planned(store, "id:2111.09883 OR id:2111.09884")) == 2
    assert planned(store, "id:2111.09883 AND another") == []
    assert planned(store, "id:2111.09999") == []


def test_a_new_analyser_empties_the_index_once_and_fills_it_again(store: Store) -> None:
    assert store.fill_index() == 0  # as `paperfeed migrate` does first: the analyser recorded
    store.upsert([make_paper(title="Pretraining echidnas")], "s", T0)
    assert store.fill_index() == 0  # written with the paper, by this analyser
    with store.engine.begin() as conn:  # as an earlier analyser left it
        conn.execute(sa.update(state).where(state.c.key == "index_analysis").values(number=1))
    assert store.fill_index() == 1  # every paper indexed again
    assert planned(store, "pretraining") == planned(store, '"pre training"') == [1]
    assert store.fill_index() == 0  # once
    with store.engine.begin() as conn:  # a store no analyser recorded: before the record
        conn.execute(sa.delete(state).where(state.c.key == "index_analysis"))
    assert store.fill_index() == 1 and planned(store, "echidna") == [1]


def test_the_migration_indexes_an_existing_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
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
    assert db.fill_index() == 1  # as `paperfeed migrate` and each refresh do (store.backfill)
    assert planned(db, "echidna") == planned(db, "author:lee") == [1]
    # Memberships got their paper's first_seen; topics a generation.
    assert [p.title for p in db.topic_items("t", 5)] == ["Echidna graphs"]
    assert db.topic_generations() == {"t": 0}
    db.dispose()


def plan_rows(plan: dict[str, Any]) -> int:
    """Rows a plan node and those under it read from tables and indexes."""
    read = 0
    if "Scan" in plan["Node Type"] and plan["Node Type"] not in ("CTE Scan", "Subquery Scan"):
        read = (plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)) * plan["Actual Loops"]
    return read + sum(map(plan_rows, plan.get("Plans", [])))


def test_postgres_searches_read_about_what_they_return_even_under_a_generic_plan(
    pg_url: str,
) -> None:
    """A statement run five times on a connection is prepared, and PostgreSQL may then plan
    it once for every word (a generic plan): a common, a sparse, a rare and an absent word,
    each its newest 20, must still read rows in proportion to their answer, not to the
    store (every plan is seen through auto_explain)."""
    store = Store(pg_url)
    upgrade(store.engine)
    for day in range(150):  # ten papers a day for 150 days, the oldest hold "rare"
        batch = [
            make_paper(
                title=f"common paper {day} {n}" + " sparse" * (n == 0 and day % 3 == 0),
                abstract="rare" if day == 149 and n < 2 else "plain",
            )
            for n in range(10)
        ]
        store.upsert(batch, "s", NOW - timedelta(days=day))
    with store.engine.connect() as raw:
        conn = raw.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(sa.text("ANALYZE paper_index"))
        try:
            conn.exec_driver_sql("LOAD 'auto_explain'")
        except sa.exc.DBAPIError as error:
            pytest.skip(f"no auto_explain in this PostgreSQL: {error}")
        for setting in [
            "plan_cache_mode = force_generic_plan",
            "auto_explain.log_min_duration = 0",
            "auto_explain.log_analyze = on",
            "auto_explain.log_format = json",
            "auto_explain.log_level = notice",
        ]:
            conn.exec_driver_sql(f"SET {setting}")
        driver = conn.connection.driver_connection
        driver.prepare_threshold = 0  # type: ignore[union-attr]
        plans: list[dict[str, Any]] = []
        driver.add_notice_handler(  # type: ignore[union-attr]
            lambda notice: plans.append(json.loads(notice.message_primary.split("plan:", 1)[1]))
        )
        reader = SearchReader(conn)
        for text, hits in [("common", 20), ("sparse", 20), ("rare", 2), ("absent", 0)]:
            for _ in range(2):
                plans.clear()
                assert len(search.find(reader, parse(text), 20)) == hits, text
                assert plans, "auto_explain saw no statement"
                read = sum(plan_rows(plan["Plan"]) for plan in plans)
                assert read <= 400, (text, read)  # of 1500 (the whole entry of "common": 3000+)
    store.dispose()


def test_postgres_repairs_papers_an_earlier_release_indexed_during_a_rolling_deploy(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release before 0007 writes index rows with no day lexemes and no first_seen: a
    search still answers (its tiers cannot see such a paper, older ones it reads with
    their first_seen from papers), and repair_index (each refresh) indexes them again."""
    store = Store(pg_url)
    upgrade(store.engine)
    store.upsert([make_paper(title="Wombat one")], "s", NOW - timedelta(days=1))
    with monkeypatch.context() as patched:  # as the earlier release writes
        patched.setattr(store_index.postgres, "day_lexemes", lambda day: [])
        store.upsert([make_paper(title="Wombat two")], "s", NOW)
        store.upsert([make_paper(title="Wombat three")], "s", NOW - timedelta(days=200))
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE paper_index SET first_seen = NULL WHERE paper_id > 1"))
        conn.execute(  # and a row whose paper is gone
            sa.text("INSERT INTO paper_index (paper_id, order_key) VALUES (99, 99)")
        )
    assert planned(store, "wombat") == [1, 3]  # two has no day: no tier finds it
    assert store.repair_index() == 3
    assert planned(store, "wombat") == plain_scan(store, "wombat") == [2, 1, 3]
    assert store.repair_index() == 0
    assert indexed_ids(store) == stored_ids(store) == {1, 2, 3}
    store.dispose()


def test_postgres_searches_keep_the_connection_options_of_the_url(pg_url: str) -> None:
    store = Store(f"{pg_url}?options=-c%20statement_timeout%3D12345")
    with store.searching() as reader:
        shown = reader._conn.execute(sa.text("SHOW statement_timeout")).scalar()
        plans = reader._conn.execute(sa.text("SHOW plan_cache_mode")).scalar()
    assert (shown, plans) == ("12345ms", "force_generic_plan")
    store.dispose()


def test_postgres_tsvector_text_quotes_every_lexeme_and_escapes_the_rare_ones(pg_url: str) -> None:
    """Index rows' tsvectors are written as text quoted with one join; a lexeme with a
    quote or a backslash (no analysed token has one, but the text must still be right)
    takes the escaping path. PostgreSQL must read back exactly the lexemes given."""
    to_text = store_index.postgres._tsvector
    assert to_text(["t:a", "T:a_b"]) == "'t:a' 'T:a_b'"
    assert to_text([]) == ""
    odd = ["t:it's", "a:back\\slash", "u:''", "t:plain", "@1:2150"]
    store = Store(pg_url)
    with store.engine.connect() as conn:
        for found in (odd, odd[1:2] + odd[3:], odd[:1] + odd[3:], odd[3:]):
            read = conn.execute(
                sa.text("SELECT tsvector_to_array(CAST(:v AS tsvector))"), {"v": to_text(found)}
            ).scalar()
            assert sorted(read) == sorted(found)
    store.dispose()
