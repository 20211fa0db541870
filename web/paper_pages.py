"""A page per paper (/papers/<arXiv id, DOI or GUID>), with the Highwire citation_* meta tags
reference managers import, and the paper as BibTeX (.bib) and RIS (.ris); and the styled
"not found" page every unknown topic, paper or page answers with."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from flask import Blueprint, Response, abort, render_template, request, url_for
from werkzeug.exceptions import NotFound

from feeds.cite import bibtex, citation_meta, ris
from feeds.items import LINK_LABELS, item_link, paper_links
from feeds.math import readable
from feeds.render import FORMATS
from topics.query import format_matches
from web.errors import Unknown, unknown
from web.feed_routes import absolute
from web.pages import paper_ref, rendered
from web.service import service

papers = Blueprint("papers", __name__)

# The exports a paper has, by the suffix of its URL.
EXPORTS = {
    ".bib": ("application/x-bibtex; charset=utf-8", bibtex),
    ".ris": ("application/x-research-info-systems; charset=utf-8", ris),
}


def paper_url(ref: str) -> str:
    """The page of a paper here, by its arXiv id, DOI or GUID (what cards and items link)."""
    return url_for("papers.paper_page", ref=ref)


@papers.route("/papers/<path:ref>")
@rendered
def paper_page(ref: str) -> Response | str:
    export = next((suffix for suffix in EXPORTS if ref.endswith(suffix)), None)
    wanted = ref[: -len(export)] if export else ref
    if not paper_ref(wanted):
        abort(Response("a paper is named by its arXiv id, DOI or GUID", status=400))
    svc = service()
    paper = svc.store.find_paper(wanted)
    if paper is None or paper.id is None:
        unknown(f"No paper {wanted!r} is stored here.", search=wanted)
    name = paper.arxiv_id or paper.doi or paper.guid
    page = absolute("papers.paper_page", ref=name)
    if export:
        content_type, write = EXPORTS[export]
        filename = "".join(c if c.isalnum() else "-" for c in name)[:80] + export
        return Response(
            write(paper, page),
            content_type=content_type,
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )
    topics = [
        {
            "name": topic,
            "title": svc.config.topics[topic].title,
            "matched": format_matches(list(matched)),
            "since": since,
            "why_url": url_for("pages.why", topic=topic, paper=paper.guid),
        }
        for topic, matched, since in svc.store.paper_topics(paper.id)
        if topic in svc.config.topics
    ]
    links = paper_links(paper)
    if not links:  # known by its title only: where to look for it
        links = {"source": item_link(paper, links)}
    return render_template(
        "paper.html",
        paper=paper,
        title=readable(paper.title),
        name=name,
        canonical=page,
        meta=citation_meta(paper),
        links=[(LINK_LABELS[kind], url) for kind, url in links.items()],
        versions=getattr(paper, "versions", None) or [],
        topics=topics,
        bib_url=url_for("papers.paper_page", ref=name + ".bib"),
        ris_url=url_for("papers.paper_page", ref=name + ".ris"),
    )


@papers.app_errorhandler(404)
def not_found(error: NotFound) -> tuple[str, int]:
    """Every 404 as a page that says what is unknown and offers the way back."""
    svc = service()
    what = error.description if isinstance(error, Unknown) else None
    offers = error.offers if isinstance(error, Unknown) else {}
    topics = [(name, topic.title) for name, topic in svc.config.topics.items()]
    page = render_template(
        "not_found.html",
        what=what or f"Nothing is at {request.path}.",
        offers=offers,
        meant=_meant(request.path, svc.config.topics),
        topics=topics,
    )
    return page, 404


def _meant(path: str, names: Iterable[str]) -> str | None:
    """The topic page or feed a mistyped URL most likely meant (a letter or two off, another
    case, a trailing slash, no or an upper-case format): what the CLI's 'did you mean' says."""
    found = re.fullmatch(r"/(topics|feeds)/([^/.]+)(?:\.(\w+))?/?", path)
    if not found:
        return None
    kind, name, fmt = found.groups()
    by_folded = {known.lower(): known for known in names}
    close = difflib.get_close_matches(name.lower(), list(by_folded), n=1, cutoff=0.75)
    if not close:
        return None
    topic = by_folded[close[0]]
    if kind == "topics":
        meant = url_for("pages.topic_page", name=topic)
    else:
        fmt = (fmt or "rss").lower()
        meant = url_for("feeds.feed", name=topic, fmt=fmt if fmt in FORMATS else "rss")
    return meant if meant != path else None
