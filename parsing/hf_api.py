"""Hugging Face /api/daily_papers JSON: a list of {paper: {...}, title, summary, ...}."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from parsing.errors import ParseError, ParseResult
from parsing.model import arxiv_id_from


def parse(body: bytes) -> ParseResult:
    """Read the daily_papers JSON list."""
    try:
        items = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ParseError(f"not JSON: {error}") from None
    if isinstance(items, dict) and isinstance(items.get("dailyPapers"), list):
        items = items["dailyPapers"]
    if not isinstance(items, list):
        raise ParseError("expected a JSON list of daily papers")
    return papers_from_items(items)


def papers_from_items(items: list[Any]) -> ParseResult:
    """Turn daily-paper entries (API or page props) into Papers, skipping bad entries."""
    result = ParseResult()
    for index, item in enumerate(items):
        where = f"entry {index}"
        try:
            fields = _fields(item)
        except ValueError as error:
            result.skip(where, str(error))
            continue
        result.add(where, **fields)
    return result


def _fields(item: object) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValueError("entry is not an object")
    paper = item.get("paper") or {}
    if not isinstance(paper, dict):
        raise ValueError("'paper' is not an object")
    arxiv_id = arxiv_id_from(str(paper.get("id") or ""))
    if not arxiv_id:
        raise ValueError(f"no arXiv id in paper.id {paper.get('id')!r}")
    authors = paper.get("authors")
    return {
        "title": _text(paper.get("title")) or _text(item.get("title")),
        "abstract": _text(paper.get("summary")) or _text(item.get("summary")),
        "arxiv_id": arxiv_id,
        # Every named author, "hidden" ones too: hidden only means no linked HF account.
        "authors": [
            a["name"]
            for a in (authors if isinstance(authors, list) else [])
            if isinstance(a, dict) and isinstance(a.get("name"), str)
        ],
        "url": f"https://huggingface.co/papers/{arxiv_id}",
        # paper.publishedAt is the arXiv date; the item-level publishedAt meant the listing
        # time in 2024 and changed meaning in 2025, so it is not the paper's date.
        "published": _timestamp(paper.get("publishedAt")),
        "upvotes": paper.get("upvotes"),
        "comments": item.get("numComments"),
        "links": [
            ("code", _text(paper.get("githubRepo"))),
            ("project", _text(paper.get("projectPage"))),
        ],
    }


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
