"""The topic query language: one table row per construct and per matching rule."""

from __future__ import annotations

import pytest

from topics.analysis import Document
from topics.query import QueryError, format_matches, parse


def doc(title: str = "", abstract: str = "", **fields: object) -> Document:
    return Document.of(title=title, abstract=abstract, **fields)  # type: ignore[arg-type]


RESNET = doc(
    "Deep Residual Learning for Image Recognition",
    "We present a residual learning framework. ResNets with skip connections ease "
    "training of networks on ImageNet.",
    authors=("Kaiming He", "Xiangyu Zhang"),
    sources=("arxiv-cs-cv",),
    categories=("cs.CV", "cs.LG"),
    upvotes=42,
    comments=3,
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # terms, phrases, prefixes
        ("residual", True),
        ("transformer", False),
        ('"residual learning"', True),
        ('"learning residual"', False),
        ('"skip connection"', True),
        ("resn*", True),
        ("resnet*", True),
        ("trans*", False),
        ('"image rec*"', True),
        # boolean operators
        ("residual AND imagenet", True),
        ("residual AND transformer", False),
        ("residual transformer", False),  # implicit AND
        ("residual OR transformer", True),
        ("transformer OR diffusion", False),
        ("NOT transformer", True),
        ("NOT residual", False),
        ("residual -transformer", True),
        ("residual -imagenet", False),
        ("+residual +imagenet", True),
        ("residual AND NOT (medical OR radiology)", True),
        ("(transformer OR residual) AND (imagenet OR coco)", True),
        ("*", True),
        # fields
        ("title:residual", True),
        ("title:imagenet", False),
        ("abstract:imagenet", True),
        ('title:"image recognition"', True),
        ("title:(deep AND learning)", True),
        ("author:kaiming", True),
        ('author:"kaiming he"', True),
        ('author:"he xiangyu"', False),  # a phrase never spans two authors
        ("source:arxiv", True),
        ("category:cs.CV", True),
        ('category:"cs.CL"', False),
        # numeric ranges
        ("upvotes:[20 TO *]", True),
        ("upvotes:[50 TO *]", False),
        ("upvotes:>=42", True),
        ("upvotes:>42", False),
        ("upvotes:<50", True),
        ("upvotes:{1 TO 42]", True),
        ("upvotes:{1 TO 42}", False),
        ("comments:[1 TO 5]", True),
        # regular expressions (RE2, case-insensitive)
        ("/res(net|next)s?/", True),
        ("title:/recog.ition/", True),
        ("title:/^deep/", True),
        ("/transformers?/", False),
    ],
)
def test_each_construct(query: str, expected: bool) -> None:
    assert parse(query).matches(RESNET) is expected


@pytest.mark.parametrize(
    ("query", "title", "expected"),
    [
        # case
        ("imagenet", "Scaling IMAGENET", True),
        ("ImageNet", "beyond imagenet", True),
        # accents
        ("poincare", "Poincaré Embeddings", True),
        ("poincaré", "Poincare Embeddings", True),
        ("nunez", "Núñez and others", True),
        # whole words
        ("vit", "Scaling ViT to billions", True),
        ("vit", "Human activity recognition", False),
        ("net", "ResNet strikes back", False),
        ("resnet", "ResNet-50 strikes back", True),
        # hyphens and spaces
        ("self-supervised", "Self supervised learning", True),
        ("self-supervised", "Self-Supervised Learning", True),
        ('"self supervised"', "A self-supervised method", True),
        ('"pre training"', "Large-scale pre-training", True),
        # singular and plural
        ("network", "Residual Networks", True),
        ("networks", "a residual network", True),
        ("vit", "Stitched ViTs are flexible", True),
        ("ViTs", "A ViT for all", True),
        ("study", "Two case studies", True),
        ("box", "Bounding boxes", True),
        ("classes", "unseen class", True),
        # phrases need adjacent words
        ('"vision transformer"', "Vision Transformers Need Registers", True),
        ('"vision transformer"', "Transformers for vision", False),
        ('"vision transformer"', "vision and transformer", False),
    ],
)
def test_matching_semantics(query: str, title: str, expected: bool) -> None:
    assert parse(query).matches(doc(title)) is expected


@pytest.mark.parametrize(
    ("query", "column", "words"),
    [
        ("resnet AND", 11, "ends too early"),
        ("(resnet OR vit", 15, "closing ')'"),
        ("upvotes:[20 TO 30", 18, "closing ']'"),
        ("upvotes:[20", 12, "range needs 'TO'"),
        ('(vit OR upvotes:{1 TO 5} OR "a [b"', 35, "closing ')'"),
        ("resnet AND AND vit", 12, "unexpected 'AND'"),
        (")", 1, "unexpected ')'"),
        ('"unclosed phrase', 1, "closing '\"'"),
        ("resnet~2", 1, "fuzzy"),
        ('"deep"~3', 1, "at least two different words"),
        ('"deep lea*"~3', 1, "not wildcards"),
        ('"deep learning"~500', 1, "from 0 to 100"),
        ("resnet^2", 1, "boosts"),
        ("colour:red", 1, "unknown field 'colour'"),
        ("upvotes:many", 9, "is a number"),
        ("title:[1 TO 5]", 7, "ranges need a numeric field"),
        ("upvotes:[a TO 5]", 10, "not a number"),
        ("/(unclosed/", 1, "bad regular expression"),
        ("re*net", 1, "end of a word"),
        ("r*", 1, "at least 2 letters"),
        ("   ", 1, "empty"),
        ('"' + "w " * 40 + '"', 1, "at most 32 words"),
        ("x" * 1001, 1001, "limit is 1000"),
        ("(" * 17 + "a" + ")" * 17, 17, "nest deeper"),
        (" OR ".join(f"w{i}" for i in range(65)), None, "more than 64 terms"),
    ],
)
def test_errors_say_where_and_what(query: str, column: int | None, words: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(query)
    assert words in caught.value.message
    if column is not None:
        assert caught.value.column == column


def test_explain_says_which_terms_matched_in_which_field() -> None:
    query = parse('"residual connection" OR resnet* OR title:recognition OR transformer')
    paper = doc("Deep Residual Learning for Image Recognition", "Residual connections and ResNets.")
    assert format_matches(query.explain(paper) or []) == (
        "residual connection (abstract), resnet* (abstract), recognition (title)"
    )
    assert query.explain(doc("Something else")) is None  # not a match


def test_negated_terms_are_not_reported_as_matches() -> None:
    query = parse("imagenet AND NOT medical")
    assert query.explain(doc("ImageNet classification")) == [("imagenet", "title")]


def test_describe_reads_as_words() -> None:
    assert parse("imagenet AND NOT (medical OR thorax)").describe() == (
        "title or abstract contains the word 'imagenet' and not (title or abstract contains "
        "the word 'medical' or title or abstract contains the word 'thorax')"
    )


def test_equivalent_queries_share_one_canonical_form() -> None:
    assert parse("ResNets AND vit").canonical == parse("resnet   vit").canonical
    assert parse("a OR b").fingerprint != parse("a AND b").fingerprint


@pytest.mark.parametrize(
    "query",
    [
        "x" * 100_000,
        "(" * 5000,
        "a OR " * 199 + "a",
        '"' + "a " * 490 + '"',
        "/(a+)+$/ AND " * 60,
        "a AND " * 160 + "b",
    ],
)
def test_a_hostile_query_is_refused(query: str) -> None:
    """How fast it is refused is measured by bench/refuse.py, not asserted here."""
    with pytest.raises(QueryError):
        parse(query)


@pytest.mark.parametrize(
    ("query", "title", "expected"),
    [
        ('"deep learning"~0', "Deep learning at scale", True),
        ('"deep learning"~0', "Learning deep representations", True),  # any order
        ('"deep learning"~0', "Deep reinforcement learning", False),
        ('"deep learning"~1', "Deep reinforcement learning", True),
        ('"deep learning"~1', "Deep and wide reinforcement learning", False),
        ('"deep learning"~3', "Deep and wide reinforcement learning", True),
        ('"deep networks"~2', "A deep and narrow network", True),  # stems, as everywhere
        ('"deep learning"~5', "Deep nets", False),
    ],
)
def test_proximity_finds_the_words_near_each_other(query: str, title: str, expected: bool) -> None:
    assert parse(query).matches(doc(title)) is expected


def test_proximity_explains_describes_and_stays_within_one_value() -> None:
    query = parse('author:"ann lee"~1')
    assert query.explain(doc(authors=("Ann Chen Lee",))) == [("ann lee~1", "author")]
    assert query.explain(doc(authors=("Bo Ann", "Lee Chen"))) is None  # two authors
    assert query.describe() == (
        "author contains the words 'ann', 'lee' with at most 1 other words among them"
    )
    assert parse('"a b"~2').canonical == 'title+abstract:"a b"~2'


def test_the_query_says_where_to_mark_its_words() -> None:
    text = "Deep nets: learning deep, and then deep reinforcement learning."
    marked = [text[a:b] for a, b in parse('"deep learning"~0').spans("title", text)]
    assert marked == ["learning", "deep"]  # not the words that are further apart
    assert parse('"deep learning"~0').spans("title", text, matched=[]) == []
    assert [text[a:b] for a, b in parse("-deep OR nets").spans("title", text)] == ["nets"]


@pytest.mark.parametrize("degree", ["1.5", "0.5", "-1", "+2"])
def test_a_proximity_degree_that_is_not_a_whole_number_of_words_is_refused_where_it_is(
    degree: str,
) -> None:
    """The parser read "a b"~1.5 as an error with no place and "a b"~-1 as "a b"~1 AND NOT 1."""
    text = f'title:x OR "deep learning"~{degree}'
    with pytest.raises(QueryError) as raised:
        parse(text)
    assert "proximity is a whole number of words from 0 to 100" in str(raised.value)
    assert raised.value.column == text.index('"') + 1


def test_a_proximity_with_no_degree_means_one_other_word() -> None:
    assert parse('"deep learning"~').root == parse('"deep learning"~1').root
