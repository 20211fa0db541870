"""What a parser returns besides papers, and the one error a parser may raise."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from parsing.model import Paper

log = logging.getLogger("paperfeed.parsing")


class ParseError(ValueError):
    """The body as a whole cannot be read (not a record: the whole listing)."""


@dataclass
class ParseResult:
    """Papers read from one body, and the records that were skipped with the reason."""

    papers: list[Paper] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def skip(self, where: str, reason: str) -> None:
        message = f"{where}: {reason}"
        self.skipped.append(message)
        log.warning("skipped record %s", message)
