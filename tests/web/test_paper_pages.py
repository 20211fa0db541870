"""A page per paper: everything known, citation_* meta tags, BibTeX and RIS; styled 404s."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import bibtexparser
import pytest

from app import create_app
from feeds.cite import bibtex, cite_key
from store import StoredPaper
from tests.helpers import live_server, parser_fixture, refresh, rich_sources, toml_sources
from tests.web.test_pages import SCREENSHOTS, browser, page_problems  # noqa: F401

TOPICS = """
[topics.residual]
title = "Residual learning"
query = '"residual learning" OR title:resnet*'

[topics.nature]
query = 'cell OR cells'
"""
NATURE_DOI = "10.1038/s41586-024-07811-4"


class Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and (values.get("name") or "").startswith("citation_"):
            self.meta.append((values["name"] or "", values.get("content") or ""))


def citation_meta(page: str) -> list[tuple[str, str]]:
    parser = Meta()
    parser.feed(page)
    return parser.meta


@pytest.fixture(scope="module")
def paper_app(tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("papers")
    config = folder / "paperfeed.toml"
    nature = {
        "name": "nature",
        "kind": "feed",
        "path": str(parser_fixture("real/feed_nature_2024-07-18.rss")),
    }
    config.write_text(f"{rich_sources()}\n\n{toml_sources(nature)}\n\n{TOPICS}")
    app = create_app(
        {
            "config_path": str(config),
            "database_url": f"sqlite:///{folder / 'paperfeed.db'}",
            "scheduler": "off",
            "generation_check_seconds": 0,
            "search_in_processes": False,
        }
    )
    refresh(app)
    yield app
    app.extensions["paperfeed"].close()


@pytest.fixture
def site(paper_app):  # type: ignore[no-untyped-def]
    return paper_app.test_client()


def test_a_paper_page_shows_everything_known_with_citation_meta(site) -> None:
    page = site.get("/papers/1512.03385").get_data(as_text=True)
    meta = citation_meta(page)
    assert ("citation_title", "Deep Residual Learning for Image Recognition") in meta
    authors = [content for name, content in meta if name == "citation_author"]
    assert authors == ["Kaiming He", "Xiangyu Zhang", "Shaoqing Ren", "Jian Sun"]
    assert ("citation_date", "2015/12/10") in meta
    assert ("citation_publication_date", "2015/12/10") in meta
    assert ("citation_arxiv_id", "1512.03385") in meta
    assert ("citation_pdf_url", "https://arxiv.org/pdf/1512.03385") in meta
    assert "Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun" in page
    assert 'href="/topics/residual"' in page and "matched residual learning" in page
    assert 'href="/why?topic=residual&amp;paper=' in page
    assert 'href="/papers/1512.03385.bib"' in page and 'href="/papers/1512.03385.ris"' in page
    assert "Listed by: " in page and "42 upvotes, 3 comments" in page


def test_a_paper_is_found_by_doi_and_guid_and_cards_link_to_it(site) -> None:
    page = site.get(f"/papers/{NATURE_DOI}")
    assert page.status_code == 200
    meta = citation_meta(page.get_data(as_text=True))
    assert ("citation_doi", NATURE_DOI) in meta
    guid = re.search(r"GUID in feeds: <code>([^<]+)</code>", page.get_data(as_text=True))
    assert guid and site.get(f"/papers/{guid.group(1)}").status_code == 200
    topic = site.get("/topics/residual").get_data(as_text=True)
    assert 'href="/papers/1512.03385"' in topic


def test_bibtex_of_a_paper_is_read_by_a_bibtex_parser(site) -> None:
    response = site.get("/papers/1512.03385.bib")
    assert response.status_code == 200 and response.mimetype == "application/x-bibtex"
    entries = bibtexparser.loads(response.get_data(as_text=True)).entries
    assert len(entries) == 1
    entry = entries[0]
    assert entry["ID"] == "he2015deep" and entry["ENTRYTYPE"] == "misc"
    assert entry["title"] == "Deep Residual Learning for Image Recognition"
    assert entry["author"].split(" and ") == [
        "Kaiming He",
        "Xiangyu Zhang",
        "Shaoqing Ren",
        "Jian Sun",
    ]
    assert (entry["year"], entry["eprint"], entry["archiveprefix"]) == (
        "2015",
        "1512.03385",
        "arXiv",
    )
    doi = bibtexparser.loads(site.get(f"/papers/{NATURE_DOI}.bib").get_data(as_text=True))
    assert doi.entries[0]["doi"] == NATURE_DOI


def test_ris_lists_each_author_on_its_own_line(site) -> None:
    ris = site.get("/papers/1512.03385.ris").get_data(as_text=True)
    assert ris.startswith("TY  - GEN\r\n") and ris.endswith("ER  - \r\n")
    assert ris.count("\r\nAU  - ") == 4 and "DA  - 2015/12/10" in ris


def test_bibtex_survives_braces_and_latex_specials() -> None:
    moment = datetime(2024, 5, 1, tzinfo=UTC)
    paper = StoredPaper(
        title="A {broken title with 100% & #1 $O(n^{2})$",
        abstract="Closing } first {",
        authors=("Zoë Ünal", "B. Two"),
        guid="urn:x",
        first_seen=moment,
        updated=moment,
    )
    entry = bibtexparser.loads(bibtex(paper, "http://x/papers/urn:x")).entries[0]
    assert entry["title"] == r"A broken title with 100\% \& \#1 $O(n^2)$"
    assert entry["abstract"] == "Closing first"
    assert entry["author"] == "Zoë Ünal and B. Two"
    assert cite_key(paper) == "unal2024broken"


def test_unknown_papers_topics_and_pages_get_a_page_that_offers_the_way_back(site) -> None:
    cases = {
        "/papers/2401.99999": (
            "No paper &#39;2401.99999&#39; is stored here.",
            "/search?q=2401.99999",
        ),
        "/topics/nope": ("No topic is named &#39;nope&#39;.", "/topics/residual"),
        "/topics/residual?page=9": ("has 1 page, not 9", 'href="/topics/residual"'),
        "/nowhere": ("Nothing is at /nowhere.", 'href="/search"'),
        "/why?topic=nope&paper=1512.03385": ("No topic is named", "/topics/nature"),
    }
    for url, (says, offers) in cases.items():
        response = site.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == 404 and response.mimetype == "text/html", url
        assert says in page and offers in page, url
        assert 'href="/"' in page and "/static/pages.css" in page


@pytest.mark.slow
def test_chromium_reads_the_citation_meta_and_the_page_passes_axe(paper_app, browser) -> None:  # noqa: F811
    """What Zotero's connector reads: the citation_* meta tags as Chromium parsed them; and
    screenshots of a paper page and a 404 at both widths, with no serious axe-core finding."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with live_server(paper_app) as base:
        browser.get(f"{base}/papers/1512.03385")
        found = browser.execute_script(
            "return [...document.querySelectorAll('meta[name^=citation_]')]"
            ".map(m => [m.name, m.content])"
        )
        assert ["citation_title", "Deep Residual Learning for Image Recognition"] in found
        assert [c for n, c in found if n == "citation_author"][0] == "Kaiming He"
        assert ["citation_arxiv_id", "1512.03385"] in found
        problems += page_problems(
            browser, base, {"paper": "/papers/1512.03385", "not-found": "/topics/nope"}
        )
    assert not problems, "\n".join(problems)


def test_a_mistyped_topic_or_feed_url_is_offered_the_one_it_meant(site) -> None:
    """A letter off, another case, a trailing slash or a feed without its format: the 404
    says which page or feed was meant; a URL close to no topic, and a topic's own page past
    its last page, offer none."""
    cases = {
        "/topics/residal": "/topics/residual",
        "/topics/Residual": "/topics/residual",
        "/topics/residual/": "/topics/residual",
        "/feeds/residal.atom": "/feeds/residual.atom",
        "/feeds/residual": "/feeds/residual.rss",
        "/feeds/Residual.RSS": "/feeds/residual.rss",
    }
    for url, meant in cases.items():
        page = site.get(url)
        assert page.status_code == 404, url
        assert f'Did you mean <a href="{meant}">' in page.get_data(as_text=True), url
    for url in ("/topics/zzzz", "/topics/residual?page=9", "/nowhere"):
        assert "Did you mean" not in site.get(url).get_data(as_text=True), url
