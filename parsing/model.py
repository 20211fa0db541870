"""The Paper record every parser returns, and how a paper's identity is derived."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from parsing.text import clean_text, safe_link, title_key

# New-style ids (1512.03385, 2310.12345v2) and old-style ids (cs/9901002, math.AG/0601001v1).
_NEW_ID = r"(?P<new>\d{4}\.\d{4,5})(?:v\d+)?"
_OLD_ID = r"(?P<old>[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?"
_ARXIV_ID_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html)/|huggingface\.co/papers/|oai:arXiv\.org:|arXiv:|^)"
    rf"(?:{_NEW_ID}|{_OLD_ID})(?:\.pdf)?(?:[?#/]|$)",
    re.IGNORECASE,
)
_BARE_ID = re.compile(rf"^(?:{_NEW_ID}|{_OLD_ID})$")


def arxiv_id_from(text: str | None) -> str | None:
    """Find an arXiv id (version stripped) in an id, link, guid or 'arXiv:' reference."""
    if not text:
        return None
    text = text.strip()
    bare = _BARE_ID.match(text)
    match = bare or _ARXIV_ID_IN_TEXT.search(text)
    if not match:
        return None
    return match.group("new") or match.group("old")


@dataclass(frozen=True)
class Paper:
    """One paper as a listing describes it; the store merges many of these into one record."""

    title: str
    abstract: str = ""
    arxiv_id: str | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    url: str | None = None
    published: datetime | None = None
    upvotes: int | None = None
    comments: int | None = None
    sources: tuple[str, ...] = field(default=())
    # A new version announced by its source (arXiv "replace"): its title and abstract win.
    supersedes: bool = False

    @property
    def title_key(self) -> str:
        return title_key(self.title)

    @property
    def identity(self) -> str:
        """arXiv id when known, else the title key (DESIGN.md rule 1)."""
        return f"arxiv:{self.arxiv_id}" if self.arxiv_id else f"title:{self.title_key}"


def new_guid(paper: Paper) -> str:
    """The GUID a paper gets the first time it is stored; it never changes after that."""
    if paper.arxiv_id:
        return f"urn:arxiv:{paper.arxiv_id}"
    digest = hashlib.sha1(paper.title_key.encode("utf-8")).hexdigest()[:20]
    return f"urn:paperfeed:title:{digest}"


def make_paper(
    *,
    title: str | None,
    abstract: str | None = "",
    arxiv_id: str | None = None,
    authors: list[str] | tuple[str, ...] = (),
    categories: list[str] | tuple[str, ...] = (),
    url: str | None = None,
    published: datetime | None = None,
    upvotes: int | None = None,
    comments: int | None = None,
) -> Paper:
    """Build a Paper from raw upstream values, cleaning every text field on the way in."""
    clean_title = clean_text(title, max_length=1000)
    if not clean_title or not title_key(clean_title):
        raise ValueError("record has no title")
    clean_authors = tuple(a for a in (clean_text(x, max_length=300) for x in authors) if a)
    clean_categories = tuple(
        dict.fromkeys(c for c in (clean_text(x, max_length=100) for x in categories) if c)
    )
    return Paper(
        title=clean_title,
        abstract=clean_text(abstract),
        arxiv_id=arxiv_id_from(arxiv_id) if arxiv_id else None,
        authors=clean_authors[:200],
        categories=clean_categories[:50],
        url=safe_link(url),
        published=published,
        upvotes=_non_negative(upvotes),
        comments=_non_negative(comments),
    )


def _non_negative(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value >= 0 else None
