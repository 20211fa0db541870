"""RSS 2.0, RSS 1.0 (RDF) and Atom 1.0 entries streamed with lxml iterparse, each in the shape
feedparser gives it, so that one reading (parsing.feed.entry_fields) serves both readers.

feedparser builds the whole feed in memory and costs about 1.4 ms an item; this reads an item,
hands it over and drops it (memory stays flat whatever the listing's size) at a few percent of
that. It reads only what it can vouch for: a body that is not well-formed XML, declares a DTD or
an unusual encoding, puts markup inside a text element, or uses an element feedparser gives a
meaning this reader does not know, raises NeedsLeniency, and the caller reads the whole body
with feedparser instead (its leniency is what such bodies need).
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from feedparser.datetimes import _parse_date  # feedparser's own date reading: one result
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urifixer
from lxml import etree

from parsing.errors import ParseError


class NeedsLeniency(Exception):
    """The body needs feedparser: what it is, for the log."""


ATOM = "http://www.w3.org/2005/Atom"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RSS1 = "http://purl.org/rss/1.0/"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
ARXIV = "http://arxiv.org/schemas/atom"

_MIXIN = _FeedParserMixin
# Namespaces feedparser reads as RSS/Atom itself, and those whose elements it gives a meaning
# (media:title is a title, itunes:keywords are tags): the second kind goes to feedparser.
_CORE = frozenset(uri.lower() for uri, prefix in _MIXIN.namespaces.items() if prefix == "")
_LENIENT = frozenset(
    uri.lower()
    for uri, prefix in _MIXIN.namespaces.items()
    if prefix not in ("", "dc", "dcterms", "content", "prism")
    and any(name.startswith(f"_start_{prefix}_") for name in dir(_MIXIN))
)
_ITEMS = [
    f"{{{RSS1}}}item",
    "item",
    f"{{{ATOM}}}entry",
    "{http://my.netscape.com/rdf/simple/0.9/}item",
]
_ROOTS = {"rss": False, f"{{{RDF}}}RDF": False, f"{{{ATOM}}}feed": True}  # tag: is Atom
# feedparser reads these text the same way lxml does; others it may decode another way.
_ENCODINGS = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"})
# Core elements that move feedparser's context (source, image) or that it reads in ways this
# reader does not (RSS <author> "email (name)", made-up <tags>, xhtml bodies).
_CORE_LENIENT = frozenset({"source", "image", "textinput", "body", "fullitem", "tags", "info"})
_EMAIL = re.compile(r"[a-zA-Z0-9_\-.+]+@")
_HTML_TYPES = _MIXIN.html_types


def entries(body: bytes | BinaryIO) -> Iterator[dict[str, Any]]:
    """Yield every entry of body (bytes, or a seekable binary file read from its start) as
    feedparser would give it; raise NeedsLeniency where this reader cannot vouch for that,
    ParseError for a body that is plainly not a feed."""
    stream = io.BytesIO(body) if isinstance(body, bytes) else body
    _check_prolog(stream)
    parser = etree.iterparse(
        stream,
        events=("end",),
        tag=_ITEMS,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=False,
    )
    reader: _Reader | None = None
    try:
        for _event, item in parser:
            if reader is None:
                reader = _Reader(item.getroottree())
            yield reader.entry(item)
            # Drop what was read: the item and every sibling before it.
            item.clear()
            while item.getprevious() is not None:
                del item.getparent()[0]
        if reader is None:
            _Reader(parser.root.getroottree())  # an empty feed must still be a feed
    except (etree.LxmlError, ValueError) as error:
        # libxml2's own complaints, and names it lets through that XML namespaces forbid.
        raise NeedsLeniency(f"not well-formed XML: {error}") from None


def check_kind(body: bytes) -> None:
    """A body of another kind (JSON, an HTML page) is a ParseError that says so."""
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head[:1] in (b"{", b"["):
        raise ParseError("a JSON document, not an RSS or Atom feed (is the kind hf-api?)")
    if head.startswith((b"<!doctype html", b"<html")):
        raise ParseError("an HTML page, not an RSS or Atom feed")


def _check_prolog(stream: BinaryIO) -> None:
    """What must be known before the first entry is handed over; stream is left at its start."""
    head = stream.read(4096)
    check_kind(head)
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise NeedsLeniency("a document type declaration")
    if _contains(stream, b"xml:base"):
        raise NeedsLeniency("xml:base")  # feedparser resolves links against it
    # A body cut off mid-transfer goes to feedparser, which refuses it whole (ParseError),
    # before any of its entries is handed over to be stored.
    stream.seek(max(0, stream.seek(0, io.SEEK_END) - _TAIL_BYTES))
    if not _ENDS_WHOLE.search(stream.read()):
        raise NeedsLeniency("the body does not end with its root element's end tag")
    stream.seek(0)


# The end of a whole feed: its root's end tag (rss, rdf:RDF, feed), then only space/comments.
_ENDS_WHOLE = re.compile(rb"</(?:[\w.-]+:)?(?:rss|RDF|feed)\s*>(?:\s|<!--.*?-->)*\Z", re.DOTALL)
_TAIL_BYTES = 1 << 16  # trailing space or comments after the root end tag fit in it


def _contains(stream: BinaryIO, needle: bytes, chunk: int = 1 << 16) -> bool:
    """Whether needle occurs in stream, read from its start in chunks (a big body is never
    held whole); the stream is left at its start."""
    stream.seek(0)
    carried = b""  # the end of the chunk before: needle may straddle two
    try:
        while block := stream.read(chunk):
            if needle in block or needle in carried + block[: len(needle) - 1]:
                return True
            carried = block[-(len(needle) - 1) :]
        return False
    finally:
        stream.seek(0)


class _Reader:
    """What one body's entries share: its format and its text encoding."""

    def __init__(self, tree: Any) -> None:
        root = tree.getroot()
        if root.tag not in _ROOTS:
            if etree.QName(root).localname.lower() == "html":
                raise ParseError("an HTML page, not an RSS or Atom feed")
            raise NeedsLeniency(f"root element {root.tag}")
        encoding = (tree.docinfo.encoding or "utf-8").lower()
        if encoding not in _ENCODINGS:
            raise NeedsLeniency(f"encoding {encoding}")
        self.atom = _ROOTS[root.tag]
        self.utf8 = encoding in ("utf-8", "utf8")

    def text(self, element: Any) -> str:
        """An element's text as feedparser hands it over; markup inside it goes to feedparser."""
        if len(element):
            raise NeedsLeniency(f"markup inside <{element.tag}>")
        output = (element.text or "").strip()
        if output.isascii():
            return output
        if self.utf8:
            # feedparser undoes UTF-8 that was read as Latin-1; so must we, to give the same.
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                output = output.encode("iso-8859-1").decode("utf-8")
        return output.translate(_cp1252)

    def content_type(self, element: Any, default: str, value: str) -> str:
        attrs = _attrs(element)
        if "mode" in attrs or "src" in attrs:
            raise NeedsLeniency("encoded or external content")
        kind = _MIXIN.map_content_type(attrs.get("type", default))
        if kind not in ("text/plain", "text/html"):
            raise NeedsLeniency(f"content of type {kind}")
        if (
            not self.atom
            and kind == "text/plain"
            and ("<" in value or "&" in value)
            and _MIXIN.looks_like_html(value)
        ):
            kind = "text/html"
        return kind

    def entry(self, item: Any) -> dict[str, Any]:
        state = _Entry(self, item.get(f"{{{RDF}}}about"))
        for child in item:
            if isinstance(child.tag, str):
                state.read(child)
        return state.entry


class _Entry:
    """One entry being filled in, element by element, as feedparser's handlers fill it."""

    def __init__(self, reader: _Reader, about: str | None) -> None:
        self.reader = reader
        self.entry: dict[str, Any] = {"id": about} if about else {}
        self.title_done = False
        self.has_content = False

    def read(self, element: Any) -> None:
        namespace, name = _names(element.tag)
        if namespace in _CORE:
            self.core(name, element)
        elif namespace == DC:
            self.dublin_core(name, element)
        elif namespace == DCTERMS:
            if name in ("issued", "modified"):
                self.date("published" if name == "issued" else "updated", element)
        elif namespace == CONTENT:
            if name == "encoded":
                self.content(element, "text/html")
        elif namespace in _LENIENT:
            raise NeedsLeniency(f"element {element.tag}")
        elif name == "doi" and (namespace == ARXIV or "prismstandard.org" in namespace):
            self.plain(f"{'arxiv' if namespace == ARXIV else 'prism'}_doi", element)

    def core(self, name: str, element: Any) -> None:
        if name == "title":
            self.title(element)
        elif name in ("description", "summary"):
            self.summary(element, "text/plain" if name == "summary" else "text/html")
        elif name == "abstract":
            self.describe(element, "text/plain")
        elif name == "content":
            self.content(element, "text/plain")
        elif name == "link":
            self.link(element)
        elif name in ("guid", "id"):
            self.guid(element)
        elif name == "enclosure":
            self.entry.setdefault("links", []).append({**_href(element), "rel": "enclosure"})
        elif name in ("category", "keywords"):
            self.category(element)
        elif name in ("pubdate", "published", "issued"):
            self.date("published", element)
        elif name in ("updated", "modified", "lastbuilddate"):
            self.date("updated", element)
        elif name == "author" and self.reader.atom:
            self.atom_author(element)
        elif name == "author" or name in _CORE_LENIENT:
            raise NeedsLeniency(f"<{name}> in an entry")

    def dublin_core(self, name: str, element: Any) -> None:
        if name == "title":
            self.title(element)
        elif name == "description":
            self.summary(element, "text/html")
        elif name in ("creator", "author"):
            self.author(self.reader.text(element))
        elif name == "subject":
            self.category(element)
        elif name == "date":
            self.date("updated", element)
        elif name == "identifier":
            value = self.plain("dc_identifier", element)
            if isinstance(value, str):
                # feedparser keeps only the last; publishers write several (pmid, doi).
                self.entry.setdefault("dc_identifiers", []).append(value)
        elif name not in ("contributor", "publisher", "language", "rights"):
            self.plain(f"dc_{name}", element)

    def plain(self, key: str, element: Any) -> str | dict[str, str]:
        """An element feedparser has no handler for: its text, or its attributes if it has any."""
        attrs = _attrs(element)
        value: str | dict[str, str] = attrs if attrs else self.reader.text(element)
        self.entry[key] = value
        return value

    def title(self, element: Any) -> None:
        value = self.reader.text(element)
        if self.title_done:
            return  # the first title that says something is the title
        self.entry["title"] = value
        self.entry["title_detail"] = {
            "type": self.reader.content_type(element, "text/plain", value)
        }
        self.title_done = bool(value)

    def summary(self, element: Any, default: str) -> None:
        if "summary" in self.entry and not self.has_content:
            self.content(element, "text/plain")  # a second description is content
        else:
            self.describe(element, default)

    def describe(self, element: Any, default: str) -> None:
        value = self.reader.text(element)
        kind = self.reader.content_type(element, default, value)
        self.entry["summary"] = value
        self.entry["summary_detail"] = {"type": kind}

    def content(self, element: Any, default: str) -> None:
        self.has_content = True
        value = self.reader.text(element)
        kind = self.reader.content_type(element, default, value)
        self.entry.setdefault("content", []).append({"type": kind, "value": value})
        self.entry.setdefault("summary", value)

    def link(self, element: Any) -> None:
        attrs = _href(element)
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        links = self.entry.setdefault("links", [])
        links.append(attrs)
        if "href" in attrs:
            attrs["href"] = _urljoin(attrs["href"])
            if (
                attrs["rel"] == "alternate"
                and _MIXIN.map_content_type(attrs["type"]) in _HTML_TYPES
            ):
                self.entry["link"] = attrs["href"]
            return
        output = _urljoin(self.reader.text(element))
        if "&" in output:
            output = re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", output.replace("&amp;", "&"))
        self.entry["link"] = output
        if output:
            attrs["href"] = output

    def guid(self, element: Any) -> None:
        is_link = _attrs(element).get("ispermalink", "true") == "true"
        value = self.reader.text(element)
        if is_link and value:
            value = _urljoin(value)
        self.entry["id"] = value
        if is_link:
            self.entry.setdefault("link", value)

    def category(self, element: Any) -> None:
        attrs = _attrs(element)
        self.tag(attrs.get("term"), attrs.get("scheme", attrs.get("domain")), attrs.get("label"))
        value = self.reader.text(element)
        tags = self.entry.get("tags", [])
        if value and tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        elif value:
            self.tag(value, None, None)

    def tag(self, term: str | None, scheme: str | None, label: str | None) -> None:
        tags = self.entry.setdefault("tags", [])
        value = {"term": term, "scheme": scheme, "label": label}
        if (term or scheme or label) and value not in tags:
            tags.append(value)

    def date(self, key: str, element: Any) -> None:
        # The last one wins, even unreadable, as in feedparser.
        self.entry[f"{key}_parsed"] = _date(self.reader.text(element))

    def author(self, value: str) -> None:
        if _EMAIL.search(value):
            raise NeedsLeniency("an author with an e-mail address")
        self.entry.setdefault("authors", []).append({"name": value} if value else {})

    def atom_author(self, element: Any) -> None:
        self.entry.setdefault("authors", []).append({})
        for child in element:
            if isinstance(child.tag, str) and etree.QName(child).localname.lower() == "name":
                name = self.reader.text(child)
                if _EMAIL.search(name):
                    raise NeedsLeniency("an author with an e-mail address")
                self.entry["authors"][-1]["name"] = name


@functools.lru_cache(maxsize=1024)  # a listing's items use a handful of tags
def _names(tag: str) -> tuple[str, str]:
    """A tag's namespace and local name, lower-cased, as feedparser matches them."""
    if tag[0] == "{":
        namespace, _, name = tag[1:].partition("}")
        return namespace.lower(), name.lower()
    if ":" in tag:
        raise NeedsLeniency(f"undeclared namespace prefix in <{tag}>")
    return "", tag.lower()


def _attrs(element: Any) -> dict[str, str]:
    """Attributes by lower-cased local name, as feedparser keys them."""
    return {key.rpartition("}")[2].lower(): value for key, value in element.items()}


def _urljoin(uri: str) -> str:
    """feedparser's feedparser.urls._urljoin against no base: only its scheme fix applies."""
    return _urifixer.sub(r"\1\3", uri) if ":///" in uri else uri


# A listing's items share a handful of dates: read each string once.
_date = functools.lru_cache(maxsize=4096)(_parse_date)


def _href(element: Any) -> dict[str, str]:
    attrs = _attrs(element)
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs
