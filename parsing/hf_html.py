"""The https://huggingface.co/papers HTML page.

The page is rendered client side from JSON kept in the data-props attribute of
div[data-target="DailyPapers"]; reading that JSON is sturdier than scraping the cards.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

from parsing import hf_api
from parsing.errors import ParseError, ParseResult


class _PropsFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.props: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.props is not None:
            return
        values = dict(attrs)
        if values.get("data-target") == "DailyPapers" and values.get("data-props"):
            self.props = values["data-props"]


def parse(body: bytes) -> ParseResult:
    """Read the DailyPapers props JSON from the page."""
    finder = _PropsFinder()
    finder.feed(body.decode("utf-8", errors="replace"))
    finder.close()
    if finder.props is None:
        raise ParseError('no div[data-target="DailyPapers"] with data-props in the page')
    try:
        props = json.loads(finder.props)
    except json.JSONDecodeError as error:
        raise ParseError(f"data-props is not JSON: {error}") from None
    papers = props.get("dailyPapers") if isinstance(props, dict) else None
    if not isinstance(papers, list):
        raise ParseError("data-props has no dailyPapers list")
    return hf_api.papers_from_items(papers)
