"""A paper as reference managers read it: Highwire Press `citation_*` meta tags (Zotero,
Mendeley, Google Scholar), BibTeX and RIS. Plain data in, text out; nothing here knows HTTP."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from feeds.items import paper_links
from feeds.math import readable
from store import StoredPaper

# Characters that end a BibTeX field or break LaTeX when left bare outside math.
_LATEX_SPECIALS = re.compile(r"(?<!\\)([&%#])")
_NOT_KEY = re.compile(r"[^a-z0-9]+")
_STOPWORDS = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "towards"}


def own_date(paper: StoredPaper) -> datetime:
    """The paper's own date, else when paperfeed first saw it."""
    return (paper.published or paper.first_seen).astimezone(UTC)


def citation_meta(paper: StoredPaper) -> list[tuple[str, str]]:
    """(name, content) of the Highwire meta tags, one citation_author per author."""
    links = paper_links(paper)
    day = own_date(paper).strftime("%Y/%m/%d")
    meta = [("citation_title", readable(paper.title))]
    meta += [("citation_author", name) for name in paper.authors]
    meta += [("citation_date", day), ("citation_publication_date", day)]
    if paper.published is not None:
        meta.append(("citation_online_date", day))
    if paper.arxiv_id:
        meta.append(("citation_arxiv_id", paper.arxiv_id))
        meta.append(("citation_technical_report_institution", "arXiv"))
        meta.append(("citation_technical_report_number", f"arXiv:{paper.arxiv_id}"))
    if paper.doi:
        meta.append(("citation_doi", paper.doi))
    if "pdf" in links:
        meta.append(("citation_pdf_url", links["pdf"]))
    if "abs" in links:
        meta.append(("citation_abstract_html_url", links["abs"]))
    if paper.categories:
        meta.append(("citation_keywords", "; ".join(paper.categories)))
    return meta


def cite_key(paper: StoredPaper) -> str:
    """'he2015deep': the first author's last name, the year and the first real title word,
    in ASCII (the convention of Google Scholar's keys)."""

    def ascii_word(text: str) -> str:
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return _NOT_KEY.sub("", folded.lower())

    last = ascii_word(paper.authors[0].split()[-1]) if paper.authors else ""
    words = [ascii_word(w) for w in paper.title.split()]
    first = next((w for w in words if w and w not in _STOPWORDS), "")
    return f"{last or 'paper'}{own_date(paper).year}{first}"


def _bib_value(text: str) -> str:
    """text as a braced BibTeX value: LaTeX specials escaped outside what is escaped already;
    unbalanced braces (which end a field early) dropped."""
    text = _LATEX_SPECIALS.sub(r"\\\1", " ".join(text.split()))
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        text = " ".join(text.replace("{", "").replace("}", "").split())
    return "{" + text + "}"


def bibtex(paper: StoredPaper, url: str) -> str:
    """One @misc entry (arXiv's own export uses @misc for preprints too); url: the paper's
    page here, used when nothing better is known."""
    links = paper_links(paper)
    moment = own_date(paper)
    fields: list[tuple[str, str]] = [("title", paper.title)]
    if paper.authors:
        fields.append(("author", " and ".join(paper.authors)))
    fields += [("year", str(moment.year)), ("month", str(moment.month))]
    fields.append(("date", moment.date().isoformat()))
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
        if paper.categories:
            fields.append(("primaryClass", paper.categories[0]))
    if paper.doi:
        fields.append(("doi", paper.doi))
    fields.append(("url", links.get("abs") or links.get("doi") or links.get("source") or url))
    if paper.abstract:
        fields.append(("abstract", paper.abstract))
    body = ",\n".join(f"  {name} = {_bib_value(value)}" for name, value in fields)
    return f"@misc{{{cite_key(paper)},\n{body}\n}}\n"


def ris(paper: StoredPaper, url: str) -> str:
    """The same as RIS (EndNote, Zotero, Mendeley): one tag a line, the record ends with ER."""
    links = paper_links(paper)
    moment = own_date(paper)
    lines = [("TY", "GEN" if paper.arxiv_id else "JOUR"), ("TI", paper.title)]
    lines += [("AU", name) for name in paper.authors]
    lines += [("PY", str(moment.year)), ("DA", moment.strftime("%Y/%m/%d"))]
    if paper.abstract:
        lines.append(("AB", paper.abstract))
    if paper.doi:
        lines.append(("DO", paper.doi))
    if paper.arxiv_id:
        lines.append(("AN", f"arXiv:{paper.arxiv_id}"))
    lines.append(("UR", links.get("abs") or links.get("doi") or links.get("source") or url))
    if "pdf" in links:
        lines.append(("L1", links["pdf"]))
    lines += [("KW", category) for category in paper.categories]
    lines.append(("ER", ""))
    return "".join(f"{tag}  - {' '.join(value.split())}\r\n" for tag, value in lines)
