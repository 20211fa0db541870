"""Spellings of one word meet: joined, hyphenated and spaced compounds, letters and digits,
British and American; and what the analyser makes of them is what the highlighter marks."""

from __future__ import annotations

import pytest

from topics.analysis import Document, terms, words
from topics.matcher import TopicMatcher
from topics.query import parse

# Each row: spellings that must find the same papers (in a rule, and in a paper's text).
SAME = [
    ("pretraining", "pre-training", "pre training", "Pretraining", "PRE-TRAINING"),
    ("pretrained", "pre-trained", "pre trained"),
    ("finetuning", "fine-tuning", "fine tuning"),
    ("finetuned", "fine-tuned"),
    ("resnet50", "ResNet-50", "ResNet 50", "RESNET50"),
    ("multimodal", "multi-modal", "multi modal"),
    ("self-supervised", "selfsupervised", "self supervised"),
    ("MobileNetV2", "MobileNet-V2", "MobileNet v2"),
    ("GPT-4", "GPT4", "gpt 4"),
    ("modeling", "modelling"),
    ("optimization", "optimisation", "optimizations", "optimisations"),
    ("labeled", "labelled"),
    ("behavior", "behaviour"),
    ("normalization", "normalisation"),
]


@pytest.mark.parametrize("forms", SAME)
def test_every_spelling_in_a_rule_finds_every_spelling_in_a_paper(forms: tuple[str, ...]) -> None:
    for written in forms:
        paper = Document.of(title=f"Notes on {written} at scale")
        for asked in forms:
            # Quoted: the spaced form is a phrase (unquoted, its words are each searched).
            assert parse(f'"{asked}"').explain(paper) == [(" ".join(words(asked)), "title")], (
                asked,
                written,
            )
            assert parse(f'"on {asked} at"').matches(paper), (asked, written)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("training", "Pretraining at scale", True),  # as "pre-training" always did
        ("research", "a search for papers", False),  # only listed compounds are split
        ("search", "new research results", False),
        ("pretext", "a pretext task", True),
        ("text", "a pretext task", False),
        ("resnet", "ResNet50 backbones", True),
        ('"resnet 50"', "ResNet50 backbones", True),
        ("resnet50", "ResNet-101 backbones", False),
        ("resnet50", "ResNet50s were trained", True),  # a plural
        ("pretrain*", "pre-trained models", True),
        ("pretrain*", "pretrainable models", True),  # an unlisted word keeps its whole form
        ("pretrai*", "Pre training", True),
        ("resnet5*", "ResNet-50", True),
        ("optimis*", "optimisation", True),
        ("modell*", "modelling", True),
        ("C++", "code in C++ and Rust", True),
        ("C++", "the constant c is small", False),
        ("C#", "written in C#", True),
        ("C#", "C++ code", False),
        ("c", "C++ code", True),
    ],
)
def test_what_is_split_and_what_is_kept(query: str, text: str, expected: bool) -> None:
    assert parse(query).matches(Document.of(title=text)) is expected


def test_describe_shows_the_spellings_a_word_stands_for() -> None:
    assert parse("pretraining").describe() == (
        "title or abstract contains the word 'pretraining' "
        "(also written 'pre-training' or 'pre training')"
    )
    assert parse("ResNet-50").describe().endswith("(also written 'resnet50' or 'resnet-50')")
    assert parse("modelling").describe().endswith("(also written 'modeling')")
    assert "also written" not in parse("networks").describe()
    assert parse("C++").describe() == "title or abstract contains the word 'C++'"


def test_the_highlighter_marks_the_parts_of_a_split_word_where_they_are() -> None:
    text = "Pretraining ResNet50 and C++ models"
    assert [text[a:b] for a, b in parse("pretraining").spans("title", text)] == ["Pretraining"]
    assert [text[a:b] for a, b in parse("resnet-50").spans("title", text)] == ["ResNet50"]
    assert [text[a:b] for a, b in parse("training").spans("title", text)] == ["training"]
    assert [text[a:b] for a, b in parse("C++").spans("title", text)] == ["C++"]


def test_the_topic_matcher_prefilter_finds_every_spelling() -> None:
    matcher = TopicMatcher({"pt": parse("pretraining"), "cpp": parse("C++ OR rust")})
    assert set(matcher.match(Document.of(title="Pre-training in C++"))) == {"pt", "cpp"}
    assert set(matcher.match(Document.of(title="pre training in rust"))) == {"pt", "cpp"}


def test_terms_split_only_what_is_listed_or_mixed() -> None:
    assert terms("Pretraining ResNet50 YOLOv8, GPT-4o on 3D data") == [
        *("pre", "training", "resnet", "50", "yolo", "v", "8", "gpt", "4", "o"),
        *("on", "3", "d", "data"),
    ]
    assert terms("research prediction present") == ["research", "prediction", "present"]
    assert terms("L²") == terms("l2") == ["l", "2"]  # folded first


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("id:2410.03450", True),
        ("id:2410.03450v3", True),
        ('arxiv:"arXiv:2410.03450"', True),
        ('id:"https://arxiv.org/abs/2410.03450v2"', True),
        ("id:2410.03451", False),
        ("doi:10.1145/3442188.3445922", True),
        ('doi:"https://doi.org/10.1145/3442188.3445922"', True),
        ("doi:10.1145/3442188.3445923", False),
        ("id:2410.03450 AND title:notes", True),
    ],
)
def test_id_and_doi_fields_match_the_paper_that_has_them(query: str, expected: bool) -> None:
    paper = Document.of(title="Notes", arxiv_id="2410.03450", doi="10.1145/3442188.3445922")
    assert parse(query).matches(paper) is expected


def test_a_value_that_is_no_identifier_is_an_error_with_an_example() -> None:
    with pytest.raises(Exception, match=r"'banana' is not an arXiv id: id:2410.03450"):
        parse("id:banana")
    with pytest.raises(Exception, match=r"is not a DOI"):
        parse("doi:2410.03450")
