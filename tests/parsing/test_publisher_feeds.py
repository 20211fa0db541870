"""Publisher feeds read exactly (issue 24): HighWire author lists, every dc:identifier,
parentheses that are affiliations and those that are not, publisher markup in titles, and
subjects joined into one string."""

from __future__ import annotations

import pytest

import parsing
from parsing.feed import entry_authors, entry_doi, strip_affiliation
from parsing.subjects import split_subjects
from parsing.text import strip_tag_pairs
from tests.helpers import parser_fixture


def _authors(*creators: str) -> list[str]:
    return entry_authors({"authors": [{"name": creator} for creator in creators]})


@pytest.mark.parametrize(
    ("creators", "names"),
    [
        # HighWire (bioRxiv, Science): one dc:creator, "Surname, Initials" pairs.
        (["Kukla, D., Crampton, A., LAPALU, N."], ["D. Kukla", "A. Crampton", "N. LAPALU"]),
        (["Wood, D.-A., Khetani, S. R."], ["D.-A. Wood", "S. R. Khetani"]),
        (["Johnson, B."], ["B. Johnson"]),
        (["Lapalu, N.", "Simon, J.-P."], ["N. Lapalu", "J.-P. Simon"]),
        # rss.arxiv.org: whole names, affiliations in parentheses, commas inside them.
        (["Ada Lovelace (Analytical, London), Alan Turing"], ["Ada Lovelace", "Alan Turing"]),
        (["A. Smith, B. Jones"], ["A. Smith", "B. Jones"]),
        # Names that look like pairs but are not initials stay whole names.
        (["Smith, John"], ["Smith", "John"]),
        (
            ["Yuhan (Douglas) Rao", "Benjamin R\\'emy (LEMTA)"],
            ["Yuhan (Douglas) Rao", "Benjamin R\\'emy"],
        ),
    ],
)
def test_author_lists_read_as_whole_names(creators: list[str], names: list[str]) -> None:
    assert _authors(*creators) == names


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("Benjamin R\\'emy (LEMTA)", "Benjamin R\\'emy"),
        ("Jane Doe (MIT) (CMU, Pittsburgh)", "Jane Doe"),
        ("Yuhan (Douglas) Rao", "Yuhan (Douglas) Rao"),
        ("(Consortium)", "(Consortium)"),
        ("Unbalanced (Affil", "Unbalanced (Affil"),
    ],
)
def test_only_trailing_parentheses_are_affiliations(name: str, kept: str) -> None:
    assert strip_affiliation(name) == kept


@pytest.mark.parametrize(
    ("entry", "doi"),
    [
        (
            {"dc_identifiers": ["info:doi/10.1126/science.adk0001", "hwp:master-id:sci;x"]},
            "10.1126/science.adk0001",
        ),
        (
            {"dc_identifiers": ["pmid:34929406", "doi:10.1016/j.parint.2021.102531"]},
            "10.1016/j.parint.2021.102531",
        ),
        ({"dc_identifier": "INFO:DOI/10.1101/857789"}, "10.1101/857789"),
        ({"prism_doi": "10.1038/X", "dc_identifier": "doi:10.1/other"}, "10.1038/x"),
        ({"dc_identifiers": ["hwp:master-id:sci;x"], "link": "https://example.org/?rss=1"}, None),
    ],
)
def test_every_dc_identifier_is_read_info_doi_included(
    entry: dict[str, object], doi: str | None
) -> None:
    assert entry_doi(entry) == doi


def test_a_highwire_feed_is_known_by_its_doi_not_its_tracking_link() -> None:
    result = parsing.parse("feed", parser_fixture("cases/publisher_feed.rdf").read_bytes())
    science = result.papers[1]
    assert science.identity == "doi:10.1126/science.adk0001"
    assert science.url is not None and science.url.endswith("?rss=1")
    assert [len(p.authors) for p in result.papers] == [5, 2, 2]


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ('<Emphasis Type="Italic">Drosophila</Emphasis> genes', "Drosophila genes"),
        ("S<Subscript>N</Subscript>2 and <Emphasis><b>x</b></Emphasis>", "SN2 and x"),
        ("$T<T_{RW}$ and $p<i$", "$T<T_{RW}$ and $p<i$"),
        ("a < b > c", "a < b > c"),
    ],
)
def test_markup_in_pairs_leaves_titles_and_lone_brackets_stay(title: str, text: str) -> None:
    assert strip_tag_pairs(title) == text


@pytest.mark.parametrize(
    ("subject", "subjects"),
    [
        ("Physics, Applied, Physics", ["Physics, Applied", "Physics"]),
        (
            "Chemistry, Physical, Physics, Atomic, Molecular & Chemical, Optics",
            ["Chemistry, Physical", "Physics, Atomic, Molecular & Chemical", "Optics"],
        ),
        ("Physics, Applied", ["Physics, Applied"]),
        ("Genetics; Evolution", ["Genetics", "Evolution"]),
        # A MeSH heading, or commas nobody can tell from a list: kept whole.
        ("Neurons, Afferent", ["Neurons, Afferent"]),
        ("cs.LG", ["cs.LG"]),
    ],
)
def test_comma_joined_subjects_split_where_they_are_a_list(
    subject: str, subjects: list[str]
) -> None:
    assert split_subjects(subject) == subjects
