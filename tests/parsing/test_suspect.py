"""A body that is not what its kind reads, or whose every record is refused, comes back
suspect, with nothing read from it; no real capture, sample or case is suspect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import parsing
from tests.helpers import LISTINGS, expected_outcome, parser_cases, parser_fixture


def _bodies_with_their_kind() -> list[tuple[str, Path]]:
    """Every case and real capture a parser reads (error answers left out), and the samples."""
    found = [("hf-text", path) for path in sorted(LISTINGS.glob("*.txt"))]
    for case in parser_cases():
        outcome = expected_outcome(case)
        if "error" not in outcome:
            found.append((outcome["kind"], case))
    return found


@pytest.mark.parametrize(
    ("kind", "path"), _bodies_with_their_kind(), ids=lambda v: getattr(v, "name", v)
)
def test_no_real_body_is_suspect(kind: str, path: Path) -> None:
    assert parsing.parse(kind, path.read_bytes()).suspect is None


def test_every_real_capture_is_covered() -> None:
    covered = {path for _, path in _bodies_with_their_kind()}
    assert {"arxiv_rss_2024-11-28_empty-test.xml", "arxiv_api_2026_empty.atom"} <= {
        path.name for path in covered
    }
    real = [p for p in parser_cases() if p.parent.name == "real"]
    errors = [p for p in real if "error" in expected_outcome(p)]
    assert len(errors) == 3  # arXiv's two error answers and an OAI-PMH one
    assert {p for p in covered if p.parent.name == "real"} == set(real) - set(errors)


@pytest.mark.parametrize(
    ("kind", "capture", "says"),
    [
        ("hf-text", "hf_api_2024-10-11.json", "a JSON document, not a text listing"),
        ("hf-text", "hf_api_2025-07-22.json", "a JSON document, not a text listing"),
        ("hf-text", "arxiv_rss_2024-11-28_part1.xml", "an RSS or Atom feed, not a text listing"),
        ("hf-text", "arxiv_api_2018-02-05_einstein.atom", "an RSS or Atom feed, not a text"),
        ("hf-text", "feed_nature_2024-07-18.rss", "an RSS or Atom feed, not a text listing"),
        ("arxiv-api", "arxiv_rss_2024-11-28_part1.xml", "an RSS feed, where the arXiv API"),
        ("arxiv-api", "arxiv_rss_2024-11-28_empty-test.xml", "an RSS feed, where the arXiv API"),
        ("arxiv-rss", "arxiv_api_2018-02-05_einstein.atom", "an Atom feed, where rss.arxiv.org"),
        ("arxiv-rss", "arxiv_api_2026_empty.atom", "an Atom feed, where rss.arxiv.org"),
    ],
)
def test_a_body_of_another_kind_is_suspect_and_nothing_is_read_from_it(
    kind: str, capture: str, says: str
) -> None:
    # Before: hf-text stored 22 papers titled '"title": "DART: ...' from the HF JSON, and
    # arxiv-api 250 papers whose abstracts began "arXiv:2411.17700v1 Announce Type: new".
    result = parsing.parse(kind, parser_fixture(f"real/{capture}").read_bytes())
    assert result.suspect is not None and says in result.suspect
    assert (result.papers, result.skipped) == ([], [])


def test_json_cut_off_or_on_one_line_is_still_json_to_the_text_reader() -> None:
    whole = json.dumps(json.loads(parser_fixture("real/hf_api_2024-10-11.json").read_bytes()))
    for body in (whole, whole[: len(whole) // 2], '{"error": "Invalid date"}'):
        assert "a JSON document" in (parsing.parse("hf-text", body.encode()).suspect or "")


def test_every_record_refused_is_suspect_and_an_empty_listing_is_not() -> None:
    refused = json.dumps([{"paper": {"title": f"No id {n}"}} for n in range(30)]).encode()
    result = parsing.parse("hf-api", refused)
    assert result.suspect == (
        "every one of its 30 records was refused (first: entry 0: no arXiv id in paper.id None)"
    )
    assert len(result.skipped) == 30
    assert parsing.parse("hf-api", b"[]").suspect is None
    # One good record among refused ones is a listing with bad records, not a suspect one.
    some = json.loads(refused) + [{"paper": {"id": "2501.00001", "title": "Fine"}}]
    assert parsing.parse("hf-api", json.dumps(some).encode()).suspect is None
