"""A source's health beyond ok / failing, judged from what one refresh read of it.

- suspect: a body read as nothing useful: of another kind than the source's (its parser says
  so in ParseResult.suspect), or every record in it refused. A quiet day, an empty listing,
  is not suspect.
- stale: a listing that should move has served the same batch (the same paper identities)
  past its cadence. arXiv announces Sunday to Thursday at 20:00 New York time; Hugging Face
  daily papers start a new day every weekday; a source's `stale_hours` overrides its kind.
  Local files, plain feeds and arXiv API searches have no cadence of their own.

Pure: the source, what parsing gave, the previous state and the clock in; the values to
record out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from parsing import ParseResult
from refresh.redact import redact_text
from settings import SourceConfig
from store import SourceState

SUSPECT, STALE = "suspect", "stale"
MAX_REASON = 1000


@dataclass(frozen=True)
class Health:
    state: str | None = None  # None (healthy), SUSPECT or STALE
    reason: str | None = None
    digest: str | None = None  # of the identities in the last batch read
    since: datetime | None = None  # when that batch was first read

    def values(self) -> dict[str, object]:
        """The columns of the sources table that record it."""
        return {
            "health": self.state,
            "health_reason": self.reason,
            "batch_digest": self.digest,
            "batch_since": self.since,
        }


@dataclass(frozen=True)
class Announcements:
    """A listing that moves at one hour of some weekdays, in one time zone."""

    zone: ZoneInfo
    weekdays: frozenset[int]  # date.weekday(): Monday is 0
    hour: int
    grace: timedelta  # how late after its hour a new batch may still show up
    describe: str

    def next_after(self, moment: datetime) -> datetime:
        local = moment.astimezone(self.zone)
        for ahead in range(8):
            day = local.date() + timedelta(days=ahead)
            at = datetime.combine(day, time(self.hour), tzinfo=self.zone)
            if day.weekday() in self.weekdays and at > local:
                return at.astimezone(UTC)
        raise ValueError(f"{self.describe}: no weekday to announce on")

    def due(self, since: datetime, interval: timedelta) -> datetime:
        """When a batch first read at since should have been replaced: at the next
        announcement, its grace, and one refresh interval later (the source is read no
        oftener than that)."""
        return self.next_after(since) + self.grace + interval


@dataclass(frozen=True)
class Hours:
    """A source's own stale_hours: the same batch for longer is stale."""

    hours: float

    @property
    def describe(self) -> str:
        return f"stale_hours = {self.hours:g}"

    def due(self, since: datetime, interval: timedelta) -> datetime:
        return since + timedelta(hours=self.hours)


Cadence = Announcements | Hours

# The RSS listing is rebuilt by midnight New York time, 4 hours after the announcement.
ARXIV = Announcements(
    ZoneInfo("America/New_York"),
    frozenset({6, 0, 1, 2, 3}),
    20,
    timedelta(hours=6),
    "arXiv announces Sunday to Thursday at 20:00 New York time",
)
HUGGING_FACE = Announcements(
    ZoneInfo("UTC"),
    frozenset({0, 1, 2, 3, 4}),
    0,
    timedelta(hours=12),
    "Hugging Face daily papers start a new day every weekday (UTC)",
)


def cadence(source: SourceConfig) -> Cadence | None:
    """How often the source's listing should move: its stale_hours (0: never stale), else
    its kind's when it is read from a URL; None: it may stay the same for ever."""
    if source.stale_hours is not None:
        return Hours(source.stale_hours) if source.stale_hours else None
    if source.path:
        return None  # a local file moves when someone writes it
    if source.kind == "arxiv-rss" or (source.kind == "arxiv-api" and _newest_first(source.url)):
        return ARXIV
    if source.kind in ("hf-api", "hf-page"):
        return HUGGING_FACE
    return None


def _newest_first(url: str | None) -> bool:
    """An arXiv API query for the newest submissions moves with the announcements; a search
    by relevance or a list of ids does not."""
    query = parse_qs(urlsplit(url or "").query)
    return (
        query.get("sortBy", [""])[0] in ("submittedDate", "lastUpdatedDate")
        and query.get("sortOrder", ["descending"])[0] != "ascending"
    )


def batch_digest(identities: Sequence[str]) -> str:
    """One digest of a batch: its papers' identities, in any order."""
    return hashlib.sha256("\n".join(sorted(set(identities))).encode("utf-8")).hexdigest()


def judge(
    source: SourceConfig,
    bodies: Sequence[ParseResult],
    previous: SourceState,
    now: datetime,
    interval: timedelta,
) -> Health:
    """The source's health after a refresh that read bodies (none: every location answered
    304 Not Modified, the same batch as before)."""
    suspicions = list(dict.fromkeys(body.suspect for body in bodies if body.suspect))
    if suspicions:
        # A suspect body says nothing of the batch: the one before it is kept.
        reason = redact_text("; ".join(suspicions))[:MAX_REASON]
        return Health(SUSPECT, reason, previous.batch_digest, previous.batch_since)
    digest, since = previous.batch_digest, previous.batch_since
    if bodies:
        identities = [identity for body in bodies for identity in body.identities()]
        if not identities:
            return Health()  # a quiet day: nothing is served again
        current = batch_digest(identities)
        if current != digest or since is None:
            digest, since = current, now
    rule = cadence(source)
    if rule is None or since is None or now <= rule.due(since, interval):
        return Health(None, None, digest, since)
    reason = (
        f"the same batch since {_when(since)}; a new one was due by "
        f"{_when(rule.due(since, interval))} ({rule.describe})"
    )
    return Health(STALE, reason, digest, since)


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
