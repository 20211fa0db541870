"""The Hugging Face text captures: both layouts, exact titles and abstracts, bad input."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

import parsing
from parsing import hf_text
from parsing.text import tex_accents_to_letters
from tests.helpers import LISTINGS, SEED_COUNTS

TODAY = date(2026, 11, 22)


def _lines(name: str) -> list[str]:
    return (LISTINGS / name).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(("name", "count"), sorted(SEED_COUNTS.items()))
def test_each_capture_gives_its_record_count(name: str, count: int) -> None:
    result = parsing.parse("hf-text", (LISTINGS / name).read_bytes(), today=TODAY)
    assert len(result.papers) == count
    assert result.skipped == []


@pytest.mark.parametrize("name", sorted(SEED_COUNTS))
def test_titles_and_abstracts_are_exact_lines_of_the_file(name: str) -> None:
    lines = _lines(name)
    # The first title of the "Get trending" layout shares its line with "Subscribe".
    # TeX accents (Fr\\'echet) come out as letters, the one change a line goes through.
    lines = [tex_accents_to_letters(line.removeprefix("Subscribe")) for line in lines]
    papers = parsing.parse("hf-text", (LISTINGS / name).read_bytes(), today=TODAY).papers
    positions = {line: i for i, line in enumerate(lines)}
    for paper in papers:
        assert paper.title in positions, paper.title
        assert paper.abstract in positions, paper.title
        following = [line for line in lines[positions[paper.title] + 1 :] if line][0]
        assert following == paper.abstract


def test_first_title_of_the_trending_layout_is_read_from_the_subscribe_line() -> None:
    papers = parsing.parse("hf-text", (LISTINGS / "000_0937d812811fcc18.txt").read_bytes()).papers
    assert papers[0].title == (
        "Fake it till you make it: Learning transferable representations from synthetic "
        "ImageNet clones"
    )


def test_a_date_line_without_a_year_gives_no_paper_date() -> None:
    """The capture says "Jul 28" and nothing more: its papers may be from any year, and a
    guessed year (this year, or last) would show an old paper as new. No date beats a wrong
    one; the line is still read as a date line, not as a title."""
    body = (LISTINGS / "002_ef8e4038be73e72e.txt").read_bytes()
    papers = parsing.parse("hf-text", body, today=TODAY).papers
    assert papers and {p.published for p in papers} == {None}
    assert all(p.title != "Jul 28" for p in papers)


def test_a_date_line_with_its_year_is_the_listing_date() -> None:
    body = (
        "Daily Papers\n\nJul 28, 2023\n\nA title\n\n" + "An abstract that reads like prose. " * 10
    )
    (paper,) = parsing.parse("hf-text", body.encode(), today=TODAY).papers
    assert paper.published == datetime(2023, 7, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "today", "expected"),
    [
        ("Jul 28", date(2026, 11, 22), date(2026, 7, 28)),
        ("Dec 31", date(2026, 1, 2), date(2025, 12, 31)),
        ("Nov 22", date(2026, 11, 22), date(2026, 11, 22)),
        ("Nov 23", date(2026, 11, 22), date(2025, 11, 23)),
        ("Feb 29", date(2026, 3, 1), date(2024, 2, 29)),
        ("Foo 12", date(2026, 3, 1), None),
        ("Jul 28, 2023", date(2026, 3, 1), date(2023, 7, 28)),
    ],
)
def test_listing_date_year_is_the_latest_not_in_the_future(line, today, expected) -> None:
    assert hf_text.listing_date(line, today) == expected


@pytest.mark.parametrize("name", sorted(SEED_COUNTS))
def test_crlf_bom_trailing_spaces_and_no_final_newline_change_nothing(name: str) -> None:
    original = (LISTINGS / name).read_bytes()
    clean = parsing.parse("hf-text", original, today=TODAY).papers
    text = original.decode("utf-8")
    mangled = "\ufeff" + "\r\n".join(line + "  " for line in text.splitlines())
    assert parsing.parse("hf-text", mangled.encode("utf-8"), today=TODAY).papers == clean


def test_a_record_that_cannot_be_read_is_skipped_and_logged_with_its_line(caplog) -> None:
    abstract = "This abstract is long enough to read as prose and it ends like a sentence. " * 4
    body = "\n".join(
        [
            "Get trending papers in your email inbox!",
            "SubscribeFirst Good Title",
            abstract,
            "A Title Whose Abstract Went Missing",
            "Second Good Title",
            abstract,
            abstract,  # line 7: an abstract with no title before it
            "Dangling Title At The End",
        ]
    ).encode()
    with caplog.at_level(logging.WARNING, logger="paperfeed.parsing"):
        result = parsing.parse("hf-text", body, today=TODAY)
    assert [p.title for p in result.papers] == ["First Good Title", "Second Good Title"]
    assert result.skipped == [
        "line 4: title without an abstract after it",
        "line 7: abstract without a title before it",
        "line 8: title without an abstract after it",
    ]
    assert "line 4" in caplog.text and "line 7" in caplog.text


@pytest.mark.parametrize("body", [b"", b"\n\n\n", b"\x00\x01\x02\xff\xfebin", b"Subscribe\n"])
def test_a_body_with_no_papers_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(parsing.ParseError):
        parsing.parse("hf-text", body)
