"""The streamed feed reader gives what feedparser gives, field by field, on every capture and
on generated feeds; bodies that need feedparser's leniency still read; memory stays flat."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parsing
from parsing import feed, feed_stream
from tests.helpers import PARSER_DATA, parser_cases


def _both(body: bytes) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    old = [feed.entry_fields(entry) for entry in feed.read_feed(body).entries]
    new = [feed.entry_fields(entry) for entry in feed_stream.entries(body)]
    return old, new


_XML_CAPTURES = [
    case
    for case in parser_cases()
    if case.suffix in (".xml", ".atom", ".rss")
    and "error" not in case.name
    and "_oai_" not in case.name  # OAI-PMH pages are not feeds: parsing/oai.py reads them
]


@pytest.mark.parametrize("case", _XML_CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_stream_reads_every_capture_as_feedparser_does(case: Path) -> None:
    old, new = _both(case.read_bytes())
    assert new == old


# Text with what trips feed readers: entities, markup-looking LaTeX, CDATA ends, accents,
# Windows-1252 characters, UTF-8 read as Latin-1, HTML that is and is not there.
_TEXT = st.lists(
    st.sampled_from(
        list("ab <>&;/$_{}\"'()é€—\x85") + ["&amp;", "<i>", "</i>", "$T<T_{c}$", "Ã©", "&lt;b&gt;"]
    ),
    max_size=12,
).map("".join)
_ELEMENTS = st.sampled_from(
    [
        "title",
        "description",
        "link",
        "guid",
        'guid isPermaLink="false"',
        "category",
        "pubDate",
        "dc:creator",
        "dc:date",
        "dc:identifier",
        "dc:subject",
        "dc:title",
        "content:encoded",
        "prism:doi",
    ]
)


def _rss(items: list[list[tuple[str, str, bool]]]) -> bytes:
    parts = []
    for fields in items:
        body = ""
        for element, text, cdata in fields:
            name = element.split()[0]
            value = f"<![CDATA[{text.replace(']]>', '')}]]>" if cdata else escape(text)
            body += f"<{element}>{value}</{name}>"
        parts.append(f"<item>{body}</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/"><channel><title>t</title>'
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(_ELEMENTS, _TEXT, st.booleans()), max_size=8), max_size=4))
def test_generated_feeds_read_the_same_both_ways(items: list[list[tuple[str, str, bool]]]) -> None:
    body = _rss(items)
    try:
        old, new = _both(body)
    except feed_stream.NeedsLeniency:
        return  # the body goes to feedparser: the same reading by construction
    assert new == old


@pytest.mark.parametrize(
    "body",
    [
        # A bare "&" and an undeclared prefix: not XML, but feedparser reads them.
        b'<rss version="2.0"><channel><item><title>R&D for LLMs</title></item></channel></rss>',
        b'<rss version="2.0"><channel><item><title>A</title><x:y>z</x:y></item></channel></rss>',
        # Markup inside a description, an RSS <author>, a media: element: feedparser's reading.
        b'<rss version="2.0"><channel><item><title>A</title><description>a <b>b</b>'
        b"</description><author>x@y.org (X Y)</author></item></channel></rss>",
    ],
)
def test_bodies_that_need_leniency_are_read_by_feedparser(body: bytes) -> None:
    with pytest.raises(feed_stream.NeedsLeniency):
        list(feed_stream.entries(body))
    result = parsing.parse("feed", body)
    assert [p.title for p in result.papers] == [
        feed.entry_fields(e)["title"] for e in feed.read_feed(body).entries
    ]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"papers": []}', "a JSON document"),
        (b"  [1, 2]", "a JSON document"),
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "an HTML page"),
        (b"<html><head><title>502</title></head></html>", "an HTML page"),
        ((PARSER_DATA / "hazards" / "error_page_200.html").read_bytes(), "an HTML page"),
    ],
)
def test_a_body_of_another_kind_is_an_error_that_says_so(body: bytes, says: str) -> None:
    for kind in ("feed", "arxiv-rss", "arxiv-api"):
        with pytest.raises(parsing.ParseError, match=says):
            parsing.parse(kind, body)


def _listing(count: int) -> bytes:
    item = (
        "<item><title>Paper {0}: a study of things</title>"
        "<link>https://example.org/p/{0}</link><guid>https://example.org/p/{0}</guid>"
        "<description>We study things, {0} times over, with care &amp; rigour.</description>"
        "<pubDate>Tue, 14 Nov 2023 10:00:00 GMT</pubDate></item>"
    )
    items = "".join(item.format(n) for n in range(count))
    return f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


def test_streaming_memory_stays_flat_whatever_the_listing_size() -> None:
    peaks = []
    for count in (1_000, 10_000):
        body = _listing(count)
        tracemalloc.start()
        for _ in feed_stream.entries(body):
            pass
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # Ten times the items, not ten times the memory (lxml's own buffers are not traced).
    assert peaks[1] < 2 * peaks[0] + 100_000
