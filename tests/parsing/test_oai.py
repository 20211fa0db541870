"""arXiv OAI-PMH pages field by field: the real captures in tests/parsing/data/real (see its
README), and what the schema allows that they do not show (suffixes, collaborations,
deleted records, affiliations in an arXivRaw author string)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

import parsing
from parsing.oai import OaiRecord, parse_page, read_record, reader_fields, split_authors
from tests.helpers import parser_fixture

RAW_PAGE = parser_fixture("real/arxiv_oai_2015-01-06_listrecords-arxivraw.xml").read_bytes()
ARXIV_PAGE = parser_fixture("real/arxiv_oai_2013-04-03_listrecords-arxiv.xml").read_bytes()
ENVELOPE = (
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-01-02T03:04:05Z'
    "</responseDate><ListRecords>{}</ListRecords></OAI-PMH>"
)


def records_of(body: bytes) -> list[OaiRecord]:
    from lxml import etree

    root = etree.fromstring(body)
    found = [read_record(r) for r in root.iter("{http://www.openarchives.org/OAI/2.0/}record")]
    assert all(isinstance(r, OaiRecord) for r in found)
    return found  # type: ignore[return-value]


def test_an_arxivraw_page_gives_its_token_and_every_field() -> None:
    page = parse_page(RAW_PAGE)
    assert (page.records, page.token, page.cursor, page.complete_size) == (
        6,
        "726959|1001",
        0,
        58011,
    )
    assert page.response_date == datetime(2015, 1, 6, 20, 49, 59, tzinfo=UTC)
    assert [p.arxiv_id for p in page.result.papers] == [
        "0704.0471", "0704.0716", "0704.0874", "0704.1109", "0704.1114", "0704.1586",
    ]  # fmt: skip
    farkas = page.result.papers[2]
    assert (
        farkas.title == "Higher ramification and varieties of secant divisors on the generic curve"
    )
    assert farkas.authors == ("Gavril Farkas",)
    assert farkas.categories == ("math.AG",)
    assert farkas.published == datetime(2007, 4, 6, 11, 7, 1, tzinfo=UTC)  # v1, not v3
    assert [tuple(v) for v in farkas.versions] == [
        (1, "2007-04-06T11:07:01+00:00"),
        (2, "2008-04-30T17:03:55+00:00"),
        (3, "2014-11-20T15:03:16+00:00"),
    ]
    assert farkas.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert farkas.supersedes  # the record describes v3: its title and abstract win
    assert farkas.abstract.startswith("For a smooth projective curve, the cycles of e-secant")
    summers = page.result.papers[5]
    assert (
        summers.title
        == "Core excitation in the elastic scattering and breakup of $^{11}$Be on protons"
    )
    assert summers.authors == ("N.C. Summers", "F.M. Nunes")
    assert summers.doi == "10.1103/physrevc.76.014611" and summers.license is None
    assert not summers.supersedes and len(summers.versions) == 1


def test_arxivraw_records_keep_comments_journal_ref_and_every_doi() -> None:
    shetty, richard, *_, summers = records_of(RAW_PAGE)
    assert shetty.comments == "16 pages, 14 figures"
    assert shetty.journal_ref == "Phys.Rev.C76:024606,2007; Erratum-ibid.C76:039902,2007"
    assert shetty.dois == ("10.1103/PhysRevC.76.024606", "10.1103/PhysRevC.76.039902")
    assert shetty.license is None and shetty.report_no is None
    assert richard.comments == (
        "54 pages, 2 figures; v2 updated and slightly expanded; v3 changes in some proofs; "
        "v4 slightly expanded"
    )
    assert richard.journal_ref == (
        "Polygons, polyominoes and polycubes, 247-299, Lecture Notes in Phys., 775, "
        "Springer, Dordrecht, 2009"
    )
    assert richard.dois == ()
    assert reader_fields(summers) == {
        "journal_ref": "Phys.Rev.C76:014611,2007; Erratum-ibid..C77:049901,2008",
        "author_comments": "5 pages, 4 figures, submitted to Phys. Rev. C",
    }


def test_an_arxiv_page_gives_names_from_keyname_and_forenames_and_its_dates() -> None:
    page = parse_page(ARXIV_PAGE)
    (paper,) = page.result.papers
    assert paper.arxiv_id == "0801.3931" and page.token is None
    assert paper.authors == ("T. Manos", "E. Athanassoula")
    assert paper.published == datetime(2008, 1, 25, tzinfo=UTC)
    assert [tuple(v) for v in paper.versions] == [(1, "2008-01-25")]
    assert "Poincaré $(y,p_y)$ surface" in paper.abstract  # TeX accent read, math kept
    assert paper.doi == "10.1007/978-3-540-75826-6_11"
    (record,) = records_of(ARXIV_PAGE)
    assert record.created == date(2008, 1, 25) and record.updated is None
    assert record.journal_ref == (
        "Chaos in Astronomy Astrophysics and Space Science Proceedings 2009, pp 115-122"
    )
    assert record.comments == (
        '8 pages, 3 figures, to appear in the proceedings of the international conference "Chaos '
        'in Astronomy", Athens, Greece (talk contribution)'
    )


def test_a_getrecord_answer_reads_like_a_page() -> None:
    body = parser_fixture("real/arxiv_oai_2015-01-06_getrecord-arxivraw.xml").read_bytes()
    (paper,) = parsing.parse("oai", body).papers
    assert paper.authors == ("Joshua Berger", "Maxim Perelstein", "Michael Saelim", "Philip Tanedo")
    assert paper.categories == ("hep-ph", "hep-ex")
    assert [v.version for v in paper.versions] == [1, 2]


def test_suffixes_collaborations_deleted_records_and_updated_dates_from_the_schema() -> None:
    arxiv_ns = 'xmlns="http://arxiv.org/OAI/arXiv/"'
    body = ENVELOPE.format(
        "<record><header><identifier>oai:arXiv.org:2401.00001</identifier>"
        f"<datestamp>2024-01-05</datestamp></header><metadata><arXiv {arxiv_ns}>"
        "<id>2401.00001</id><created>2024-01-01</created><updated>2024-01-04</updated>"
        "<authors><author><keyname>King</keyname><forenames>Martin Luther</forenames>"
        "<suffix>Jr</suffix><affiliation>Somewhere</affiliation></author>"
        "<author><keyname>ATLAS Collaboration</keyname></author></authors>"
        "<title>A  title\n over lines</title><categories>cs.LG stat.ML</categories>"
        "<license>http://creativecommons.org/licenses/by/4.0/</license>"
        "<abstract>An abstract.</abstract></arXiv></metadata></record>"
        '<record><header status="deleted"><identifier>oai:arXiv.org:2401.00002</identifier>'
        "<datestamp>2024-01-05</datestamp></header></record>"
    ).encode()
    page = parse_page(body)
    (paper,) = page.result.papers
    assert paper.authors == ("Martin Luther King Jr", "ATLAS Collaboration")
    assert paper.title == "A title over lines" and paper.categories == ("cs.LG", "stat.ML")
    assert paper.license == "http://creativecommons.org/licenses/by/4.0/"
    assert paper.supersedes  # updated: the record is a later version's
    assert page.records == 2 and page.result.skipped == ["record 1: 2401.00002 is deleted upstream"]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("D.V. Shetty, S.J. Yennello, and G.A. Souliotis", ["D.V. Shetty", "S.J. Yennello",
                                                           "G.A. Souliotis"]),
        ("Valeria M. Rosa and Patricio S. letelier", ["Valeria M. Rosa", "Patricio S. letelier"]),
        ("A. One (MIT and Harvard, USA), B. Two (ETH)", ["A. One", "B. Two"]),
        ("Alexander Sandberg", ["Alexander Sandberg"]),
        ("Ana M\\'endez and\n  Bo Cho", ["Ana M\\'endez", "Bo Cho"]),
    ],
)  # fmt: skip
def test_an_arxivraw_author_string_splits_at_commas_and_and(text: str, names: list[str]) -> None:
    assert split_authors(text) == names


def test_answers_that_are_not_pages() -> None:
    with pytest.raises(parsing.ParseError, match="badResumptionToken"):
        parsing.parse(
            "oai",
            parser_fixture("real/arxiv_oai_2015-06-23_error-badresumptiontoken.xml").read_bytes(),
        )
    empty = parse_page(
        parser_fixture("real/arxiv_oai_2015-06-23_error-norecordsmatch.xml").read_bytes()
    )
    assert (empty.error, empty.result.papers, empty.token) == ("noRecordsMatch", [], None)
    with pytest.raises(parsing.ParseError, match="HTML"):
        parsing.parse("oai", b"<html><body>Service Unavailable</body></html>")
    atom = parsing.parse("oai", parser_fixture("cases/arxiv_api.atom").read_bytes())
    assert atom.suspect and "feed" in atom.suspect and not atom.papers
    with pytest.raises(parsing.ParseError):
        parsing.parse("oai", RAW_PAGE[: len(RAW_PAGE) // 2])


def test_entities_are_neither_expanded_nor_fetched(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    record = (
        "<record><header><identifier>oai:arXiv.org:2401.00001</identifier></header>"
        '<metadata><arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"><id>2401.00001</id>'
        "<title>T &lol9; &xxe;</title></arXivRaw></metadata></record>"
    )
    lols = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n else "lol"}">' for n in range(10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE OAI-PMH [{lols}'
        f'<!ENTITY xxe SYSTEM "file://{secret}">]>' + ENVELOPE.format(record)
    ).encode()
    try:
        papers = parsing.parse("oai", body).papers
    except parsing.ParseError:
        return  # refused whole: safe too
    assert all("SECRET" not in p.title and "lollol" not in p.title for p in papers)
