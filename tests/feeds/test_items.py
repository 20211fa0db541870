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
    # One dc:creator per author (the first 20), after an <author> that mail readers name
    # the sender by: "First Author et al.", at an address that is nobody's.
    assert entry.author_detail == {"name": "Author 0 et al.", "email": "noreply@example.org"}
    creators = [a["name"] for a in entry.authors if "email" not in a]
    assert creators == [f"Author {n}" for n in range(20)]
    assert [t.term for t in entry.tags] == ["cs.AI", "cs.CL"]
    assert "content" not in entry  # the abstract once: description only


def test_rss_body_is_sent_once_and_atom_entries_name_their_own_authors() -> None:
    rss = render.render("rss", INFO, [paper()]).decode()
    assert rss.count("Modern artificial intelligence") == 1 and "content:encoded" not in rss
    atom = feedparser.parse(render.render("atom", INFO, [paper()]))
    assert atom.bozo == 0 and "author" not in atom.feed  # nothing for entries to inherit
    assert [a.name for a in atom.entries[0].authors][:2] == ["Author 0", "Author 1"]
    single = feedparser.parse(render.render("rss", INFO, [paper(authors=("Ann Solo",))]))
    assert single.entries[0].author_detail.name == "Ann Solo"
    mixed = feedparser.parse(render.render("atom", INFO, [paper(), paper(guid="x", authors=())]))
    assert mixed.feed.author == "paperfeed"  # Atom requires one for the entry without


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


def test_json_item_has_tags_external_url_and_a_summary_cut_at_a_word() -> None:
    abstract = "word " * 200  # 1000 characters
    info = INFO
    pages = render.FeedInfo(
        "t",
        "T",
        "d",
        "https://pf.example/feeds/t.json",
        "https://pf.example/",
        30,
        papers_url="https://pf.example/papers/",
    )
    (item,) = json.loads(render.render("json", pages, [paper(abstract=abstract)]))["items"]
    assert item["url"] == "https://pf.example/papers/2407.21783"
    assert item["external_url"] == "https://huggingface.co/papers/2407.21783"
    assert item["tags"] == ["cs.AI", "cs.CL"]
    assert len(item["summary"]) <= 500 and item["summary"].endswith("word…")
    assert "wor…" not in item["summary"] and "wo…" not in item["summary"]
    (bare,) = json.loads(render.render("json", info, [paper()]))["items"]
    assert bare["summary"] == paper().abstract and "external_url" not in bare


def test_cut_keeps_short_text_and_cuts_long_text_at_a_word() -> None:
    assert items.cut("short text", 20) == "short text"
    assert items.cut("the quick brown fox jumps", 12) == "the quick…"
    assert items.cut("the quick, brown fox", 11) == "the quick…"
    assert items.cut("unbreakablelongword", 8) == "unbreak…"


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
