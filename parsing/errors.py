"""What a parser returns besides papers, and the one error a parser may raise."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from parsing.model import Paper, make_paper

log = logging.getLogger("paperfeed.parsing")


class ParseError(ValueError):
    """The body as a whole cannot be read (not a record: the whole listing), or the upstream
    answered with an error instead of a listing."""


@dataclass
class ParseResult:
    """Papers read from one body; the records skipped and the fields dropped, with reasons;
    and, when the body is not what its kind reads, why it is suspect."""

    papers: list[Paper] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    # A body of another kind (JSON given to the text reader, an RSS feed to the arXiv API
    # reader), or one whose every record was refused. Not a ParseError: nothing says the
    # upstream failed, but the source is not giving what it should (refresh.health).
    suspect: str | None = None
    # False for a streamed read (parsing.read): its papers go to the store as they are read
    # and only their identities are kept here; `read` counts them either way.
    keep: bool = True
    read: int = 0
    streamed: list[str] = field(default_factory=list)

    def identities(self) -> list[str]:
        """The identities of the papers read, kept or streamed (refresh.health digests them)."""
        return [paper.identity for paper in self.papers] if self.keep else self.streamed

    @classmethod
    def other_kind(cls, what: str) -> ParseResult:
        """Nothing read from a body of another kind: what its records would give is misread
        (an RSS abstract read as an API summary keeps its "Announce Type" header)."""
        log.warning("suspect body: %s", what)
        return cls(suspect=what)

    def skip(self, where: str, reason: str) -> None:
        message = f"{where}: {reason}"
        self.skipped.append(message)
        log.warning("skipped record %s", message)

    def add(self, where: str, **fields: Any) -> Paper | None:
        """make_paper(**fields) into the result: a record without a title is skipped, a field
        the store could not hold is dropped; both are logged and counted."""
        notes: list[str] = []
        try:
            paper = make_paper(**fields, dropped=notes)
        except ValueError as error:
            self.skip(where, str(error))
            return None
        for note in notes:
            message = f"{where}: {note}"
            self.dropped.append(message)
            log.warning("dropped field %s", message)
        self.read += 1
        if self.keep:
            self.papers.append(paper)
        else:
            self.streamed.append(paper.identity)
        return paper
