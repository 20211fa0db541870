"""Every request parameter of every route, fuzzed: a bad value is a 4xx that says what is
wrong, never a 5xx, and never costs a search or a render it cannot use."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule

from web.pages import PAGE_SIZE, SEARCH_COUNT_LIMIT

# Digits of every script, signs, spaces, huge numbers, and any text at all.
VALUES = st.one_of(
    st.text(alphabet=st.characters(categories=["Nd", "No", "Zs", "Pd"]), max_size=12),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["", "0", "1", "²", "9" * 30, "1512.03385", "urn:arxiv:1512.03385", "vit"]),
    st.text(max_size=40),
)
# The parameters some route reads, and any other name.
NAMES = st.one_of(
    st.sampled_from(["q", "limit", "page", "topic", "paper", "wait"]), st.text(max_size=8)
)
# Known values for the routes' path arguments, so that fuzzing reaches past their 404s.
PATH_VALUES = {
    "name": ["residual", "vit", "search", "unknown"],
    "fmt": ["rss", "atom", "json", "html"],
    "filename": ["pages.css", "../app.py"],
}


@pytest.fixture(scope="module")
def client(shared_app):  # type: ignore[no-untyped-def]
    return shared_app.test_client()


@pytest.fixture(scope="module")
def rules(shared_app) -> list[Rule]:  # type: ignore[no-untyped-def]
    """Every route of the app: a route added later is fuzzed too."""
    found = list(shared_app.url_map.iter_rules())
    assert {"/why", "/search", "/topics/<name>", "/feeds/<name>.<fmt>"} <= {r.rule for r in found}
    return found


@st.composite
def requests_to(draw, rules: list[Rule]) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """A method, a path and a query string for one of the rules."""
    rule = draw(st.sampled_from(rules))
    method = draw(st.sampled_from(sorted((rule.methods or {"GET"}) - {"OPTIONS"})))
    values = {
        argument: draw(st.one_of(st.sampled_from(PATH_VALUES.get(argument, ["x"])), st.text()))
        for argument in rule.arguments
    }
    path = rule.rule
    for argument, value in values.items():
        path = path.replace(f"<{argument}>", quote(value, safe=""))
        path = path.replace(f"<path:{argument}>", quote(value, safe="/"))
    pairs = draw(st.lists(st.tuples(NAMES, VALUES), max_size=5))  # repeats included
    query = "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)
    odd = draw(st.sampled_from(["", "&", "&=", "&q", "&%ff%fe=%00", "&page=%C2%B2&page=2"]))
    return method, path, query + odd


def test_no_parameter_of_any_route_gives_a_5xx(client, rules) -> None:  # type: ignore[no-untyped-def]
    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(request=requests_to(rules))
    def check(request: tuple[str, str, str]) -> None:
        method, path, query = request
        with client.open(path, method=method, query_string=query) as response:
            assert response.status_code < 500, (method, path, query, response.data[:300])
            if response.status_code == 400 and method != "HEAD":  # says what is wrong
                assert response.data.strip(), (method, path, query)

    check()


@pytest.mark.parametrize("ref", ["²", "৩", "9" * 30, "9" * 19, "a\x00b", "x" * 1000])
def test_why_refuses_a_paper_the_store_cannot_look_up(client, ref: str) -> None:
    """Before: `²` (isdigit, which int() refuses) and 30 nines (too large for SQLite) 500."""
    response = client.get("/why", query_string={"q": "vit", "paper": ref})
    assert response.status_code == 400, response.data[:300]
    assert b"paper" in response.data


def test_why_still_looks_papers_up_by_number_and_id(client) -> None:
    assert client.get("/why", query_string={"q": "vit", "paper": "1"}).status_code == 200
    missing = client.get("/why", query_string={"q": "vit", "paper": str(2**63 - 1)})
    assert missing.status_code == 404


def _no_search(shared_app, monkeypatch) -> list[object]:  # type: ignore[no-untyped-def]
    svc = shared_app.extensions["paperfeed"]
    searched: list[object] = []
    monkeypatch.setattr(svc, "search", lambda *args: searched.append(args) or [])
    return searched


def test_a_search_page_no_search_can_reach_answers_400_without_searching(
    client, shared_app, monkeypatch
) -> None:
    """Before: page=999999999 ran the search (3 s on a large store), then answered 404."""
    searched = _no_search(shared_app, monkeypatch)
    last = -(-SEARCH_COUNT_LIMIT // PAGE_SIZE)
    for page in ("999999999", str(last + 1)):
        response = client.get("/search", query_string={"q": "diffusion", "page": page})
        assert response.status_code == 400
        assert f"page must be a whole number from 1 to {last}" in response.get_data(as_text=True)
    assert searched == []
    client.get("/search", query_string={"q": "diffusion", "page": str(last)})
    assert len(searched) == 1


def test_search_pages_stop_where_search_max_rows_stops_a_search(make_app, monkeypatch) -> None:
    app = make_app(search_max_rows=60)  # at most 60 matches: 3 pages
    searched = _no_search(app, monkeypatch)
    response = app.test_client().get("/search", query_string={"q": "vit", "page": "4"})
    assert response.status_code == 400 and b"from 1 to 3" in response.data
    assert searched == []


def test_the_last_search_page_links_to_no_page_past_it(client, shared_app, monkeypatch) -> None:
    svc = shared_app.extensions["paperfeed"]
    paper = svc.store.find_paper("1")
    monkeypatch.setattr(svc, "search", lambda query, limit, *order: [paper] * limit)
    last = -(-SEARCH_COUNT_LIMIT // PAGE_SIZE)
    page = client.get("/search", query_string={"q": "vit", "page": str(last)})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'rel="next"' not in text and 'rel="prev"' in text
    assert f"More than {SEARCH_COUNT_LIMIT} papers" in text


def test_a_topic_page_past_its_last_answers_404_without_reading_papers(
    client, shared_app, monkeypatch
) -> None:
    store = shared_app.extensions["paperfeed"].store
    monkeypatch.setattr(store, "topic_items", lambda *args, **kwargs: pytest.fail("read"))
    assert client.get("/topics/vit?page=999999999").status_code == 404


HEADER_VALUES = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
)
PATHS = ["/feeds/residual.rss", "/feeds/residual.json", "/feeds/search.atom", "/topics/vit"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from([*PATHS, "/", "/opml"]),
    name=st.sampled_from(
        [
            "X-Forwarded-Proto",
            "X-Forwarded-Host",
            "If-None-Match",
            "If-Modified-Since",
            "Accept-Encoding",
            "X-Forwarded-For",
        ]
    ),
    value=HEADER_VALUES,
)
def test_no_header_value_gives_a_5xx(client, path: str, name: str, value: str) -> None:
    response = client.get(path, headers={name: value})
    assert response.status_code < 500, (path, name, value, response.data[:300])
