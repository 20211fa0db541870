"""Property: any record a parser accepts can be stored, on SQLite and on PostgreSQL.

Listings are generated with hostile values in every field (any Unicode including NUL and
lone surrogates, numbers of any size, NaN, dates of any year, over-long ids and links);
whatever the parser returns must go into the database without an error."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parsing
from migrations import upgrade
from store import Store

T0 = datetime(2026, 11, 1, tzinfo=UTC)

any_text = st.text(st.characters(exclude_categories=()), max_size=300)
numbers = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    any_text,
)
arxiv_ids = st.one_of(
    st.from_regex(r"\A[0-9]{4}\.[0-9]{4,5}(v[0-9]{1,3})?\Z"),
    st.from_regex(r"\A[a-z]{2,8}(-[a-z]{2})?/[0-9]{7}\Z"),
    any_text,
)
years = st.integers(min_value=1, max_value=9999)
iso_dates = st.one_of(any_text, years.map(lambda y: f"{y:04d}-06-30T12:00:00Z"), st.none(), numbers)
links = st.one_of(any_text, st.from_regex(r"\Ahttps://[a-z]{1,20}\.org/[a-z0-9/]{0,3000}\Z"))
authors = st.lists(st.fixed_dictionaries({"name": any_text, "hidden": st.booleans()}), max_size=30)

hf_items = st.lists(
    st.fixed_dictionaries(
        {
            "paper": st.fixed_dictionaries(
                {
                    "id": arxiv_ids,
                    "title": any_text,
                    "summary": any_text,
                    "authors": authors,
                    "publishedAt": iso_dates,
                    "upvotes": numbers,
                    "githubRepo": links,
                    "projectPage": links,
                }
            ),
            "numComments": numbers,
        }
    ),
    max_size=4,
)


def xml_text(text: str) -> str:
    """What a feed can carry of text: XML 1.0 characters, escaped."""
    kept = "".join(
        ch for ch in text if ch in "\t\n\r" or " " <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd"
    )
    return escape(kept)


rss_items = st.lists(
    st.tuples(any_text, any_text, any_text, links, years, any_text, any_text, any_text),
    max_size=4,
)


def rss(items: list[tuple[str, ...]]) -> bytes:
    parts = []
    for title, summary, guid, link, year, creator, category, doi in items:
        parts.append(
            f"<item><title>{xml_text(title)}</title><description>{xml_text(summary)}"
            f"</description><guid>{xml_text(guid)}</guid><link>{xml_text(link)}</link>"
            f"<pubDate>Fri, 01 Jan {year:04d} 00:00:00 +0000</pubDate>"
            f"<dc:creator>{xml_text(creator)}</dc:creator><category>{xml_text(category)}"
            f"</category><prism:doi>10.1000/{xml_text(doi)}</prism:doi></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/"><channel><title>t</title>'
        + "".join(parts)
        + "</channel></rss>"
    ).encode("utf-8")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path: Path):  # type: ignore[no-untyped-def]
    url = (
        f"sqlite:///{tmp_path / 'prop.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    db = Store(url)
    upgrade(db.engine)
    yield db
    db.dispose()


def _store_everything(store: Store, result: parsing.ParseResult) -> None:
    store.upsert(result.papers, "prop", T0)
    for paper in result.papers:
        found = store.find_paper(paper.arxiv_id) if paper.arxiv_id else None
        assert found is None or found.arxiv_id == paper.arxiv_id


_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(items=hf_items)
def test_any_hf_record_the_parser_accepts_can_be_stored(store: Store, items: list[object]) -> None:
    body = json.dumps(items).encode("utf-8", "surrogatepass")
    try:
        result = parsing.parse("hf-api", body)
    except parsing.ParseError:
        return  # the body as a whole was refused: nothing to store
    _store_everything(store, result)


@_SETTINGS
@given(items=rss_items)
def test_any_feed_record_the_parser_accepts_can_be_stored(
    store: Store, items: list[tuple[str, ...]]
) -> None:
    try:
        result = parsing.parse("feed", rss(items))
    except parsing.ParseError:
        return
    _store_everything(store, result)
