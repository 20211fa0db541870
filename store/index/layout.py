"""The text index's own layout: the fields it keeps, how long a token, how an order key
encodes a paper, and the tokens of a paper. Both dialects and the planner read it here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from topics.analysis import SEPARATOR, Document
from topics.plan import IndexShape

# The fields the index keeps; a word asked for in another field cannot anchor a search.
FIELDS = ("title", "abstract", "author")
MAX_TOKEN = 60  # longer words are indexed (and looked up) by their first 60 letters
SHAPE = IndexShape(fields=FIELDS, max_token=MAX_TOKEN)

# An order key sorts papers newest first: (first_seen in whole seconds) * 2**32 + paper id.
# Keys of one second may be out of first_seen order, so a search finishes that second.
ID_BITS = 32
ID_MASK = (1 << ID_BITS) - 1
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def order_key(first_seen: datetime, paper_id: int) -> int:
    seconds = int((first_seen - EPOCH).total_seconds() // 1)
    return (seconds << ID_BITS) + paper_id


def split_key(key: int) -> tuple[int, int]:
    """(second, paper id) of an order key."""
    return key >> ID_BITS, key & ID_MASK


def day_of(key: int) -> int:
    """The day of an order key: days since EPOCH, UTC."""
    return (key >> ID_BITS) // 86400


def first_key(day: int) -> int:
    return (day * 86400) << ID_BITS


def field_tokens(title: str, abstract: str, authors: Sequence[str]) -> dict[str, list[str]]:
    """The tokens of each indexed field in order, as the matcher sees them. (Dropping the
    separator between two authors only lets a phrase span them: the matcher says no.)"""
    doc = Document.of(title=title, abstract=abstract, authors=list(authors))
    return {
        field: [t[:MAX_TOKEN] for t in doc.fields[field].stems if t != SEPARATOR]
        for field in FIELDS
    }


# A paper to index: id, first_seen, title, abstract, authors.
PaperText = tuple[int, datetime, str, str, Sequence[str]]
# A paper's entry: its order key, id, tokens of each field, first_seen.
Entry = tuple[int, int, dict[str, list[str]], datetime]


def entries(rows: Sequence[PaperText]) -> list[Entry]:
    return [
        (order_key(first_seen, pid), pid, field_tokens(title, abstract, authors), first_seen)
        for pid, first_seen, title, abstract, authors in rows
    ]
