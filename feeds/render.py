"""Feeds out, one class per format: RSS 2.0 and Atom 1.0 (both through feedgen), JSON Feed
1.1. A feed is built from plain data (what it says about itself, and its papers) and
written as bytes; nothing here knows HTTP.

Rendering is deterministic: the same items give the same bytes in every process, so the
ETag agrees across workers. No clock is read here; dates come from the data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator

from feeds.items import (
    LINK_LABELS,
    best_link,
    cut,
    item_guid,
    item_html,
    item_link,
    item_text,
    last_updated,
    page_key,
    paper_links,
    shown_authors,
)
from feeds.math import readable
from parsing.text import clean_text, strip_invalid
from store import StoredPaper


@dataclass(frozen=True)
class FeedInfo:
    """What a feed says about itself."""

    key: str  # topic name, or "search"
    title: str
    description: str
    self_url: str
    page_url: str
    ttl_minutes: int
    papers_url: str = ""  # where paper pages are (".../papers/"): items link them when set

    def paper_page(self, paper: StoredPaper) -> str | None:
        """The paper's page here, or None when the feed does not know where pages are."""
        if not self.papers_url:
            return None
        return self.papers_url + quote(page_key(paper), safe="/:")

    def links(self, paper: StoredPaper) -> dict[str, str]:
        """paper_links, and the paper's page here (last) when known."""
        links = paper_links(paper)
        page = self.paper_page(paper)
        if page:
            links["page"] = page
        return links


class Feed:
    """A feed of papers in one format (Django's SyndicationFeed has the same shape)."""

    content_type: ClassVar[str]

    def __init__(self, info: FeedInfo, items: Sequence[StoredPaper]) -> None:
        self.info = info
        self.items = items

    @property
    def updated(self) -> datetime:
        """The newest change among the items: the feed's lastBuildDate / updated."""
        return last_updated(self.items)

    def to_bytes(self) -> bytes:
        raise NotImplementedError


class _XmlFeed(Feed):
    """RSS and Atom: the same feedgen document, written in either syntax."""

    rss: ClassVar[bool]

    def _generator(self) -> FeedGenerator:
        info, items = self.info, self.items
        feed = FeedGenerator()
        feed.load_extension("dc", atom=False, rss=True)
        feed.register_extension(
            "atomlinks", BaseExtension, _AtomLinkAttributes, atom=True, rss=False
        )
        feed.register_extension("sender", BaseExtension, _RssSender, atom=False, rss=True)
        feed.register_extension("urn", _DcNamespace, _PaperUrn, atom=True, rss=True)
        feed.id(info.self_url)
        feed.title(_xml_safe(info.title))
        feed.description(_xml_safe(info.description) or _xml_safe(info.title))
        feed.subtitle(_xml_safe(info.description) or _xml_safe(info.title))
        feed.link(href=info.self_url, rel="self")
        feed.link(href=info.page_url, rel="alternate", type="text/html")  # last: RSS <link>
        if any(not paper.authors for paper in items):
            # Atom wants an author for every entry: the feed's stands in only for entries
            # that name none (a paper known by its title), never for those that do.
            feed.author({"name": "paperfeed"})
        feed.language("en")
        feed.ttl(info.ttl_minutes)
        feed.generator("paperfeed", uri="https://github.com/paperfeed/paperfeed")
        updated = self.updated
        feed.lastBuildDate(updated)
        feed.updated(updated)
        for paper in items:
            entry = feed.add_entry(order="append")
            guid = item_guid(paper, info.key)
            entry.id(guid)
            entry.guid(guid, permalink=False)
            entry.urn.urn = paper.guid
            entry.title(readable(paper.title) or "(untitled)")
            known = info.links(paper)
            links = _item_links(paper, known)
            for link in links:
                entry.link(link)
            entry.atomlinks.links = links
            if "hf" in known:  # the Hugging Face page is where the paper is discussed
                entry.comments(known["hf"])
            # Cleaned as a whole: what matched comes from a query, and the body is cut at
            # 50,000 characters (an abstract of quotes grows six-fold when escaped).
            body = _xml_safe(item_html(paper, known))
            if self.rss:  # the body once: RSS readers show description, Atom's content
                entry.description(body)
            else:
                entry.content(body, type="html")
            entry.published(paper.item_date)  # when it entered the topic
            entry.updated(max(paper.updated, paper.item_date))
            # No author is better than a made-up one; each entry names its own (20 at most).
            names, more = shown_authors(paper)
            for name in names:
                entry.author({"name": name})
            if names:
                entry.dc.dc_creator(names)  # one dc:creator per author
                entry.sender.name = names[0] + (" et al." if len(paper.authors) > 1 else "")
            for category in paper.categories:
                entry.category({"term": category})
        return feed


class Rss201rev2Feed(_XmlFeed):
    content_type = "application/rss+xml; charset=utf-8"
    rss = True

    def to_bytes(self) -> bytes:
        return self._generator().rss_str(pretty=False)  # type: ignore[no-any-return]


class Atom1Feed(_XmlFeed):
    content_type = "application/atom+xml; charset=utf-8"
    rss = False

    def to_bytes(self) -> bytes:
        return self._generator().atom_str(pretty=False)  # type: ignore[no-any-return]


class JsonFeed(Feed):
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""

    content_type = "application/feed+json; charset=utf-8"

    def to_bytes(self) -> bytes:
        info = self.info
        document = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": strip_invalid(info.title),
            "home_page_url": strip_invalid(info.page_url),
            "feed_url": strip_invalid(info.self_url),
            "description": strip_invalid(info.description or info.title),
            "language": "en",
            "items": [_json_item(paper, info) for paper in self.items],
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


# The formats a feed is served in, by the name its URL ends with.
FORMATS: dict[str, type[Feed]] = {"rss": Rss201rev2Feed, "atom": Atom1Feed, "json": JsonFeed}


def render(fmt: str, info: FeedInfo, items: Sequence[StoredPaper]) -> bytes:
    """items as a feed in fmt (a name of FORMATS)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown feed format {fmt!r}")
    return FORMATS[fmt](info, items).to_bytes()


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


# RSS's <author> must be an e-mail address; example.org is reserved (RFC 2606), so this one is
# nobody's. Mail-based readers name the sender from it: "First Author et al.".
SENDER_ADDRESS = "noreply@example.org"


class _RssSender(BaseEntryExtension):
    """An RSS item's <author>, "noreply@example.org (First Author et al.)", ahead of
    its dc:creator list: feedparser (rss2email, and many readers) takes the first author
    element it meets as the item's author."""

    def __init__(self) -> None:
        self.name = ""

    def extend_rss(self, entry: Any) -> Any:
        if self.name:
            author = entry.makeelement("author", {})
            author.text = f"{SENDER_ADDRESS} ({_xml_safe(self.name)})"
            creators = [i for i, child in enumerate(entry) if str(child.tag).endswith("creator")]
            entry.insert(creators[0] if creators else len(entry), author)
        return entry


def _best(paper: StoredPaper, known: dict[str, str]) -> str:
    """The item's link: the paper's best real page, else its page here (a paper known only
    by its title), else a search for its title."""
    return best_link(paper, known) or known.get("page") or item_link(paper, known)


class _DcNamespace(BaseExtension):
    def extend_ns(self) -> dict[str, str]:
        return {"dc": _DC}


class _PaperUrn(BaseEntryExtension):
    """The paper's own URN as dc:identifier: the item's GUID is the paper's within the feed
    (items.item_guid), this names the paper across feeds."""

    def __init__(self) -> None:
        self.urn = ""

    def extend_atom(self, entry: Any) -> Any:
        identifier = entry.makeelement(f"{{{_DC}}}identifier", {})
        identifier.text = self.urn
        entry.append(identifier)
        return entry

    extend_rss = extend_atom


_DC = "http://purl.org/dc/elements/1.1/"


def _item_links(paper: StoredPaper, known: dict[str, str]) -> list[dict[str, str]]:
    """The item's links for feedgen: the others first, the best last as rel="alternate"
    (RSS keeps the last alternate as <link>; Atom keeps them all, by relation)."""
    best = _best(paper, known)
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


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


SUMMARY_CHARACTERS = 500  # a JSON Feed item's summary: the abstract, cut at a word


def _json_item(paper: StoredPaper, info: FeedInfo) -> dict[str, object]:
    names, more = shown_authors(paper)
    links = info.links(paper)
    best = _best(paper, links)
    page = links.get("page")
    item: dict[str, object] = {
        "id": item_guid(paper, info.key),
        # JSON Feed: url is where the item speaks of the paper (its page here, when known),
        # external_url the paper itself.
        "url": page or best,
        "external_url": best if page and best != page else None,
        "title": readable(paper.title),
        "content_html": item_html(paper, links),
        "content_text": item_text(paper, links),
        "summary": cut(paper.abstract, SUMMARY_CHARACTERS) or None,
        "date_published": _iso(paper.item_date),
        "date_modified": _iso(max(paper.updated, paper.item_date)),
        "authors": [{"name": name} for name in names],
        "tags": list(paper.categories),
        "_paperfeed": {
            "urn": paper.guid,
            "arxiv_id": paper.arxiv_id,
            "version": paper.version,
            "announce_type": paper.announce_type,
            "withdrawn": paper.withdrawn,
            "journal_ref": paper.journal_ref,
            "author_comments": paper.author_comments,
            "doi": paper.doi,
            "published": _iso(paper.published) if paper.published else None,
            "links": links,
            "authors_total": len(names) + more,
            "upvotes": paper.upvotes,
            "comments": paper.comments,
            "sources": [strip_invalid(source) for source in paper.sources],  # config names
            "matched": [
                {"term": strip_invalid(t), "field": strip_invalid(f)} for t, f in paper.matched
            ],
            # How well it matches its topic or search (README, Ranking); absent when unscored.
            **({} if paper.score is None else {"score": round(paper.score, 4)}),
        },
    }
    # JSON Feed: leave out what is unknown rather than send null or a made-up value.
    return {key: value for key, value in item.items() if value not in (None, [])}
