"""Hostile input: XML and payload hazards, text hazards, fuzzed parsers, queries and feeds.

Every hazard here has a row in RELIABILITY.md."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug import Response

import parsing
from feeds import render
from feeds.items import LINK_LABELS
from parsing.model import make_paper
from parsing.text import safe_link
from store.merge import sighting
from tests.helpers import LISTINGS, parser_fixture, refresh, toml_sources
from topics.query import QueryError, parse

GOOD = parser_fixture("cases/hf_daily_papers.json").read_bytes()


@pytest.mark.parametrize(
    ("name", "kind", "outcome"),
    [
        ("billion_laughs.rss", "feed", "safe"),  # entities are not expanded
        ("xxe_file.rss", "feed", "safe"),  # no external entity is read
        ("doctype_system.atom", "feed", "safe"),  # no DTD is fetched
        ("latin1_as_utf8.rss", "feed", "safe"),
        ("no_charset.rss", "feed", "safe"),
        ("truncated.atom", "arxiv-api", "rejected"),
        ("truncated.json", "hf-api", "rejected"),
        ("error_page_200.html", "hf-page", "rejected"),
        ("error_page_200.html", "arxiv-rss", "rejected"),
        ("error_page_200.html", "hf-api", "rejected"),
        ("text_hazards.json", "hf-api", "safe"),
        ("huge_charref.rss", "feed", "rejected"),  # feedparser's OverflowError, found by atheris
    ],
)
def test_payload_hazards_are_rejected_or_parsed_safely_and_the_last_good_data_stays(
    httpserver, make_app, write_config, name, kind, outcome
) -> None:
    state = {"body": GOOD}
    httpserver.expect_request("/good").respond_with_handler(lambda r: Response(state["body"]))
    httpserver.expect_request("/hazard").respond_with_data(
        parser_fixture(f"hazards/{name}").read_bytes()
    )
    config = write_config(
        sources=toml_sources(
            {"name": "good", "kind": "hf-api", "url": httpserver.url_for("/good")},
            {"name": "hazard", "kind": kind, "url": httpserver.url_for("/hazard")},
        ),
        topics="[topics.all]\nquery = '*'\n",
    )
    app = make_app(config)
    report = refresh(app)
    outcome_of = {s.name: s for s in report.sources}
    client = app.test_client()
    status = client.get("/status").get_json()["sources"]["hazard"]
    if outcome == "rejected":
        assert outcome_of["hazard"].status == "error" and status["failing"]
        assert status["last_error"]
    else:
        assert outcome_of["hazard"].status == "ok"
    assert client.get("/status").get_json()["papers"] >= 5  # the good source's papers stay
    for fmt in ("rss", "atom"):
        body = client.get(f"/feeds/all.{fmt}?limit=500").data
        assert feedparser.parse(body).bozo == 0
        assert b"root:x:0:0" not in body and b"lollollol" not in body
    assert json.loads(client.get("/feeds/all.json?limit=500").data)["items"]


# The links items make: to the paper's pages elsewhere (https) and here (the test's base URL).
OWN_LINK = re.compile(
    r'<a href="(?:https://|http://localhost/papers/)[^"<>]+">(?:'
    + "|".join(map(re.escape, LINK_LABELS.values()))
    + ")</a>"
)


def test_text_hazards_never_become_markup(httpserver, make_app, write_config) -> None:
    httpserver.expect_request("/x").respond_with_data(
        parser_fixture("hazards/text_hazards.json").read_bytes()
    )
    app = make_app(
        write_config(
            sources=toml_sources({"name": "x", "kind": "hf-api", "url": httpserver.url_for("/x")}),
            topics="[topics.all]\nquery = 'evil OR abstract'\n",
        )
    )
    refresh(app)
    client = app.test_client()
    paper = app.extensions["paperfeed"].store.find_paper("2401.00006")
    assert paper is not None
    for text in (paper.title, paper.abstract, *paper.authors):
        assert not any(ch in text for ch in "\x00\x01\x07\ufffe\uffff\u202e\u202c\ud800")
    assert len(paper.abstract) <= 20_000
    rss = client.get("/feeds/all.rss").data
    atom = client.get("/feeds/all.atom").data
    feed = json.loads(client.get("/feeds/all.json").data)
    for body in (rss, atom):
        assert feedparser.parse(body).bozo == 0
        assert b"<script" not in body and b"<img" not in body
    for entry in feedparser.parse(atom).entries:
        html = entry.content[0].value  # what a reader renders
        assert "<script" not in html and "<img" not in html
        # The only links are the paper's own, made by render, never markup from upstream.
        assert OWN_LINK.sub("", html).count("<a") == 0
    for item in feed["items"]:
        assert "<script" not in item["content_html"] and "<img" not in item["content_html"]
    for page in ("/", "/topics/all", "/search?q=evil"):
        text = client.get(page).get_data(as_text=True)
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "onmouseover=alert" not in text.replace("onmouseover=alert(1)&gt;", "")


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>x</script>",
        "vbscript:msgbox",
        "//evil.example/x",
        "ftp://x/y",
        "https://ok.example/a b",
        "http://x/<script>",
        " javascript:alert(1)",
    ],
)
def test_only_http_links_survive(link: str) -> None:
    assert safe_link(link) is None


def test_http_links_are_kept() -> None:
    assert safe_link("https://arxiv.org/abs/2401.00001") == "https://arxiv.org/abs/2401.00001"


# ---- fuzzing ---------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
SEEDS = {
    "hf-api": parser_fixture("cases/hf_daily_papers.json").read_bytes(),
    "hf-page": parser_fixture("cases/hf_papers_page.html").read_bytes(),
    "arxiv-api": parser_fixture("cases/arxiv_api.atom").read_bytes(),
    "oai": parser_fixture("real/arxiv_oai_2015-01-06_listrecords-arxivraw.xml").read_bytes(),
    "arxiv-rss": parser_fixture("cases/arxiv_rss.xml").read_bytes(),
    "feed": parser_fixture("cases/generic_feed.rss").read_bytes(),
    "hf-text": (LISTINGS / "003_d588416f37f0a3be.txt").read_bytes()[:6000],
}


@st.composite
def mutated(draw, seed: bytes) -> bytes:  # type: ignore[no-untyped-def]
    """A seed body with random slices deleted, duplicated or replaced by random bytes."""
    body = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        if not body:
            break
        start = draw(st.integers(0, len(body) - 1))
        end = min(len(body), start + draw(st.integers(0, 200)))
        action = draw(st.sampled_from(["delete", "duplicate", "replace", "truncate"]))
        if action == "delete":
            del body[start:end]
        elif action == "duplicate":
            body[start:start] = body[start:end]
        elif action == "replace":
            body[start:end] = draw(st.binary(max_size=64))
        else:
            del body[start:]
    return bytes(body)


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_fuzzed_listings_raise_only_parse_error(kind: str) -> None:
    @FUZZ
    @given(body=st.one_of(mutated(SEEDS[kind]), st.binary(max_size=2000)))
    def check(body: bytes) -> None:
        try:
            result = parsing.parse(kind, body)
        except parsing.ParseError:
            return
        for paper in result.papers:
            assert paper.title and isinstance(paper.abstract, str)

    check()


hazardous_text = st.text(
    alphabet=st.characters(codec=None, categories=None, exclude_characters=[]), max_size=300
)


@settings(max_examples=100, deadline=None)
@given(
    titles=st.lists(hazardous_text, min_size=1, max_size=4),
    abstract=hazardous_text,
    author=hazardous_text,
    url=hazardous_text,
)
def test_feeds_rendered_from_fuzzed_papers_are_valid(titles, abstract, author, url) -> None:
    """Papers reach the renderer as the parsers left them (make_paper cleans every field,
    once); what matched comes from a query, raw."""
    now = datetime(2026, 11, 22, tzinfo=UTC)
    items = []
    for title in titles:
        fields = {"abstract": abstract, "authors": (author,), "categories": (author,), "url": url}
        try:
            paper = make_paper(title=title, upvotes=1, **fields)
        except ValueError:  # no usable title: the parser skips the record
            paper = make_paper(title="x", upvotes=1, **fields)
        stored = replace(sighting(paper, "fuzz", now), matched=((title, "title"),))
        items.append(replace(stored, guid=f"urn:test:{len(items)}"))
    info = render.FeedInfo(
        "t", "Fuzz \x00 <b>", "d\ud800", "http://x/feeds/t.rss", "http://x/topics/t", 30
    )
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(render.render(fmt, info, items))
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert len(parsed.entries) == len(items)
    assert len(json.loads(render.render("json", info, items))["items"]) == len(items)


@settings(max_examples=300, deadline=200)
@given(text=st.text(max_size=400))
def test_fuzzed_queries_raise_only_query_error(text: str) -> None:
    with contextlib.suppress(QueryError):
        parse(text)
