"""One refresh, top to bottom: lease -> fetch -> parse -> upsert + match -> new generation."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import parsing
from refresh.fetch import Fetcher, FetchError
from refresh.health import judge
from refresh.locations import locations
from refresh.redact import redact_text, redact_url
from settings import Config, SourceConfig
from store import LeaseLost, Matches, Store, StoredPaper, StoreError, UpsertResult
from topics import search
from topics.analysis import Document
from topics.matcher import TopicMatcher

log = logging.getLogger("paperfeed.refresh")

LEASE = "refresh"
T = TypeVar("T")


@dataclass
class SourceOutcome:
    name: str
    status: str  # ok | not_modified | error | not_due
    papers: int = 0
    new: int = 0
    changed: int = 0
    skipped: int = 0
    dropped: int = 0  # fields left out of records (out of range, not a link, ...)
    error: str | None = None
    seconds: float = 0.0
    health: str | None = None  # suspect | stale (refresh.health), None when healthy
    health_reason: str | None = None


@dataclass
class RefreshReport:
    ran: bool
    holder: str | None = None
    sources: list[SourceOutcome] = field(default_factory=list)
    memberships_changed: int = 0
    generation: int | None = None
    lease_lost: bool = False  # stopped because another process took the lease over

    @property
    def new(self) -> int:
        return sum(s.new for s in self.sources)


def make_fetcher(config: Config) -> Fetcher:
    return Fetcher(
        user_agent=config.user_agent,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        deadline=config.fetch_deadline,
        max_bytes=config.max_body_bytes,
        retries=config.retries,
        backoff=config.backoff_seconds,
        arxiv_interval=config.arxiv_interval,
    )


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _LeaseKeeper:
    """Renew the lease in the background while a refresh runs, so a slow fetch keeps it;
    notice when it could not, so the refresh stops before its next write."""

    def __init__(self, store: Store, holder: str, ttl: timedelta) -> None:
        self.store, self.holder, self.ttl = store, holder, ttl
        self._renewed_at = time.monotonic()  # the lease was just taken
        self._refused = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    @property
    def lost(self) -> bool:
        """Taken over, or not renewed for a whole lease time (e.g. this process was paused)."""
        return self._refused or time.monotonic() - self._renewed_at >= self.ttl.total_seconds()

    def check(self) -> None:
        """Raise LeaseLost unless the lease is still ours. A renewal that looks late (this
        process was paused, or a long write of its own held the lease row) is asked of the
        database once more: only a lease taken over is lost."""
        if self.lost and not self._refused:
            if self.store.renew_lease(LEASE, self.holder, self.ttl):
                self._renewed_at = time.monotonic()
            else:
                self._refused = True
        if self.lost:
            raise LeaseLost(f"{self.holder} could not renew the {LEASE} lease: stopping")

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.ttl.total_seconds() / 3):
            try:
                if self.store.renew_lease(LEASE, self.holder, self.ttl):
                    # When it succeeded, not when it was sent: it may have waited on a long
                    # write transaction of this refresh that holds the lease row.
                    self._renewed_at = time.monotonic()
                else:
                    self._refused = True
                    log.warning("refresh lease taken over from %s", self.holder)
                    return
            except Exception:  # the database may be restarting: try again next beat
                log.exception("could not renew the refresh lease")


Progress = Callable[[str], None]
# (task, done, total): long steps report how far they are; the CLI draws it as a bar.
Steps = Callable[[str, int, int], None]


def counted(items: Iterable[T], task: str, steps: Steps, total: int | None = None) -> Iterator[T]:
    """Yield items, reporting each one done to steps (total: len(items) unless given)."""
    total = len(items) if total is None else total  # type: ignore[arg-type]
    steps(task, 0, total)
    for done, item in enumerate(items, start=1):
        yield item
        steps(task, done, total)


class Refresher:
    """Runs refreshes for one config against one store."""

    def __init__(
        self,
        config: Config,
        store: Store,
        fetcher: Fetcher | None = None,
        *,
        holder: str | None = None,
        progress: Progress | None = None,
        steps: Steps | None = None,
        on_outcome: Callable[[SourceOutcome], None] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.fetcher = fetcher or make_fetcher(config)
        self.holder = holder or new_holder()
        self.progress = progress or (lambda message: None)
        self.steps = steps or (lambda task, done, total: None)
        self.on_outcome = on_outcome or (lambda outcome: None)
        self.matcher = TopicMatcher({n: t.query for n, t in config.topics.items()})
        self._running = threading.Lock()
        # When this process's last refresh failed as a whole (the database), and why.
        self.last_failure: tuple[datetime, str] | None = None

    @property
    def busy(self) -> bool:
        """Is this process running a refresh right now?"""
        return self._running.locked()

    @property
    def lease_ttl(self) -> timedelta:
        return timedelta(seconds=self.config.lease_seconds)

    def run(self, *, force: bool = False, only: list[str] | None = None) -> RefreshReport:
        """Refresh every due source (every source when force) if this process gets the lease."""
        if not self._running.acquire(blocking=False):
            return RefreshReport(ran=False, holder=self.holder)
        try:
            report = self._run_leased(force, only)
        except Exception as error:  # the database failed: /status of this process says so
            first_line = f"{type(error).__name__}: {error}".splitlines()[0]
            self.last_failure = (datetime.now(UTC), redact_text(first_line)[:500])
            raise
        finally:
            self._running.release()
        if report.ran:
            self.last_failure = None
        return report

    def _run_leased(self, force: bool, only: list[str] | None) -> RefreshReport:
        if not self.store.acquire_lease(LEASE, self.holder, self.lease_ttl):
            held = self.store.lease_holder(LEASE)
            log.info("refresh skipped: lease held by %s", held[0] if held else "another process")
            return RefreshReport(ran=False, holder=held[0] if held else None)
        try:
            with (
                _LeaseKeeper(self.store, self.holder, self.lease_ttl) as keeper,
                self.store.fenced(LEASE, self.holder),
            ):
                return self._run_with_lease(keeper, force, only)
        except LeaseLost as lost:
            # Another process holds the lease now: what this one wrote so far is committed
            # source by source; the rest is the new holder's job.
            log.warning("refresh stopped: %s", lost)
            return RefreshReport(ran=True, holder=self.holder, lease_lost=True)
        finally:
            self.store.release_lease(LEASE, self.holder)

    def _run_with_lease(
        self, keeper: _LeaseKeeper, force: bool, only: list[str] | None
    ) -> RefreshReport:
        started = datetime.now(UTC)
        report = RefreshReport(ran=True, holder=self.holder)
        # Before topics are matched again: a paper the index cannot find is a paper lost.
        repaired = self.store.repair_index()
        if repaired:
            log.info("text index: %s papers an earlier release wrote indexed again", repaired)
        report.memberships_changed += self.sync_topics()
        if report.memberships_changed or repaired:
            report.generation = self.store.bump_generation()
        for source in self.config.sources:
            if not source.enabled or (only and source.name not in only):
                continue
            if not force and not self.is_due(source):
                report.sources.append(SourceOutcome(source.name, "not_due"))
                continue
            keeper.check()
            outcome, upserted = self.refresh_source_safely(source, before_write=keeper.check)
            report.sources.append(outcome)
            report.memberships_changed += upserted.memberships_changed
            # Publish each source's papers at once: a slow source must not hold back the rest.
            if upserted.touched or upserted.memberships_changed:
                report.generation = self.store.bump_generation()
                log.info("store generation %s after %s", report.generation, source.name)
        tried = [s for s in report.sources if s.status != "not_due"]
        if tried:
            self.store.record_run(self.holder, started, len(tried), report.new)
        return report

    def is_due(self, source: SourceConfig) -> bool:
        state = self.store.source_state(source.name)
        if state.last_attempt is None:
            return True
        minutes = source.every_minutes or self.config.refresh_minutes
        # A tick that comes a little early still counts: the interval is not a stopwatch.
        return datetime.now(UTC) >= state.last_attempt + timedelta(minutes=minutes * 0.9)

    def refresh_source_safely(
        self, source: SourceConfig, before_write: Callable[[], None] = lambda: None
    ) -> tuple[SourceOutcome, UpsertResult]:
        """refresh_source, with any unexpected error costing this source only: it is
        recorded (when the database lets us) and shown in /status and /metrics. A lost
        lease is not such an error: it stops the whole refresh, writing nothing more."""
        try:
            return self.refresh_source(source, before_write)
        except LeaseLost:
            raise
        except Exception as error:
            log.exception("source %s: refresh failed", source.name)
            now = datetime.now(UTC)
            outcome = SourceOutcome(
                source.name, "error", error=f"internal error: {type(error).__name__}: {error}"
            )
            try:
                self.store.save_source(
                    source.name, {}, last_attempt=now, last_error=outcome.error, last_error_at=now
                )
            except Exception:  # the database itself is failing: the log and metrics tell
                log.exception("source %s: could not record the error", source.name)
            self.on_outcome(outcome)
            return outcome, UpsertResult()

    def refresh_source(
        self, source: SourceConfig, before_write: Callable[[], None] = lambda: None
    ) -> tuple[SourceOutcome, UpsertResult]:
        """Fetch, parse and store one source; a failure to read a location is recorded, never
        raised (before_write may raise to stop before anything is written)."""
        started = time.monotonic()
        now = datetime.now(UTC)
        validators = self.store.validators(source.name)
        fresh: dict[str, tuple[str | None, str | None]] = {}
        outcome = SourceOutcome(source.name, "not_modified")
        papers: list[parsing.Paper] = []
        bodies: list[parsing.ParseResult] = []
        errors: list[str] = []
        fetched_any = False
        for location in locations(source):
            etag, last_modified = validators.get(location, (None, None))
            self.progress(f"{source.name}: reading {redact_url(location)}")
            try:
                fetched = self.fetcher.fetch(location, etag=etag, last_modified=last_modified)
                if fetched.not_modified:
                    continue
                result = parsing.parse(source.kind, fetched.body)
            except (FetchError, parsing.ParseError) as error:
                errors.append(str(error))
                log.warning("source %s: %s", source.name, error)
                continue
            except Exception as error:  # a bug must not stop the other sources
                errors.append(f"internal error: {type(error).__name__}: {redact_text(str(error))}")
                log.exception(
                    "source %s: unexpected error reading %s", source.name, redact_url(location)
                )
                continue
            fetched_any = True
            bodies.append(result)
            papers.extend(result.papers)
            outcome.skipped += len(result.skipped)
            outcome.dropped += len(result.dropped)
            if result.suspect is None:  # a suspect body is read and judged again next time
                fresh[location] = (fetched.etag, fetched.last_modified)
        before_write()  # fetching can take long: is the lease still ours?
        upserted, refused = self.store_papers(source.name, papers, now)
        outcome.skipped += refused
        outcome.papers, outcome.new, outcome.changed = (
            len(papers) - refused,
            len(upserted.new),
            len(upserted.changed),
        )
        outcome.seconds = time.monotonic() - started
        values: dict[str, object] = {"last_attempt": now}
        if errors:
            # Stored and shown on / and /status: no credentials or query strings of URLs.
            outcome.status, outcome.error = "error", redact_text("; ".join(errors))[:2000]
            values.update(last_error=outcome.error, last_error_at=now)
        else:
            outcome.status = "ok" if fetched_any else "not_modified"
            values.update(last_success=now)
        if fetched_any:
            values.update(papers_seen=outcome.papers, skipped=outcome.skipped)
        if bodies or not errors:  # a source failing throughout says nothing of its listing
            every = timedelta(minutes=source.every_minutes or self.config.refresh_minutes)
            health = judge(source, bodies, self.store.source_state(source.name), now, every)
            outcome.health, outcome.health_reason = health.state, health.reason
            values.update(health.values())
        self.store.save_source(source.name, fresh, **values)
        self.progress(
            f"{source.name}: {outcome.status}, {outcome.papers} papers read, {outcome.new} new, "
            f"{outcome.changed} changed, {outcome.skipped} skipped, {outcome.dropped} fields "
            "dropped" + (f" ({outcome.error})" if outcome.error else "")
        )
        self.on_outcome(outcome)
        return outcome, upserted

    def store_papers(
        self, source: str, papers: list[parsing.Paper], now: datetime
    ) -> tuple[UpsertResult, int]:
        """Upsert a source's papers in one transaction; when the database refuses a record,
        store them one by one so that record is the only one lost. Returns the result and
        how many records were refused. A database that is down is an error of the source."""
        if not papers:
            return UpsertResult(), 0
        try:
            batch = counted(papers, f"{source}: storing papers", self.steps)
            return self.store.upsert(batch, source, now, match=self.match_stored), 0
        except (*StoreError, LeaseLost):
            raise
        except Exception:
            log.warning("source %s: the store refused the batch; storing one by one", source)
        total, refused = UpsertResult(), 0
        for index, paper in enumerate(papers):
            try:
                one = self.store.upsert([paper], source, now, match=self.match_stored)
            except (*StoreError, LeaseLost):
                raise
            except Exception as error:
                refused += 1
                if refused == len(papers):
                    raise  # not one record stored: a fault of ours, not of a record
                log.warning(
                    "source %s: record %d (%s) refused by the store: %s",
                    source,
                    index,
                    paper.identity[:120],
                    str(error).splitlines()[0][:300],
                )
                continue
            total.new += one.new
            total.changed += [i for i in one.changed if i not in total.changed]
            total.merged_away += one.merged_away
            total.unchanged += one.unchanged
            total.memberships_changed += one.memberships_changed
        return total, refused

    def match_stored(self, stored: list[StoredPaper]) -> Matches:
        """What topics each paper belongs to, and why."""
        if not self.matcher.queries:
            return {}
        return {
            p.id: self.matcher.match(Document.of_paper(p))
            for p in counted(stored, "matching against topics", self.steps)
            if p.id is not None
        }

    def sync_topics(self) -> int:
        """Re-match every paper for topics whose rule changed; drop topics no longer configured."""
        stored = self.store.topic_fingerprints()
        changed = {
            name: topic.query
            for name, topic in self.config.topics.items()
            if stored.get(name) != topic.query.fingerprint
        }
        rows = (
            self.store.drop_topics_except(self.config.topics)
            if set(stored) - set(self.config.topics)
            else 0
        )
        if not changed:
            return rows
        self.progress(f"matching the store against changed topics: {', '.join(sorted(changed))}")
        # Each topic is one search through the text index; progress counts topics.
        for name in counted(list(changed), "re-matching changed topics", self.steps):
            query = changed[name]
            with self.store.searching() as index:
                found = search.find(index, query)
            rows += self.store.set_topic(name, query.fingerprint, found)
        return rows
