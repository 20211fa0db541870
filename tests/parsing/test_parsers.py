"""Every parser against sample files, field by field. Each file in tests/parsing/data/cases
(hand-made edge cases) and tests/parsing/data/real (real upstream captures, see its README)
has its expected records beside it (NAME.expected.json); an error answer expects {"error": ...}.
Adding a case is adding two files. PAPERFEED_WRITE_EXPECTED=1 writes the expectations from
the parsers, to be read line by line in the diff before committing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import parsing
from parsing.model import Paper
from tests.helpers import expected_outcome, expected_path, parser_cases


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
        "version": paper.version,
        "announce_type": paper.announce_type,
        "withdrawn": paper.withdrawn,
        "journal_ref": paper.journal_ref,
        "author_comments": paper.author_comments,
        # Fields only arXiv OAI-PMH fills: listed when filled, so the other files stay as
        # they were written.
        **({"versions": [v._asdict() for v in paper.versions]} if paper.versions else {}),
        **({"license": paper.license} if paper.license else {}),
    }


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


@pytest.mark.parametrize("case", parser_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_parser_gives_the_expected_records(case: Path) -> None:
    expected = expected_outcome(case)
    got = outcome(expected["kind"], case.read_bytes())
    if os.environ.get("PAPERFEED_WRITE_EXPECTED"):
        text = json.dumps(got, indent=2, ensure_ascii=False) + "\n"
        expected_path(case).write_text(text, "utf-8")
    assert got == expected


@pytest.mark.parametrize("case", parser_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_streamed_read_gives_the_same_records(case: Path) -> None:
    """parsing.read (a refresh's path: papers handed over as they are read, from a file)
    gives each case's expected records, skipped and dropped notes, or error."""
    expected = expected_outcome(case)
    result = parsing.ParseResult()
    with case.open("rb") as body:
        try:
            papers = [record(p) for p in parsing.read(expected["kind"], body, result)]
        except parsing.ParseError as error:
            assert expected == {"kind": expected["kind"], "error": str(error)}
            return
    got = {"kind": expected["kind"], "papers": papers}
    got |= {"skipped": result.skipped, "dropped": result.dropped}
    assert got == expected
    assert result.read == len(papers) and result.papers == []  # handed over, not kept


def test_every_case_has_its_expectation() -> None:
    for case in parser_cases():
        assert expected_path(case).exists(), case.name


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
