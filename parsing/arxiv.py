"""arXiv API Atom (export.arxiv.org/api/query) and rss.arxiv.org RSS listings."""

from __future__ import annotations

import re
from dataclasses import replace

from parsing.errors import ParseError, ParseResult
from parsing.feed import _plain, paper_from_entry, read_feed

_RSS_ABSTRACT = re.compile(r"Abstract:\s*(.*)", re.DOTALL)


def parse_api(body: bytes) -> ParseResult:
    """Read arXiv API query results: entry ids carry the version, which identity drops."""
    parsed = read_feed(body)
    result = ParseResult()
    for index, entry in enumerate(parsed.entries):
        try:
            paper = paper_from_entry(entry)
        except ValueError as error:
            result.skip(f"entry {index}", str(error))
            continue
        if not paper.arxiv_id:
            # The API reports errors as an entry whose id is .../api/errors#...
            result.skip(f"entry {index}", f"no arXiv id in {entry.get('id')!r}")
            continue
        result.papers.append(paper)
    if not result.papers and not parsed.entries and parsed.bozo:
        raise ParseError(str(parsed.get("bozo_exception")))
    return result


def parse_rss(body: bytes) -> ParseResult:
    """Read an rss.arxiv.org listing; 'replace' announcements update a known paper."""
    parsed = read_feed(body)
    result = ParseResult()
    for index, entry in enumerate(parsed.entries):
        description = _plain(entry.get("summary"))
        match = _RSS_ABSTRACT.search(description)
        abstract = match.group(1) if match else description
        try:
            paper = paper_from_entry(entry, abstract=abstract)
        except ValueError as error:
            result.skip(f"entry {index}", str(error))
            continue
        if not paper.arxiv_id:
            result.skip(f"entry {index}", f"no arXiv id in guid {entry.get('id')!r}")
            continue
        if str(entry.get("arxiv_announce_type", "")).startswith("replace"):
            paper = replace(paper, supersedes=True)
        result.papers.append(paper)
    return result
