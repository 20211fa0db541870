"""Hints for lower-case operators, and the reasons a rule keeps a paper out."""

from __future__ import annotations

import pytest

from topics.analysis import Document
from topics.hints import hints
from topics.query import parse
from topics.why import exclusions


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("diffusion and not medical", [(11, "AND"), (15, "NOT")]),
        ("cats or dogs", [(6, "OR")]),
        ("Diffusion And x", [(11, "AND")]),
        ("not medical", [(1, "NOT")]),
        ("diffusion AND NOT medical", []),
        ('"rock and roll"', []),  # a phrase may say "and" on purpose
        ("title:and", []),
        ("android OR notation", []),  # whole words only
    ],
)
def test_lower_case_operators_get_a_hint_with_the_column(query, expected) -> None:
    assert [(hint.column, hint.suggestion) for hint in hints(parse(query))] == expected


PAPER = Document.of(
    title="Deep Residual Learning", abstract="Medical imaging with ImageNet pre-training."
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("residual", []),
        (
            "imagenet AND NOT medical",
            [
                "excluded by NOT (title or abstract contains the word 'medical'): "
                "found medical (abstract)"
            ],
        ),
        ("transformer", ["not true: title or abstract contains the word 'transformer'"]),
        (
            "residual AND (vit OR deit)",
            [
                "none of these is true: title or abstract contains the word 'vit' or "
                "title or abstract contains the word 'deit'"
            ],
        ),
        ("upvotes:[20 TO *]", ["not true: upvotes >= 20"]),
    ],
)
def test_exclusions_name_the_part_of_the_rule_that_failed(query, expected) -> None:
    assert exclusions(parse(query), PAPER) == expected
