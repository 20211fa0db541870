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
from typing import Any
from urllib.parse import quote, quote_plus
from xml.etree import ElementTree

from feedgen.ext.base import BaseEntryExtension, BaseExtension
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


# Link kinds in the order they are shown, with their label in an item body.
LINK_LABELS = {
    "abs": "arXiv",
    "pdf": "PDF",
    "hf": "Hugging Face",
    "code": "Code",
    "project": "Project page",
    "doi": "DOI",
    "source": "Source",
}
# An item lists this many authors and says how many more there are ("and 480 more").
SHOWN_AUTHORS = 20


def paper_links(paper: StoredPaper) -> dict[str, str]:
    """Where a reader can go for this paper, by kind, in the order they are shown:
    abs (arXiv abstract), pdf, hf (Hugging Face page), code, project, doi, then the
    listing's own link (source) when it is none of those."""
    # Links from a listing are checked again (only http(s)); the others are built from ids
    # that the parser checked.
    given = {kind: link for kind, url in paper.links if (link := safe_link(url))}
    found = {"pdf": given.get("pdf"), "code": given.get("code"), "project": given.get("project")}
    if paper.arxiv_id:
        found["abs"] = f"https://arxiv.org/abs/{paper.arxiv_id}"
        found["pdf"] = f"https://arxiv.org/pdf/{paper.arxiv_id}"
        found["hf"] = f"https://huggingface.co/papers/{paper.arxiv_id}"
    if paper.doi:
        found["doi"] = f"https://doi.org/{quote(paper.doi, safe='/:;()._-')}"
    links = {kind: link for kind in LINK_LABELS if (link := found.get(kind))}
    source = safe_link(paper.url)
    if source and source not in links.values():
        links["source"] = source
    return links


def best_link(paper: StoredPaper, links: dict[str, str] | None = None) -> str | None:
    """The paper's best real page: its Hugging Face page when Hugging Face lists it (it
    has upvotes, and a discussion there), else the arXiv abstract, the listing's own
    page, the DOI, the project; None when nothing real is known."""
    links = paper_links(paper) if links is None else links
    first = ("hf", "abs") if paper.upvotes is not None else ("abs", "hf")
    return next((links[k] for k in (*first, "source", "doi", "project") if k in links), None)


def item_link(paper: StoredPaper, links: dict[str, str] | None = None) -> str:
    """A feed item's link: best_link, or for a title-only paper a Hugging Face search for
    its title, so that every item opens somewhere."""
    best = best_link(paper, links)
    if best:
        return best
    title = clean_text(paper.title, max_length=500)
    return f"https://huggingface.co/papers?q={quote_plus(title)}"


def shown_authors(paper: StoredPaper, shown: int = SHOWN_AUTHORS) -> tuple[list[str], int]:
    """The first `shown` authors, and how many more there are ("and 1 more" never: the one
    name takes less room than saying so)."""
    if len(paper.authors) <= shown + 1:
        shown = len(paper.authors)
    names = [name for name in (_xml_safe(a) for a in paper.authors[:shown]) if name]
    return names, max(len(paper.authors) - shown, 0)


def authors_line(paper: StoredPaper, shown: int = SHOWN_AUTHORS) -> str:
    """'A, B and 480 more': feed items show 20 names, page cards fewer."""
    names, more = shown_authors(paper, shown)
    return ", ".join(names) + (f" and {more} more" if more else "")


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def item_facts(paper: StoredPaper) -> list[str]:
    """The short facts of an item, in plain text: date, numbers, ids."""
    facts = []
    if paper.published is not None:
        facts.append(f"Published: {_day(paper.published)}")
    if paper.upvotes is not None:
        facts.append(f"Upvotes: {paper.upvotes}")
    if paper.comments is not None:
        facts.append(f"Comments: {paper.comments}")
    if paper.arxiv_id:
        facts.append(f"arXiv: {paper.arxiv_id}")
    if paper.doi:
        facts.append(f"DOI: {paper.doi}")
    return facts


def item_html(paper: StoredPaper, links: dict[str, str] | None = None) -> str:
    """The item body: abstract, authors, the paper's date and numbers, categories, what
    matched, links (paper_links, when not given). All text escaped."""
    parts = [f"<p>{html.escape(paper.abstract)}</p>"] if paper.abstract else []
    if paper.authors:
        parts.append(f"<p>Authors: {html.escape(authors_line(paper))}</p>")
    facts = item_facts(paper)
    if facts:
        parts.append(f"<p>{html.escape(' · '.join(facts))}</p>")
    if paper.categories:
        parts.append(f"<p>Categories: {html.escape(', '.join(paper.categories))}</p>")
    if paper.matched:
        parts.append(f"<p>Matched: {html.escape(format_matches(list(paper.matched)))}</p>")
    anchors = [
        f'<a href="{html.escape(url, quote=True)}">{LINK_LABELS[kind]}</a>'
        for kind, url in (paper_links(paper) if links is None else links).items()
    ]
    if anchors:
        parts.append(f"<p>{' · '.join(anchors)}</p>")
    return "".join(parts) or "<p></p>"


def item_text(paper: StoredPaper, links: dict[str, str] | None = None) -> str:
    lines = [paper.abstract] if paper.abstract else []
    if paper.authors:
        lines.append(f"Authors: {authors_line(paper)}")
    facts = item_facts(paper)
    if facts:
        lines.append(" · ".join(facts))
    if paper.matched:
        lines.append(f"Matched: {format_matches(list(paper.matched))}")
    links = paper_links(paper) if links is None else links
    if links:
        lines.append("\n".join(f"{LINK_LABELS[kind]}: {url}" for kind, url in links.items()))
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


class _AtomLinkAttributes(BaseEntryExtension):
    """feedgen 1.0 writes an Atom entry's <link> with its href only (FeedEntry.atom_entry
    reuses a variable), dropping rel, type and title; this puts them back, in order."""

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: Any) -> Any:
        elements = [child for child in entry if str(child.tag).rsplit("}", 1)[-1] == "link"]
        for element, link in zip(elements, self.links, strict=False):
            for key in ("rel", "type", "title"):
                if link.get(key):
                    element.set(key, link[key])
        return entry


def _item_links(paper: StoredPaper, known: dict[str, str]) -> list[dict[str, str]]:
    """The item's links for feedgen: the others first, the best last as rel="alternate"
    (RSS keeps the last alternate as <link>; Atom keeps them all, by relation)."""
    best = item_link(paper, known)
    links = []
    for kind, url in known.items():
        if url != best:
            link = {"href": url, "rel": "via" if kind == "source" else "related"}
            link["title"] = LINK_LABELS[kind]
            if kind == "pdf":
                link["type"] = "application/pdf"
            links.append(link)
    links.append({"href": best, "rel": "alternate", "type": "text/html"})
    return links


def _feedgen(info: FeedInfo, items: Sequence[StoredPaper]) -> FeedGenerator:
    feed = FeedGenerator()
    feed.load_extension("dc", atom=False, rss=True)
    feed.register_extension("atomlinks", BaseExtension, _AtomLinkAttributes, atom=True, rss=False)
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
        known = paper_links(paper)
        links = _item_links(paper, known)
        for link in links:
            entry.link(link)
        entry.atomlinks.links = links
        if "hf" in known:  # the Hugging Face page is where the paper is discussed
            entry.comments(known["hf"])
        body = _xml_safe(item_html(paper, known))
        entry.description(body)
        entry.content(body, type="html")
        entry.published(paper.first_seen)
        entry.updated(max(paper.updated, paper.first_seen))
        # No author is better than a made-up one: the feed's own author covers Atom.
        names, more = shown_authors(paper)
        for name in names:
            entry.author({"name": name})
        if names:
            entry.dc.dc_creator(authors_line(paper))
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
        "items": [_json_item(paper) for paper in items],
    }
    return json.dumps(_json_safe(document), ensure_ascii=False, separators=(",", ":")).encode()


def _json_item(paper: StoredPaper) -> dict[str, object]:
    names, more = shown_authors(paper)
    links = paper_links(paper)
    item: dict[str, object] = {
        "id": paper.guid,
        "url": item_link(paper, links),
        "title": paper.title,
        "content_html": item_html(paper, links),
        "content_text": item_text(paper, links),
        "summary": paper.abstract[:500],
        "date_published": _iso(paper.first_seen),
        "date_modified": _iso(max(paper.updated, paper.first_seen)),
        "authors": [{"name": name} for name in names],
        "tags": list(paper.categories),
        "_paperfeed": {
            "arxiv_id": paper.arxiv_id,
            "doi": paper.doi,
            "published": _iso(paper.published) if paper.published else None,
            "links": links,
            "authors_total": len(names) + more,
            "upvotes": paper.upvotes,
            "comments": paper.comments,
            "sources": list(paper.sources),
            "matched": [{"term": t, "field": f} for t, f in paper.matched],
        },
    }
    # JSON Feed: leave out what is unknown rather than send null or a made-up value.
    return {key: value for key, value in item.items() if value not in (None, [])}


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
