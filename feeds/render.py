"""Feeds out: RSS 2.0 and Atom 1.0 (feedgen), JSON Feed 1.1, OPML.

Rendering is deterministic: the same items give the same bytes in every process, so the
ETag agrees across workers. No clock is read here; dates come from the data.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote_plus
from xml.etree import ElementTree

from feedgen.feed import FeedGenerator

from parsing.text import clean_text, safe_link, strip_invalid
from store import StoredPaper
from topics.query import format_matches

FORMATS = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedInfo:
    """What a feed says about itself."""

    key: str  # topic name, or "search"
    title: str
    description: str
    self_url: str
    page_url: str
    ttl_minutes: int


def paper_links(paper: StoredPaper) -> dict[str, str]:
    """Where a reader can go for this paper, by kind, in the order they are shown:
    abs (arXiv abstract), pdf, hf (Hugging Face page), then the listing's own link (source)."""
    links: dict[str, str] = {}
    if paper.arxiv_id:
        links["abs"] = f"https://arxiv.org/abs/{paper.arxiv_id}"
        links["pdf"] = f"https://arxiv.org/pdf/{paper.arxiv_id}"
        links["hf"] = f"https://huggingface.co/papers/{paper.arxiv_id}"
    source = safe_link(paper.url)
    if source and source not in links.values():
        links["source"] = source
    return links


def paper_link(paper: StoredPaper) -> str:
    """The HF paper page when the arXiv id is known, else an HF papers search for the title."""
    if paper.arxiv_id:
        return f"https://huggingface.co/papers/{paper.arxiv_id}"
    title = clean_text(paper.title, max_length=500)
    return safe_link(paper.url) or f"https://huggingface.co/papers?q={quote_plus(title)}"


def item_html(paper: StoredPaper) -> str:
    """The item body: the abstract, then what matched, then the HF numbers. All escaped."""
    parts = [f"<p>{html.escape(paper.abstract)}</p>"] if paper.abstract else []
    if paper.authors:
        parts.append(f"<p>Authors: {html.escape(', '.join(paper.authors))}</p>")
    if paper.matched:
        parts.append(f"<p>Matched: {html.escape(format_matches(list(paper.matched)))}</p>")
    numbers = []
    if paper.upvotes is not None:
        numbers.append(f"Upvotes: {paper.upvotes}")
    if paper.comments is not None:
        numbers.append(f"Comments: {paper.comments}")
    if paper.arxiv_id:
        numbers.append(f"arXiv: {html.escape(paper.arxiv_id)}")
    if numbers:
        parts.append(f"<p>{' · '.join(numbers)}</p>")
    return "".join(parts) or "<p></p>"


def item_text(paper: StoredPaper) -> str:
    lines = [paper.abstract] if paper.abstract else []
    if paper.matched:
        lines.append(f"Matched: {format_matches(list(paper.matched))}")
    if paper.upvotes is not None:
        lines.append(f"Upvotes: {paper.upvotes}")
    return "\n\n".join(lines)


def last_updated(items: Sequence[StoredPaper]) -> datetime:
    """The newest change among the items: the feed's lastBuildDate / updated."""
    return max((max(p.updated, p.first_seen) for p in items), default=EPOCH)


def render(fmt: str, info: FeedInfo, items: Sequence[StoredPaper]) -> bytes:
    if fmt == "rss":
        return _feedgen(info, items).rss_str(pretty=False)
    if fmt == "atom":
        return _feedgen(info, items).atom_str(pretty=False)
    if fmt == "json":
        return json_feed(info, items)
    raise ValueError(f"unknown feed format {fmt!r}")


def _xml_safe(text: str) -> str:
    return clean_text(text, max_length=50_000)


def _feedgen(info: FeedInfo, items: Sequence[StoredPaper]) -> FeedGenerator:
    feed = FeedGenerator()
    feed.load_extension("dc", atom=False, rss=True)
    feed.id(info.self_url)
    feed.title(_xml_safe(info.title))
    feed.description(_xml_safe(info.description) or _xml_safe(info.title))
    feed.subtitle(_xml_safe(info.description) or _xml_safe(info.title))
    feed.link(href=info.self_url, rel="self")
    feed.link(href=info.page_url, rel="alternate", type="text/html")  # last: RSS <link>
    feed.author({"name": "paperfeed"})
    feed.language("en")
    feed.ttl(info.ttl_minutes)
    feed.generator("paperfeed", uri="https://github.com/paperfeed/paperfeed")
    updated = last_updated(items)
    feed.lastBuildDate(updated)
    feed.updated(updated)
    for paper in items:
        entry = feed.add_entry(order="append")
        entry.id(paper.guid)
        entry.guid(paper.guid, permalink=False)
        entry.title(_xml_safe(paper.title) or "(untitled)")
        entry.link(href=paper_link(paper), rel="alternate")
        body = _xml_safe(item_html(paper))
        entry.description(body)
        entry.content(body, type="html")
        entry.published(paper.first_seen)
        entry.updated(max(paper.updated, paper.first_seen))
        authors = [_xml_safe(a) for a in paper.authors if _xml_safe(a)]
        for name in authors:
            entry.author({"name": name})
        if not authors:  # Atom requires an author; fall back to where the paper came from
            entry.author({"name": _xml_safe(", ".join(paper.sources)) or "paperfeed"})
        if authors:
            entry.dc.dc_creator(", ".join(authors))
        for category in paper.categories:
            entry.category({"term": _xml_safe(category)})
    return feed


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_feed(info: FeedInfo, items: Sequence[StoredPaper]) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": info.title,
        "home_page_url": info.page_url,
        "feed_url": info.self_url,
        "description": info.description or info.title,
        "language": "en",
        "items": [
            {
                "id": paper.guid,
                "url": paper_link(paper),
                "title": paper.title,
                "content_html": item_html(paper),
                "content_text": item_text(paper),
                "summary": paper.abstract[:500],
                "date_published": _iso(paper.first_seen),
                "date_modified": _iso(max(paper.updated, paper.first_seen)),
                "authors": [{"name": a} for a in paper.authors]
                or [{"name": ", ".join(paper.sources) or "paperfeed"}],
                "tags": list(paper.categories),
                "_paperfeed": {
                    "arxiv_id": paper.arxiv_id,
                    "upvotes": paper.upvotes,
                    "comments": paper.comments,
                    "sources": list(paper.sources),
                    "matched": [{"term": t, "field": f} for t, f in paper.matched],
                },
            }
            for paper in items
        ],
    }
    return json.dumps(_json_safe(document), ensure_ascii=False, separators=(",", ":")).encode()


def _json_safe(value: object) -> object:
    """Strip what cannot be encoded (lone surrogates) or should not be shown (controls)."""
    if isinstance(value, str):
        return strip_invalid(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def opml(title: str, feeds: Sequence[tuple[str, str, str]]) -> bytes:
    """OPML 2.0 listing (title, feed URL, page URL) for subscribe-all."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    body = ElementTree.SubElement(root, "body")
    for name, xml_url, html_url in feeds:
        ElementTree.SubElement(
            body, "outline", type="rss", text=name, title=name, xmlUrl=xml_url, htmlUrl=html_url
        )
    text = ElementTree.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode("utf-8")
