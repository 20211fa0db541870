"""One refresh, top to bottom: lease -> fetch -> parse -> upsert + match -> new generation."""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import migrations
import parsing
from refresh import oai
from refresh.fetch import Fetcher, FetchError
from refresh.health import judge
from refresh.locations import locations
from refresh.redact import redact_text, redact_url
from settings import Config, SourceConfig
from store import (
    Checkpoint,
    LeaseLost,
    Store,
    StoreError,
    UpsertResult,
    lock_timed_out,
)
from topics.membership import Topics
from topics.query import Query, QueryError

log = logging.getLogger("paperfeed.refresh")

LEASE = "refresh"
# Papers written in one transaction: a killed refresh keeps every batch it committed, and
# no transaction holds SQLite's write lock (or the lease row) for long.
WRITE_BATCH = 500
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


def first_line(error: BaseException) -> str:
    """What an error says, on one line, with no secret of a URL: for logs and /status."""
    return redact_text(f"{type(error).__name__}: {error}".splitlines()[0])[:500]


def died_here(holder: str) -> bool:
    """Is holder (new_holder's host:pid:nonce) a process of this machine that is gone?"""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, as another user's process
        return False
    return False


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
            except Exception as error:  # the database may be restarting: try again next beat
                if lock_timed_out(error):
                    # Another write held the lock past the busy timeout (most often this
                    # refresh's own batch): each fenced write renews the lease as it commits.
                    log.debug("lease renewal waited on a write: %s", error)
                    continue
                log.warning(
                    "could not renew the refresh lease now (%s); trying again in %.0f s",
                    first_line(error),
                    self.ttl.total_seconds() / 3,
                )


Progress = Callable[[str], None]
# (task, done, total): long steps report how far they are; the CLI draws it as a bar (a
# count when total is None: not known yet).
Steps = Callable[[str, int, int | None], None]


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
        # like: topics join once a refresh gives them profiles (bound_queries).
        self.topics = Topics({n: t.query for n, t in config.topics.items() if not t.query.likes()})
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

    def run(
        self, *, force: bool = False, only: list[str] | None = None, since: date | None = None
    ) -> RefreshReport:
        """Refresh every due source (every source when force) if this process gets the lease.
        since: an OAI-PMH source harvests what changed from that day on (a backfill)."""
        if not self._running.acquire(blocking=False):
            return RefreshReport(ran=False, holder=self.holder)
        try:
            if self.config.auto_migrate and not migrations.is_current(self.store.engine):
                # The database was down when the web process started, or came back empty.
                log.warning("the database schema is behind: migrating before refreshing")
                migrations.upgrade(self.store.engine)
            report = self._run_leased(force, only, since)
        except Exception as error:  # the database failed: /status of this process says so
            self.last_failure = (datetime.now(UTC), first_line(error))
            raise
        finally:
            self._running.release()
        if report.ran:
            self.last_failure = None
        return report

    def _run_leased(
        self, force: bool, only: list[str] | None, since: date | None = None
    ) -> RefreshReport:
        held = self._take_lease()
        if held is not None:
            log.info("refresh skipped: lease held by %s", held or "another process")
            return RefreshReport(ran=False, holder=held or None)
        try:
            with (
                _LeaseKeeper(self.store, self.holder, self.lease_ttl) as keeper,
                self.store.fenced(LEASE, self.holder, self.lease_ttl),
            ):
                return self._run_with_lease(keeper, force, only, since)
        except LeaseLost as lost:
            # Another process holds the lease now: what this one wrote so far is committed
            # source by source; the rest is the new holder's job.
            log.warning("refresh stopped: %s", lost)
            return RefreshReport(ran=True, holder=self.holder, lease_lost=True)
        finally:
            self.store.release_lease(LEASE, self.holder)

    def _take_lease(self) -> str | None:
        """None when this process holds the lease now; else who does ("" when unknown).

        A holder that died on this machine (killed, crashed) is taken over at once rather
        than after its lease runs out. Waiting on a lock to take it (another process is in a
        write transaction) means it is busy, not that the refresh failed."""
        try:
            if self.store.acquire_lease(LEASE, self.holder, self.lease_ttl):
                return None
            held = self.store.lease_holder(LEASE)
            dead = held[0] if held and died_here(held[0]) else None
            if dead and self.store.take_over_lease(LEASE, dead, self.holder, self.lease_ttl):
                log.warning("refresh lease taken over from %s, which died", dead)
                return None
        except StoreError as error:
            if not lock_timed_out(error):
                raise
            return ""
        return held[0] if held else ""

    def _run_with_lease(
        self, keeper: _LeaseKeeper, force: bool, only: list[str] | None, since: date | None = None
    ) -> RefreshReport:
        started = datetime.now(UTC)
        report = RefreshReport(ran=True, holder=self.holder)
        # Before topics are matched again: a paper the index cannot find is a paper lost.
        repaired = self.store.repair_index()
        if repaired:
            log.info("text index: %s papers an earlier release wrote indexed again", repaired)
        filled = self.store.fill_index(self.steps)  # a migration may have emptied the index
        if filled:
            log.info("text index: %s papers it lacked indexed", filled)
        self.topics = Topics(self.bound_queries())
        report.memberships_changed += self.sync_topics()
        if report.memberships_changed or repaired or filled:
            report.generation = self.store.bump_generation()
        for source in self.in_turn(self.config.sources):
            if not source.enabled or (only and source.name not in only):
                continue
            if not force and not self.is_due(source):
                report.sources.append(SourceOutcome(source.name, "not_due"))
                continue
            keeper.check()
            outcome, upserted = self.refresh_source_safely(source, keeper.check, since)
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

    def is_store_file(self, location: str) -> bool:
        """Is location the SQLite file of the store, or one of its companions?"""
        database = self.store.engine.url.database
        if not self.store.is_sqlite or not database or "://" in location:
            return False
        store_file = os.path.realpath(database)
        return os.path.realpath(location).startswith(store_file)

    def in_turn(self, sources: Iterable[SourceConfig]) -> list[SourceConfig]:
        """The sources, the one started longest ago first: a refresh that keeps being killed
        on one source still reaches the others."""
        states = self.store.source_states()
        never = datetime.min.replace(tzinfo=UTC)

        def started(source: SourceConfig) -> datetime:
            state = states.get(source.name)
            return (state.last_started if state else None) or never

        return sorted(sources, key=started)  # stable: config order among equals

    def is_due(self, source: SourceConfig) -> bool:
        state = self.store.source_state(source.name)
        if state.last_attempt is None:
            return True
        minutes = source.every_minutes or self.config.refresh_minutes
        # A tick that comes a little early still counts: the interval is not a stopwatch.
        return datetime.now(UTC) >= state.last_attempt + timedelta(minutes=minutes * 0.9)

    def refresh_source_safely(
        self,
        source: SourceConfig,
        before_write: Callable[[], None] = lambda: None,
        since: date | None = None,
    ) -> tuple[SourceOutcome, UpsertResult]:
        """refresh_source, with any unexpected error costing this source only: it is
        recorded (when the database lets us) and shown in /status and /metrics. A lost
        lease is not such an error: it stops the whole refresh, writing nothing more."""
        try:
            if source.kind == "oai":
                return self.harvest_source(source, before_write, since)
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
        """Fetch, parse and store one source, WRITE_BATCH papers a transaction; a failure to
        read a location is recorded, never raised (before_write may raise to stop before
        anything more is written).

        Each batch commits with how far it got through its location's body, so a refresh
        killed midway resumes after its last committed batch when the body is the same."""
        started = time.monotonic()
        started_at = datetime.now(UTC)  # when it was read: the due check's clock
        now = started_at.replace(microsecond=0)  # first_seen: whole seconds (order keys)
        self.store.save_source(source.name, last_started=started_at)  # the others go first
        validators = self.store.validators(source.name)
        fresh: dict[str, tuple[str | None, str | None]] = {}
        outcome = SourceOutcome(source.name, "not_modified")
        upserted = UpsertResult()
        bodies: list[parsing.ParseResult] = []
        errors: list[str] = []
        fetched_any = False
        for location in locations(source):
            if self.is_store_file(location):
                # Reading it would open and close the database file in this process, which
                # drops SQLite's locks on it (its WAL deleted under the other processes).
                errors.append(f"{location}: the store's own database file; not read")
                continue
            etag, last_modified = validators.get(location, (None, None))
            self.progress(f"{source.name}: reading {redact_url(location)}")
            try:
                fetched = self.fetcher.fetch(location, etag=etag, last_modified=last_modified)
            except FetchError as error:
                errors.append(str(error))
                log.warning("source %s: %s", source.name, error)
                continue
            except Exception as error:  # a bug must not stop the other sources
                errors.append(f"internal error: {type(error).__name__}: {redact_text(str(error))}")
                log.exception(
                    "source %s: unexpected error reading %s", source.name, redact_url(location)
                )
                continue
            if fetched.not_modified:
                continue
            result = parsing.ParseResult()
            with fetched:
                before_write()  # fetching can take long: is the lease still ours?
                # Papers go to the store as they are read: a listing of any size is held a
                # batch at a time (a body that is not what its kind reads stores nothing).
                papers = parsing.read(source.kind, fetched.open(), result)
                stored, refused, unreadable = self.store_location(
                    source.name, location, fetched.digest, papers, now, before_write
                )
            upserted.add(stored)  # batches committed before a ParseError count too
            if unreadable is not None:
                errors.append(str(unreadable))
                log.warning("source %s: %s", source.name, unreadable)
                continue
            fetched_any = True
            bodies.append(result)
            outcome.skipped += len(result.skipped)
            outcome.dropped += len(result.dropped)
            outcome.skipped += refused
            outcome.papers += result.read - refused
            if result.suspect is None:  # a suspect body is read and judged again next time
                fresh[location] = (fetched.etag, fetched.last_modified)
        outcome.new, outcome.changed = len(upserted.new), len(upserted.changed)
        outcome.seconds = time.monotonic() - started
        # Not the whole second: a due check against it would come up to a second early.
        values: dict[str, object] = {"last_attempt": started_at}
        if fetched_any:
            values.update(papers_seen=outcome.papers, skipped=outcome.skipped)
        outcome.status = "ok" if fetched_any else "not_modified"
        # Stored and shown on / and /status: no credentials or query strings of URLs.
        failed = redact_text("; ".join(errors))[:2000] if errors else None
        # A source failing throughout says nothing of its listing: its health stays.
        judged = bodies if bodies or not errors else None
        self._conclude(source, outcome, values, now, failed, judged, fresh)
        return outcome, upserted

    def harvest_source(
        self,
        source: SourceConfig,
        before_write: Callable[[], None] = lambda: None,
        since: date | None = None,
    ) -> tuple[SourceOutcome, UpsertResult]:
        """Harvest an OAI-PMH source page by page (refresh.oai). Each page's papers commit
        with where the harvest stands after them (the next page's token), and are published
        at once: a harvest killed at any moment resumes at the first page it had not stored,
        and a long backfill shows in the feeds as it goes."""
        started = time.monotonic()
        now = datetime.now(UTC)
        self.store.save_source(source.name, last_started=now)
        outcome, totals = SourceOutcome(source.name, "ok"), UpsertResult()
        start = oai.plan(source, self.store.harvest_state(source.name), since, now.date())
        where = f"from {start.harvest_from or 'the beginning'} ({start.request})"
        if start.token:
            where += f", resuming after the {start.done} records stored before"
        self.progress(f"{source.name}: harvesting {where}")
        task, suspect, error = f"{source.name}: harvesting records", None, None
        try:
            for page, after in oai.pages(self.fetcher, source, start, now):
                if page.result.suspect is not None:
                    suspect = page.result.suspect  # nothing of it read, nothing kept
                    break
                outcome.skipped += len(page.result.skipped)
                outcome.dropped += len(page.result.dropped)
                before_write()
                checkpoint = Checkpoint(source.url or "", "", after.done, harvest=after)
                papers = oai.in_categories(page.result.papers, source.categories)
                stored, refused = self.store_papers(source.name, papers, now, checkpoint)
                if not papers:
                    self.store.save_checkpoint(source.name, checkpoint)
                outcome.papers += len(papers) - refused
                outcome.skipped += refused
                outcome.new += len(stored.new)
                outcome.changed += len(stored.changed)
                totals.memberships_changed += stored.memberships_changed
                if stored.touched or stored.memberships_changed:
                    self.store.bump_generation()
                self.steps(task, after.done, max(after.total or 0, after.done))
        except (FetchError, parsing.ParseError) as failure:
            error = redact_text(str(failure))[:2000]
            log.warning("source %s: %s", source.name, error)
        outcome.seconds = time.monotonic() - started
        values: dict[str, object] = {"last_attempt": now, "papers_seen": outcome.papers}
        values["skipped"] = outcome.skipped
        bodies = [parsing.ParseResult(suspect=suspect)]
        self._conclude(source, outcome, values, now, error, bodies, None)
        return outcome, totals

    def _conclude(
        self,
        source: SourceConfig,
        outcome: SourceOutcome,
        values: dict[str, Any],
        now: datetime,
        error: str | None,
        bodies: list[parsing.ParseResult] | None,
        fresh: dict[str, tuple[str | None, str | None]] | None,
    ) -> None:
        """What the end of a source's read records, for a listing or a harvest alike: its
        error or its success, its health judged on the bodies read (None: not judged), all
        saved with the validators of the fresh locations, then reported."""
        if error:
            outcome.status, outcome.error = "error", error
            values.update(last_error=error, last_error_at=now)
        else:
            values.update(last_success=now)
        if bodies is not None:
            every = timedelta(minutes=source.every_minutes or self.config.refresh_minutes)
            health = judge(source, bodies, self.store.source_state(source.name), now, every)
            outcome.health, outcome.health_reason = health.state, health.reason
            values.update(health.values())
        self.store.save_source(source.name, fresh, **values)
        self.progress(_summary(outcome))
        self.on_outcome(outcome)

    def store_location(
        self,
        source: str,
        location: str,
        digest: str,
        papers: Iterator[parsing.Paper],
        now: datetime,
        before_write: Callable[[], None],
    ) -> tuple[UpsertResult, int, parsing.ParseError | None]:
        """Store one location's papers, as they are read, in batches of WRITE_BATCH, each
        committed with how far it got; start after what a killed refresh committed of this
        same body (the same body gives the same papers in the same order). Returns what was
        stored, how many records the store refused, and the ParseError that ended the
        reading, if one did (the batches before it stay stored)."""
        done = self.store.checkpoint(source, location, digest)
        if done:
            self.progress(f"{source}: resuming after the {done} papers stored before")
        total, refused, end = UpsertResult(), 0, done
        task = f"{source}: storing papers"
        remaining = itertools.islice(papers, done, None)
        self.steps(task, done, None)  # how many the listing holds is known at its end
        try:
            while batch := list(itertools.islice(remaining, WRITE_BATCH)):
                end += len(batch)
                before_write()
                checkpoint = Checkpoint(location, digest, end)
                stored, lost = self.store_papers(source, batch, now, checkpoint)
                total.add(stored)
                refused += lost
                self.steps(task, end, None)
        except parsing.ParseError as error:
            return total, refused, error
        self.steps(task, end, end)
        return total, refused, None

    def store_papers(
        self,
        source: str,
        papers: list[parsing.Paper],
        now: datetime,
        checkpoint: Checkpoint | None = None,
    ) -> tuple[UpsertResult, int]:
        """Upsert papers in one transaction (with the checkpoint, when given); when the database
        refuses a record, store them one by one so that record is the only one lost.
        Returns the result and how many records were refused. A database that is down is
        an error of the source."""
        if not papers:
            return UpsertResult(), 0
        try:
            return self.store.upsert(papers, source, now, self.topics, checkpoint), 0
        except (*StoreError, LeaseLost):
            raise
        except Exception:
            log.warning("source %s: the store refused the batch; storing one by one", source)
        total, refused = UpsertResult(), 0
        for index, paper in enumerate(papers):
            last = checkpoint if index == len(papers) - 1 else None
            try:
                one = self.store.upsert([paper], source, now, self.topics, last)
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
                if last is not None:
                    self.store.save_checkpoint(source, last)
                continue
            total.add(one)
        return total, refused

    def bound_queries(self) -> dict[str, Query]:
        """Every topic's rule, its like: clauses given their profiles from the store as it is
        now. A topic whose examples are not stored (yet) keeps its memberships as they are."""
        queries: dict[str, Query] = {}
        for name, topic in self.config.topics.items():
            try:
                queries[name] = self.store.bind(topic.with_feedback(self.store.feedback(name)))
            except QueryError as error:
                log.warning("topic %s left as it was: %s", name, error)
        return queries

    def sync_topics(self) -> int:
        """Re-match every paper for topics whose rule changed; drop topics no longer configured."""
        stored = self.store.topic_fingerprints()
        changed = self.topics.changed(stored)
        rows = (
            self.store.drop_topics_except(self.config.topics)
            if set(stored) - set(self.config.topics)
            else 0
        )
        if not changed:
            return rows
        self.progress(f"matching the store against changed topics: {', '.join(sorted(changed))}")
        # Each topic is one search through the text index; progress counts topics.
        for name in counted(changed, "re-matching changed topics", self.steps):
            with self.store.searching() as index:
                found = self.topics.members(index, name)
            rows += self.store.set_topic(name, self.topics.queries[name].fingerprint, found)
        return rows


def _summary(outcome: SourceOutcome) -> str:
    """The one line a source's refresh ends with."""
    return (
        f"{outcome.name}: {outcome.status}, {outcome.papers} papers read, {outcome.new} new, "
        f"{outcome.changed} changed, {outcome.skipped} skipped, {outcome.dropped} fields "
        "dropped" + (f" ({outcome.error})" if outcome.error else "")
    )
