"""OPML 2.0: the list of topic feeds, for a reader's subscribe-all."""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree


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
