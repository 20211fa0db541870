"""arXiv API Atom (export.arxiv.org/api/query) and rss.arxiv.org RSS listings."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from parsing.errors import ParseResult
from parsing.feed import paper_from_entry, read_feed
from parsing.model import Paper
from parsing.text import plain_text

_RSS_ABSTRACT = re.compile(r"Abstract:\s*(.*)", re.DOTALL)


def parse_api(body: bytes) -> ParseResult:
    """Read arXiv API query results: entry ids carry the version, which identity drops."""
    return _arxiv_entries(body, paper_from_entry)


def parse_rss(body: bytes) -> ParseResult:
    """Read an rss.arxiv.org listing; 'replace' announcements update a known paper."""

    def rss_paper(entry: Any) -> Paper:
        description = plain_text(entry.get("summary"))
        match = _RSS_ABSTRACT.search(description)
        paper = paper_from_entry(entry, abstract=match.group(1) if match else description)
        if str(entry.get("arxiv_announce_type", "")).startswith("replace"):
            paper = replace(paper, supersedes=True)
        return paper

    return _arxiv_entries(body, rss_paper)


def _arxiv_entries(body: bytes, to_paper: Callable[[Any], Paper]) -> ParseResult:
    """Every entry with an arXiv id; the API reports its errors as entries without one."""
    result = ParseResult()
    for index, entry in enumerate(read_feed(body).entries):
        try:
            paper = to_paper(entry)
        except ValueError as error:
            result.skip(f"entry {index}", str(error))
            continue
        if not paper.arxiv_id:
            result.skip(f"entry {index}", f"no arXiv id in {entry.get('id')!r}")
            continue
        result.papers.append(paper)
    return result
