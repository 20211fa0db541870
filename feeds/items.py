"""What a feed item says about a paper, whatever the format: its links, authors, facts and
body (HTML and plain text). Pages show the same links and authors on their cards.

A stored paper's text and links were cleaned once, by the parsers (parsing.model.make_paper:
printable text, spaces folded, http(s) links only); nothing here cleans them again. What
matched comes from a query (a reader's own, for a search feed), which no parser saw."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

from parsing.model import arxiv_id_month
from parsing.text import strip_invalid
from store import StoredPaper
from topics.query import format_matches

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


LINK_LABELS = {
    "abs": "arXiv",
    "pdf": "PDF",
    "hf": "Hugging Face",
    "code": "Code",
    "project": "Project page",
    "doi": "DOI",
    "source": "Source",
    "more": "More like this",
    "less": "Less like this",
    "page": "Everything known",  # the paper's page here (/papers/<id>), when the feed knows it
}
# An item lists this many authors and says how many more there are ("and 480 more").
SHOWN_AUTHORS = 20


def paper_links(paper: StoredPaper) -> dict[str, str]:
    """Where a reader can go for this paper, by kind, in the order they are shown:
    abs (arXiv abstract), pdf, hf (Hugging Face page), code, project, doi, then the
    listing's own link (source) when it is none of those."""
    # Links from a listing were checked by the parser (only http(s)); the others are built
    # from ids that it checked.
    given = dict(paper.links)
    found = {"pdf": given.get("pdf"), "code": given.get("code"), "project": given.get("project")}
    if paper.arxiv_id:
        found["abs"] = f"https://arxiv.org/abs/{paper.arxiv_id}"
        found["pdf"] = f"https://arxiv.org/pdf/{paper.arxiv_id}"
        found["hf"] = f"https://huggingface.co/papers/{paper.arxiv_id}"
    if paper.doi:
        found["doi"] = f"https://doi.org/{quote(paper.doi, safe='/:;()._-')}"
    links = {kind: link for kind in LINK_LABELS if (link := found.get(kind))}
    source = paper.url
    if source and source not in links.values():
        links["source"] = source
    links.update(paper.feedback)  # a like topic's signed links (web.feedback)
    return links


def page_key(paper: StoredPaper) -> str:
    """What names a paper in its page's URL here: its arXiv id, else DOI, else GUID."""
    return paper.arxiv_id or paper.doi or paper.guid


def cut(text: str, limit: int) -> str:
    """text in at most limit characters, cut at a word with an ellipsis when it is longer."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if not text[limit - 1].isspace() and " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:.-–—") + "…"


def best_link(paper: StoredPaper, links: dict[str, str] | None = None) -> str | None:
    """The paper's best real page: its Hugging Face page when Hugging Face lists it (it
    has upvotes, and a discussion there), else the arXiv abstract, the listing's own
    page, the DOI, the project; None when nothing real is known."""
    links = paper_links(paper) if links is None else links
    first = ("hf", "abs") if paper.upvotes is not None else ("abs", "hf")
    return next((links[k] for k in (*first, "source", "doi", "project") if k in links), None)


def item_link(paper: StoredPaper, links: dict[str, str] | None = None) -> str:
    """A feed item's link: best_link, or for a title-only paper a Hugging Face search for
    its title, so that every item opens somewhere."""
    best = best_link(paper, links)
    if best:
        return best
    return f"https://huggingface.co/papers?q={quote_plus(paper.title[:500])}"


def shown_authors(paper: StoredPaper, shown: int = SHOWN_AUTHORS) -> tuple[list[str], int]:
    """The first `shown` authors, and how many more there are ("and 1 more" never: the one
    name takes less room than saying so)."""
    if len(paper.authors) <= shown + 1:
        shown = len(paper.authors)
    names = list(paper.authors[:shown])
    return names, max(len(paper.authors) - shown, 0)


def authors_line(paper: StoredPaper, shown: int = SHOWN_AUTHORS) -> str:
    """'A, B and 480 more': feed items show 20 names, page cards fewer."""
    names, more = shown_authors(paper, shown)
    return ", ".join(names) + (f" and {more} more" if more else "")


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def item_guid(paper: StoredPaper, feed_key: str) -> str:
    """An item's GUID: the paper's URN within one feed. Readers such as newsboat keep one
    item per GUID across all their feeds, so a paper in three topics needs three GUIDs to
    show in all three; the paper's own URN goes in dc:identifier (JSON: _paperfeed.urn)."""
    return f"{paper.guid}#{feed_key}"


def version_mark(paper: StoredPaper) -> str | None:
    """'withdrawn (v5)', 'revised (v4)', or None for a first version."""
    version = f" (v{paper.version})" if paper.version else ""
    if paper.withdrawn:
        return f"withdrawn{version}"
    if (paper.version or 1) > 1:
        return f"revised{version}"
    return None


def _published(paper: StoredPaper) -> str:
    """The paper's date; only its month when that is all that is known (the arXiv id's)."""
    assert paper.published is not None
    if paper.published == arxiv_id_month(paper.arxiv_id):
        return _day(paper.published)[:7]
    return _day(paper.published)


def item_facts(paper: StoredPaper) -> list[str]:
    """The short facts of an item, in plain text: date, numbers, ids."""
    facts = []
    if paper.published is not None:
        facts.append(f"Published: {_published(paper)}")
    mark = version_mark(paper)
    if mark:
        facts.append(mark)
    if paper.upvotes is not None:
        facts.append(f"Upvotes: {paper.upvotes}")
    if paper.comments is not None:
        facts.append(f"Comments: {paper.comments}")
    if paper.arxiv_id:
        facts.append(f"arXiv: {paper.arxiv_id}")
    if paper.doi:
        facts.append(f"DOI: {paper.doi}")
    if paper.journal_ref:
        facts.append(f"Journal: {paper.journal_ref}")
    if paper.author_comments:
        facts.append(f"Note: {paper.author_comments}")
    return facts


def matched_text(paper: StoredPaper) -> str:
    """What matched, as text: 'resnet (title), residual connection (abstract)'."""
    return strip_invalid(format_matches(list(paper.matched)))


def item_html(paper: StoredPaper, links: dict[str, str] | None = None) -> str:
    """The item body: abstract, authors, the paper's date and numbers, categories, what
    matched, links (paper_links, when not given). All text escaped."""
    parts = [f"<p>{html.escape(paper.abstract)}</p>"] if paper.abstract else []
    if paper.authors:
        parts.append(f"<p>Authors: {html.escape(authors_line(paper))}</p>")
    facts = item_facts(paper)
    if facts:
        parts.append(f"<p>{html.escape(' · '.join(facts))}</p>")
    if paper.categories:
        parts.append(f"<p>Categories: {html.escape(', '.join(paper.categories))}</p>")
    if paper.matched:
        parts.append(f"<p>Matched: {html.escape(matched_text(paper))}</p>")
    anchors = [
        f'<a href="{html.escape(url, quote=True)}">{LINK_LABELS[kind]}</a>'
        for kind, url in (paper_links(paper) if links is None else links).items()
    ]
    if anchors:
        parts.append(f"<p>{' · '.join(anchors)}</p>")
    return "".join(parts) or "<p></p>"


def item_text(paper: StoredPaper, links: dict[str, str] | None = None) -> str:
    lines = [paper.abstract] if paper.abstract else []
    if paper.authors:
        lines.append(f"Authors: {authors_line(paper)}")
    facts = item_facts(paper)
    if facts:
        lines.append(" · ".join(facts))
    if paper.matched:
        lines.append(f"Matched: {matched_text(paper)}")
    links = paper_links(paper) if links is None else links
    if links:
        lines.append("\n".join(f"{LINK_LABELS[kind]}: {url}" for kind, url in links.items()))
    return "\n\n".join(lines)


def last_updated(items: Sequence[StoredPaper]) -> datetime:
    """The newest change among the items: the feed's lastBuildDate / updated."""
    return max((max(p.updated, p.item_date) for p in items), default=EPOCH)
