"""Every parser against sample files, field by field. Each file in tests/parsing/cases
(hand-made edge cases) and tests/parsing/real (real upstream captures, see its README) has its
expected records beside it (NAME.expected.json); an error answer expects {"error": ...}.
Adding a case is adding two files. PAPERFEED_WRITE_EXPECTED=1 writes the expectations from
the parsers, to be read line by line in the diff before committing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import parsing
from parsing.model import Paper
from tests.helpers import FIXTURES

CASES = FIXTURES
REAL = FIXTURES.parent / "real"


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
        "doi": paper.doi,
        "item_id": paper.item_id,
        "links": dict(paper.links),
        "supersedes": paper.supersedes,
    }


def cases() -> list[Path]:
    return sorted(
        p
        for folder in (CASES, REAL)
        for p in folder.iterdir()
        if not p.name.endswith(".expected.json") and p.name != "README.md"
    )


def outcome(kind: str, body: bytes) -> dict[str, object]:
    try:
        result = parsing.parse(kind, body)
    except parsing.ParseError as error:
        return {"kind": kind, "error": str(error)}
    return {
        "kind": kind,
        "papers": [record(p) for p in result.papers],
        "skipped": result.skipped,
        "dropped": result.dropped,
    }


@pytest.mark.parametrize("case", cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_parser_gives_the_expected_records(case: Path) -> None:
    expected_file = case.with_name(case.name + ".expected.json")
    expected = json.loads(expected_file.read_text("utf-8"))
    got = outcome(expected["kind"], case.read_bytes())
    if os.environ.get("PAPERFEED_WRITE_EXPECTED"):
        text = json.dumps(got, indent=2, ensure_ascii=False) + "\n"
        expected_file.write_text(text, "utf-8")
    assert got == expected


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
