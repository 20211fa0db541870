"""What an item says about its paper, read back with feedparser and as JSON: the paper's own
date, authors (long lists shortened), links where each format has a place for them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import feedparser

from feeds import items, render
from store import StoredPaper

SEEN = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
INFO = render.FeedInfo("t", "T", "d", "https://pf.example/feeds/t.rss", "https://pf.example/", 30)


def paper(**fields: object) -> StoredPaper:
    values: dict[str, object] = {
        "id": 1,
        "guid": "urn:arxiv:2407.21783",
        "arxiv_id": "2407.21783",
        "title": "The Llama 3 Herd of Models",
        "abstract": "Modern artificial intelligence systems are powered by foundation models.",
        "authors": tuple(f"Author {n}" for n in range(533)),
        "categories": ("cs.AI", "cs.CL"),
        "sources": ("hf",),
        "url": "https://huggingface.co/papers/2407.21783",
        "published": datetime(2024, 7, 31, 17, 54, tzinfo=UTC),
        "upvotes": 99,
        "comments": 4,
        "first_seen": SEEN,
        "updated": SEEN,
        "doi": "10.48550/arxiv.2407.21783",
        "links": (("code", "https://github.com/meta-llama/llama3"),),
        "matched": (("llama", "title"),),
    }
    values.update(fields)
    return StoredPaper(**values)  # type: ignore[arg-type]


def test_paper_links_in_order() -> None:
    assert items.paper_links(paper()) == {
        "abs": "https://arxiv.org/abs/2407.21783",
        "pdf": "https://arxiv.org/pdf/2407.21783",
        "hf": "https://huggingface.co/papers/2407.21783",
        "code": "https://github.com/meta-llama/llama3",
        "doi": "https://doi.org/10.48550/arxiv.2407.21783",
    }


def test_rss_item_shows_date_authors_links_and_numbers() -> None:
    parsed = feedparser.parse(render.render("rss", INFO, [paper()]))
    assert parsed.bozo == 0
    (entry,) = parsed.entries
    assert entry.link == "https://huggingface.co/papers/2407.21783"
    assert entry.comments == "https://huggingface.co/papers/2407.21783"
    assert entry.published_parsed[:3] == (2026, 11, 20)  # the item date is first_seen
    body = entry.description
    assert "Published: 2024-07-31" in body and "Upvotes: 99 · Comments: 4" in body
    assert "Author 19 and 513 more" in body and "Author 20," not in body
    assert "DOI: 10.48550/arxiv.2407.21783" in body and "Categories: cs.AI, cs.CL" in body
    assert '<a href="https://github.com/meta-llama/llama3">Code</a>' in body
    assert (
        entry.author
        == "Author 0, Author 1, " + ", ".join(f"Author {n}" for n in range(2, 20)) + " and 513 more"
    )
    assert [t.term for t in entry.tags] == ["cs.AI", "cs.CL"]


def test_atom_entry_links_by_relation() -> None:
    parsed = feedparser.parse(render.render("atom", INFO, [paper()]))
    assert parsed.bozo == 0
    (entry,) = parsed.entries
    by_rel = {(link.rel, link.get("title")): link for link in entry.links}
    assert by_rel[("alternate", None)].href == "https://huggingface.co/papers/2407.21783"
    assert by_rel[("related", "PDF")].type == "application/pdf"
    assert by_rel[("related", "Code")].href == "https://github.com/meta-llama/llama3"
    assert by_rel[("related", "DOI")].href == "https://doi.org/10.48550/arxiv.2407.21783"
    assert len(entry.authors) == items.SHOWN_AUTHORS


def test_json_item_carries_published_and_links() -> None:
    (item,) = json.loads(render.render("json", INFO, [paper()]))["items"]
    extra = item["_paperfeed"]
    assert extra["published"] == "2024-07-31T17:54:00Z"
    assert extra["links"] == items.paper_links(paper())
    assert extra["authors_total"] == 533 and len(item["authors"]) == items.SHOWN_AUTHORS
    assert item["date_published"] == "2026-11-20T08:00:00Z"


def test_a_paper_known_only_by_title_has_no_made_up_author_and_links_to_a_title_search() -> None:
    bare = paper(
        guid="urn:paperfeed:title:x",
        arxiv_id=None,
        doi=None,
        url=None,
        links=(),
        authors=(),
        published=None,
        upvotes=None,
        comments=None,
    )
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(render.render(fmt, INFO, [bare]))
        assert parsed.bozo == 0
        (entry,) = parsed.entries
        # Nothing real is known: the one link is a search for the title, never a fake page.
        assert entry.link.startswith("https://huggingface.co/papers?q=")
        assert "Published:" not in entry.description
        assert not entry.get("authors") or entry.authors == [{"name": "paperfeed"}]
    (item,) = json.loads(render.render("json", INFO, [bare]))["items"]
    assert item["url"].startswith("https://huggingface.co/papers?q=") and "authors" not in item
    assert item["_paperfeed"]["published"] is None and item["_paperfeed"]["links"] == {}


def test_a_publisher_paper_links_to_its_page_and_doi() -> None:
    article = paper(
        guid="urn:paperfeed:doi:x",
        arxiv_id=None,
        doi="10.1038/s41586-024-07811-4",
        url="https://www.nature.com/articles/s41586-024-07811-4",
        links=(),
    )
    assert items.item_link(article) == "https://www.nature.com/articles/s41586-024-07811-4"
    (entry,) = feedparser.parse(render.render("atom", INFO, [article])).entries
    rels = {link.rel: link.href for link in entry.links}
    assert rels["related"] == "https://doi.org/10.1038/s41586-024-07811-4"
