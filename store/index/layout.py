"""The text index's own layout: the fields it keeps, how long a token, how an order key
encodes a paper, and the tokens of a paper. Both dialects and the planner read it here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from topics.analysis import SEPARATOR, Document
from topics.plan import IndexShape

# The fields the index keeps; a word asked for in another field cannot anchor a search.
FIELDS = ("title", "abstract", "author")
MAX_TOKEN = 60  # longer words are indexed (and looked up) by their first 60 letters
SHAPE = IndexShape(fields=FIELDS, max_token=MAX_TOKEN)

# An order key sorts papers newest first: (first_seen in whole seconds) * 2**32 + paper id.
# The store writes first_seen in whole seconds (store.papers.utcnow), so keys sort papers as
# feeds do, by (first_seen, id), and a search stops at its limit-th hit: it never reads the
# rest of a second that a big import filled with thousands of papers.
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
    """The tokens of each indexed field in order, as the matcher sees them."""
    return document_tokens(Document.of(title=title, abstract=abstract, authors=list(authors)))


def document_tokens(doc: Document) -> dict[str, list[str]]:
    """The tokens of each indexed field of a paper analysed for the matcher: one analysis
    serves both. (Dropping the separator between two authors only lets a phrase span them:
    the matcher says no.)"""
    found = {}
    for field in FIELDS:
        stems = doc.fields[field].stems
        # Mostly nothing to drop or cut: the analysis's own list (two passes in C, where a
        # copy token by token cost a fifth of indexing a paper).
        if SEPARATOR in stems or max(map(len, stems), default=0) > MAX_TOKEN:
            stems = [t[:MAX_TOKEN] for t in stems if t != SEPARATOR]
        found[field] = stems
    return found


# A paper to index: id, first_seen, title, abstract, authors.
PaperText = tuple[int, datetime, str, str, Sequence[str]]
# A paper's entry: its order key, id, tokens of each field, first_seen.
Entry = tuple[int, int, dict[str, list[str]], datetime]


def entries(rows: Sequence[PaperText], docs: Mapping[int, Document] | None = None) -> list[Entry]:
    """Each paper's entry; docs: papers already analysed (by id), whose tokens are taken."""
    docs = docs or {}
    return [
        (
            order_key(first_seen, pid),
            pid,
            document_tokens(docs[pid]) if pid in docs else field_tokens(title, abstract, authors),
            first_seen,
        )
        for pid, first_seen, title, abstract, authors in rows
    ]
