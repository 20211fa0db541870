"""Every parser against sample files: each file in tests/parsers has its expected records
beside it (NAME.expected.json). Adding a case is adding two files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import parsing
from parsing.model import Paper
from tests.helpers import FIXTURES

CASES = FIXTURES


def record(paper: Paper) -> dict[str, object]:
    return {
        "identity": paper.identity,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "url": paper.url,
        "published": paper.published.isoformat() if paper.published else None,
        "upvotes": paper.upvotes,
        "comments": paper.comments,
    }


def cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if not p.name.endswith(".expected.json"))


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.name)
def test_parser_gives_the_expected_records(case: Path) -> None:
    expected = json.loads(case.with_name(case.name + ".expected.json").read_text("utf-8"))
    result = parsing.parse(expected["kind"], case.read_bytes())
    assert [record(p) for p in result.papers] == expected["papers"]
    assert result.skipped == expected["skipped"]


def test_every_case_has_its_expectation() -> None:
    for case in cases():
        assert case.with_name(case.name + ".expected.json").exists(), case.name


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("hf-api", b"{not json"),
        ("hf-api", b'{"a": 1}'),
        ("hf-page", b"<html><body>no props</body></html>"),
        ("hf-page", b'<div data-target="DailyPapers" data-props="{broken"></div>'),
        ("arxiv-api", b"<html><body>502 Bad Gateway</body></html>"),
        ("arxiv-rss", b"\x00\x01\x02"),
        ("feed", b""),
    ],
)
def test_a_body_that_is_not_a_listing_is_a_parse_error(kind: str, body: bytes) -> None:
    with pytest.raises(parsing.ParseError):
        parsing.parse(kind, body)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown source kind"):
        parsing.parse("gopher", b"")
