"""Hints for queries that parse but probably do not mean what their writer meant.

Lucene operators are upper case: `diffusion and not medical` searches for the words "and"
and "not" and finds nothing. The query is still valid, so this is a hint, not an error.
A like: that finds only its own examples says how to find more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from topics.query import Query
from topics.similarity import DEFAULT_THRESHOLD

_OPERATOR_WORDS = {"and": "AND", "or": "OR", "not": "NOT"}
# A lower-case operator word outside "quotes" (a phrase may say "and" on purpose).
_LOWERCASE_OPERATOR = re.compile(r'"[^"]*"|(?<![\w:])(and|or|not)(?![\w*:])', re.IGNORECASE)


@dataclass(frozen=True)
class Hint:
    message: str
    column: int  # 1-based
    suggestion: str  # what was probably meant: AND, OR or NOT


def hints(query: Query) -> list[Hint]:
    """Lower-case and / or / not used as words: 'did you mean AND?', with the column."""
    searched = query.root.searched_words() & set(_OPERATOR_WORDS)
    found: list[Hint] = []
    for match in _LOWERCASE_OPERATOR.finditer(query.text):
        word = match.group(1)
        if word is None or word.lower() not in searched or word.isupper():
            continue
        upper = _OPERATOR_WORDS[word.lower()]
        found.append(
            Hint(
                f"'{word}' is searched as a word; did you mean {upper}? (operators are upper case)",
                match.start(1) + 1,
                upper,
            )
        )
    return found


def few_similar(query: Query, found: int) -> list[Hint]:
    """When a search with like: found no more papers than its examples (most often the
    examples themselves: one example's words are its own, and few papers share enough of
    them), how to widen it."""
    likes = [node for node in query.likes() if not node.negative]
    examples = sum(len(node.ids) for node in likes)
    if not likes or found > examples:
        return []
    threshold = likes[0].threshold if likes[0].threshold is not None else DEFAULT_THRESHOLD
    return [
        Hint(
            f"like: found {found} paper{'s' * (found != 1)}: others are less similar than "
            f"the threshold ({threshold:g}) asks; give more examples, like:(ID ID ID), or a "
            'rule beside it, "some words" OR like:(ID)',
            query.text.find("like:") + 1,
            "",
        )
    ]
