"""Hugging Face /api/daily_papers JSON: a list of {paper: {...}, title, summary, ...}."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from parsing.errors import ParseError, ParseResult
from parsing.model import arxiv_id_from, make_paper


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
        try:
            result.papers.append(_paper(item))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            result.skip(f"entry {index}", str(error) or type(error).__name__)
    return result


def _paper(item: dict[str, Any]) -> Any:
    if not isinstance(item, dict):
        raise ValueError("entry is not an object")
    paper = item.get("paper") or {}
    if not isinstance(paper, dict):
        raise ValueError("'paper' is not an object")
    arxiv_id = arxiv_id_from(str(paper.get("id") or ""))
    if not arxiv_id:
        raise ValueError(f"no arXiv id in paper.id {paper.get('id')!r}")
    authors = [
        a.get("name") or ""
        for a in paper.get("authors") or []
        if isinstance(a, dict) and not a.get("hidden") and isinstance(a.get("name"), str)
    ]
    return make_paper(
        title=_text(paper.get("title") or item.get("title")),
        abstract=_text(paper.get("summary") or item.get("summary")),
        arxiv_id=arxiv_id,
        authors=authors,
        url=f"https://huggingface.co/papers/{arxiv_id}",
        published=_timestamp(item.get("publishedAt") or paper.get("submittedOnDailyAt")),
        upvotes=paper.get("upvotes"),
        comments=item.get("numComments"),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
