"""Parser behaviour on edge cases the real captures show only once or not at all: LaTeX
'<' '>' '&', affiliations with commas, hundreds of authors, hidden authors, TeX accents,
inline markup, error answers, values out of range, control characters."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime

import pytest

import parsing
from parsing.model import MAX_COUNT, make_paper
from parsing.text import (
    _SPACES,
    _UNCLEAN,
    OTHER_SPACES,
    clean_text,
    plain_text,
    strip_invalid,
    tex_accents_to_letters,
)


def arxiv_rss(title: str, description: str, creator: str) -> bytes:
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"
 version="2.0"><channel><title>cs updates on arXiv.org</title>
<item><title>{title}</title><link>https://arxiv.org/abs/2411.00001</link>
<description>arXiv:2411.00001v1 Announce Type: new
Abstract: {description}</description><guid isPermaLink="false">oai:arXiv.org:2411.00001v1</guid>
<category>cs.LG</category><pubDate>Thu, 28 Nov 2024 00:00:00 -0500</pubDate>
<arxiv:announce_type>new</arxiv:announce_type><dc:creator>{creator}</dc:creator></item>
</channel></rss>""".encode()


def arxiv_api(title: str, summary: str, categories: list[str]) -> bytes:
    terms = "".join(
        f'<category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in categories
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
<title>q</title><id>http://arxiv.org/api/x</id><updated>2024-01-01T00:00:00Z</updated>
<entry><id>http://arxiv.org/abs/2401.00001v2</id><published>2024-01-01T10:00:00Z</published>
<updated>2024-02-01T10:00:00Z</updated><title>{title}</title><summary>{summary}</summary>
<author><name>A. Author</name></author>{terms}
<arxiv:doi>10.1103/PhysRevD.1.1 10.1103/PhysRevD.2.2</arxiv:doi></entry></feed>""".encode()


@pytest.mark.parametrize(
    ("escaped", "text"),
    [
        ("for $T&lt;T_{RW}$ the walk", "for $T<T_{RW}$ the walk"),
        (
            "$\\frac{1}{3}&lt;s&lt;1$ and $p&lt;i$ but $j&gt;k$",
            "$\\frac{1}{3}<s<1$ and $p<i$ but $j>k$",
        ),
        ("A &amp;amp; B, and &lt;b&gt;not bold&lt;/b&gt;", "A &amp; B, and <b>not bold</b>"),
        ("ratio of C/O $&lt;$ 0.95", "ratio of C/O $<$ 0.95"),
    ],
)
def test_latex_in_arxiv_rss_and_api_is_kept_as_written(escaped: str, text: str) -> None:
    (rss,) = parsing.parse("arxiv-rss", arxiv_rss(f"Title {escaped}", escaped, "A B")).papers
    assert rss.abstract == text and rss.title == f"Title {text}"
    (api,) = parsing.parse("arxiv-api", arxiv_api(f"Title {escaped}", escaped, [])).papers
    assert api.abstract == text and api.title == f"Title {text}"


def test_affiliations_with_commas_are_not_authors() -> None:
    creator = (
        "Wei Zhang (Hunan Normal University, Changsha), Ana Ruiz (Caltech, Pasadena),"
        " C\\'ecile Dupont, Jaros{\\l}aw \\.Zygierewicz (Univ. (Warsaw), PL)"
    )
    (paper,) = parsing.parse("arxiv-rss", arxiv_rss("T", "x", creator)).papers
    assert paper.authors == ("Wei Zhang", "Ana Ruiz", "Cécile Dupont", "Jarosław Żygierewicz")


def test_msc_and_acm_classes_are_not_categories() -> None:
    body = arxiv_api("T", "x", ["math.DG", "53D10, 53D15", "cond-mat.stat-mech", "F.2.2; I.2.7"])
    (paper,) = parsing.parse("arxiv-api", body).papers
    assert paper.categories == ("math.DG", "cond-mat.stat-mech")
    assert paper.doi == "10.1103/physrevd.1.1"  # the first of the DOIs arXiv lists
    assert paper.published == datetime(2024, 1, 1, 10, tzinfo=UTC)  # v1, not the update


@pytest.mark.parametrize(
    ("tex", "letters"),
    [
        ("C\\'ecile", "Cécile"),
        ('Schr\\"odinger', "Schrödinger"),
        ('Schr{\\"o}dinger', "Schrödinger"),
        ("Fran\\c{c}ois", "François"),
        ("\\v{S}ime", "Šime"),
        ("Ma\\~nana", "Mañana"),
        ("Gro\\ss", "Groß"),
        ("Mart\\'{\\i}nez", "Martínez"),
        ("QC$_2$D at $\\'e$", "QC$_2$D at $\\'e$"),  # math stays as written
        ("no accent \\orange \\cite{x}", "no accent \\orange \\cite{x}"),
    ],
)
def test_tex_accents_become_letters_outside_math(tex: str, letters: str) -> None:
    assert tex_accents_to_letters(tex) == letters


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("Catalysis of an S<sub>N</sub>2 pathway", "Catalysis of an SN2 pathway"),
        ("<i>trans</i>-splicing of <em>E. coli</em>", "trans-splicing of E. coli"),
        ("H<sub>2</sub>O and x<sup>2</sup>", "H2O and x2"),
        ("<p>One.</p><p>Two.</p>", " One.  Two. "),
        ("a<br/>b", "a b"),
        ("AT&amp;T <script>evil()</script>ok", "AT&T  ok"),
        ("$T<T_{RW}$ in html", "$T<T_{RW}$ in html"),
    ],
)
def test_markup_that_is_really_there_becomes_text_without_spaces_in_words(
    markup: str, text: str
) -> None:
    assert plain_text(markup) == text


def test_publisher_feed_titles_and_abstracts_lose_their_markup_once() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>j</title>
<item><title><![CDATA[Catalysis of an S<sub>N</sub>2 pathway]]></title>
<description><![CDATA[<p><i>trans</i>-splicing, 5 &lt; 6</p>]]></description>
<guid>https://j.example/a/1</guid></item></channel></rss>"""
    (paper,) = parsing.parse("feed", body).papers
    assert paper.title == "Catalysis of an SN2 pathway"
    assert paper.abstract == "trans-splicing, 5 < 6"
    assert paper.identity == "item:https://j.example/a/1"


def hf_item(**paper: object) -> dict[str, object]:
    return {"paper": {"id": "2407.21783", "title": "The Llama 3 Herd of Models", **paper}}


def test_hundreds_of_authors_and_hidden_ones_are_all_kept() -> None:
    authors = [{"name": f"Author {n}", "hidden": n % 7 == 0} for n in range(600)]
    body = json.dumps([hf_item(authors=authors)]).encode()
    (paper,) = parsing.parse("hf-api", body).papers
    assert paper.authors == tuple(f"Author {n}" for n in range(600))


@pytest.mark.parametrize(
    ("fields", "dropped"),
    [
        ({"upvotes": 1e20}, "upvotes 1e+20 outside"),
        ({"upvotes": MAX_COUNT + 1}, "upvotes 2147483648 outside"),
        ({"upvotes": -1}, "upvotes -1 outside"),
        ({"upvotes": float("nan")}, "upvotes nan is not a number"),
        ({"upvotes": "12"}, "upvotes '12' is not a number"),
        ({"comments": True}, "comments True is not a number"),
        ({"published": datetime(9999, 12, 31, tzinfo=UTC)}, "date 9999-12-31"),
        ({"published": datetime(1, 1, 1, tzinfo=UTC)}, "date 0001-01-01"),
        ({"arxiv_id": "not an id"}, "arXiv id 'not an id' is not an arXiv id"),
        ({"doi": "10.1000/" + "x" * 300}, "is not a DOI of at most 200"),
        ({"item_id": "x" * 501}, "item id longer than 500"),
        ({"url": "javascript:alert(1)"}, "url 'javascript:alert(1)' is not an http(s) link"),
        ({"url": "https://x.org/" + "a" * 2000}, "is not an http(s) link"),
        ({"links": [("code", "ftp://x")]}, "code link 'ftp://x' is not an http(s) link"),
        ({"abstract": "a" * 20_001}, "abstract cut to 20000 characters"),
        ({"authors": ["b" * 301]}, "author cut to 300 characters"),
        ({"categories": [str(n) for n in range(60)]}, "10 categories past 50"),
    ],
)
def test_a_field_out_of_range_is_dropped_with_a_reason(
    fields: dict[str, object], dropped: str
) -> None:
    notes: list[str] = []
    paper = make_paper(title="A Paper", dropped=notes, **fields)  # type: ignore[arg-type]
    assert paper.title == "A Paper"
    assert len(notes) == 1 and dropped in notes[0]


def test_a_record_without_a_title_is_skipped_and_the_rest_kept() -> None:
    body = json.dumps([hf_item(title="\x00 \u202e"), hf_item(id="2407.21784", title="Fine")])
    result = parsing.parse("hf-api", body.encode())
    assert [p.title for p in result.papers] == ["Fine"]
    assert result.skipped == ["entry 0: record has no title"]


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        (
            "arxiv-api",
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>arXiv</title><entry>'
            b"<id>http://arxiv.org/api/errors#incorrect_id_format_for_x</id><title>Error</title>"
            b"<summary>incorrect id format for x</summary></entry></feed>",
            "arXiv API error: incorrect id format for x",
        ),
        (
            "arxiv-rss",
            b'<rss version="2.0"><channel><title>Feed error for query: x</title>'
            b"<description>Bad archive 'x'.</description></channel></rss>",
            "arXiv RSS error: Bad archive 'x'.",
        ),
        ("feed", b"<!DOCTYPE html><html><body><h1>403 Forbidden</h1></body></html>", "not"),
        ("hf-text", b"<html><head><title>Just a moment...</title></head></html>", "HTML page"),
        ("hf-text", bytes(range(256)) * 10, "binary data"),
    ],
)
def test_an_error_answer_is_a_parse_error(kind: str, body: bytes, message: str) -> None:
    with pytest.raises(parsing.ParseError, match=message):
        parsing.parse(kind, body)


def test_a_stray_nul_in_a_text_listing_costs_nothing() -> None:
    abstract = "We study things. " * 20
    body = f"Daily Papers\n\nA Good\x00 Title\n\n{abstract}\n".encode()
    (paper,) = parsing.parse("hf-text", body).papers
    assert paper.title == "A Good Title" and paper.abstract == abstract.strip()


def test_other_spaces_are_every_space_but_the_plain_one() -> None:
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    assert re.findall(f"[{OTHER_SPACES}]", everything) == re.findall(r"[^\S ]", everything)
    # clean_text takes printable text as having none of what it removes or folds.
    assert not [char for char in _UNCLEAN.findall(everything) if char.isprintable()]


@pytest.mark.parametrize(
    "text",
    [
        "a  b",
        " a\tb ",
        "a\u2009b",
        "a\u200fb\x00",
        "a \u3000 b",
        "plain text, one space",
        "  ",
        "é è",
    ],
)
def test_clean_text_with_nothing_to_fold_gives_what_folding_gives(text: str) -> None:
    folded = _SPACES.sub(" ", strip_invalid(text)).strip()
    assert clean_text(text) == folded
    assert clean_text(text, max_length=3) == folded[:3]
