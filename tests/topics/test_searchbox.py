"""The search box reads what people paste; the rule parser stays strict."""

from __future__ import annotations

import pytest

from topics.analysis import Document
from topics.query import QueryError, UnknownField, parse
from topics.searchbox import read

SWIN = Document.of(
    title="Swin Transformer V2: Scaling Up Capacity and Resolution",
    arxiv_id="2111.09883",
    doi="10.1109/cvpr52688.2022.01170",
)


def test_a_pasted_title_with_a_colon_finds_its_paper_and_says_how_it_was_read() -> None:
    text = "Swin Transformer V2: Scaling Up Capacity and Resolution"
    with pytest.raises(UnknownField):
        parse(text)  # a rule: the mistake is shown
    query, hints = read(text)
    assert query.matches(SWIN)
    assert parse(query.text).canonical == query.canonical  # a search process parses it again
    first = hints[0]
    assert first.column == text.index("V2") + 1 and first.suggestion == "V2"
    assert first.message.startswith("'V2:' is not a field, so 'V2' is searched as a word")
    assert "fields are abstract, announce, author" in first.message


def test_known_fields_keep_their_meaning_beside_unknown_ones() -> None:
    query, hints = read("foo: bar title:swin")
    assert query.canonical == '(title+abstract:"foo" AND title+abstract:"bar" AND title:"swin")'
    assert [hint.suggestion for hint in hints] == ["foo"]


@pytest.mark.parametrize(
    "text",
    [
        "2111.09883",
        "2111.09883v2",
        "arXiv:2111.09883",
        " arXiv:2111.09883v1 ",
        "https://arxiv.org/abs/2111.09883",
        "https://arxiv.org/pdf/2111.09883v2",
        "http://arxiv.org/pdf/2111.09883v2.pdf",
        "arxiv.org/abs/2111.09883",
        "10.1109/CVPR52688.2022.01170",
        "doi:10.1109/cvpr52688.2022.01170",
        "https://doi.org/10.1109/CVPR52688.2022.01170",
    ],
)
def test_an_arxiv_id_link_or_doi_finds_that_paper(text: str) -> None:
    query, hints = read(text)
    assert query.matches(SWIN)
    assert not query.matches(Document.of(title="Swin Transformer V2", arxiv_id="2111.09884"))
    assert hints[0].message.startswith("read as ")


def test_old_style_arxiv_ids_and_their_links() -> None:
    query, _ = read("https://arxiv.org/abs/hep-th/9901001v1")
    assert query.canonical == 'id:"hep-th/9901001"'


def test_what_cannot_be_read_is_still_an_error() -> None:
    with pytest.raises(QueryError, match="unclosed quote"):
        read('"swin transformer')
    with pytest.raises(QueryError, match="the query is empty"):
        read("   ")
