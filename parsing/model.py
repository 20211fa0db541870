"""The Paper record every parser returns, and how a paper's identity is derived."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

# New-style ids (1512.03385, 2310.12345v2) and old-style ids (cs/9901002, math.AG/0601001v1).
_NEW_ID = r"(?P<new>\d{4}\.\d{4,5})(?:v\d+)?"
_OLD_ID = r"(?P<old>[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?"
_ARXIV_ID_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html)/|huggingface\.co/papers/|oai:arXiv\.org:|arXiv:|^)"
    rf"(?:{_NEW_ID}|{_OLD_ID})(?:\.pdf)?(?:[?#/]|$)",
    re.IGNORECASE,
)
_BARE_ID = re.compile(rf"^(?:{_NEW_ID}|{_OLD_ID})$")

# Characters XML 1.0 forbids, plus the noncharacters U+FFFE/U+FFFF and lone surrogates.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
# Bidirectional overrides can make a title display as something it is not.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")
_SPACES = re.compile(r"\s+")


def strip_invalid(text: str) -> str:
    """Remove XML-invalid characters, lone surrogates and bidi overrides; keep the rest."""
    return _BIDI_CONTROLS.sub("", _XML_INVALID.sub("", text))


def clean_text(value: str | None, *, max_length: int = 20_000) -> str:
    """Return value as one line of printable text: no XML-invalid characters, spaces folded."""
    if not value:
        return ""
    text = _XML_INVALID.sub("", value)
    text = _BIDI_CONTROLS.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    return text[:max_length]


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


def title_key(title: str) -> str:
    """Normalise a title so the same paper listed twice gives the same key."""
    folded = unicodedata.normalize("NFKD", title).casefold()
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(re.findall(r"[^\W_]+", folded))


def safe_link(url: str | None) -> str | None:
    """Keep only absolute http(s) links; anything else (javascript:, data:) is dropped."""
    if not url:
        return None
    url = clean_text(url, max_length=2000)
    if re.match(r"^https?://[^\s/?#]+", url, re.IGNORECASE) and not re.search(r"[\s<>\"]", url):
        return url
    return None


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
