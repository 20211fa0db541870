"""One refresh, top to bottom: lease -> fetch -> parse -> upsert + match -> new generation."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import parsing
from refresh.fetch import Fetcher, FetchError
from refresh.locations import locations
from settings import Config, SourceConfig
from store import Matches, Store, StoredPaper, UpsertResult
from topics import search
from topics.analysis import Document
from topics.matcher import TopicMatcher

log = logging.getLogger("paperfeed.refresh")

LEASE = "refresh"


@dataclass
class SourceOutcome:
    name: str
    status: str  # ok | not_modified | error | not_due
    papers: int = 0
    new: int = 0
    changed: int = 0
    skipped: int = 0
    error: str | None = None
    seconds: float = 0.0


@dataclass
class RefreshReport:
    ran: bool
    holder: str | None = None
    sources: list[SourceOutcome] = field(default_factory=list)
    memberships_changed: int = 0
    generation: int | None = None

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
    """Renew the lease in the background while a refresh runs, so a slow fetch keeps it."""

    def __init__(self, store: Store, holder: str, ttl: timedelta) -> None:
        self.store, self.holder, self.ttl = store, holder, ttl
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.ttl.total_seconds() / 3):
            try:
                self.store.renew_lease(LEASE, self.holder, self.ttl)
            except Exception:  # the database may be restarting: try again next beat
                log.exception("could not renew the refresh lease")


Progress = Callable[[str], None]


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
        on_outcome: Callable[[SourceOutcome], None] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.fetcher = fetcher or make_fetcher(config)
        self.holder = holder or new_holder()
        self.progress = progress or (lambda message: None)
        self.on_outcome = on_outcome or (lambda outcome: None)
        self.matcher = TopicMatcher({n: t.query for n, t in config.topics.items()})
        self._running = threading.Lock()

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
            if not self.store.acquire_lease(LEASE, self.holder, self.lease_ttl):
                held = self.store.lease_holder(LEASE)
                log.info(
                    "refresh skipped: lease held by %s", held[0] if held else "another process"
                )
                return RefreshReport(ran=False, holder=held[0] if held else None)
            try:
                with _LeaseKeeper(self.store, self.holder, self.lease_ttl):
                    return self._run_with_lease(force, only)
            finally:
                self.store.release_lease(LEASE, self.holder)
        finally:
            self._running.release()

    def _run_with_lease(self, force: bool, only: list[str] | None) -> RefreshReport:
        started = datetime.now(UTC)
        report = RefreshReport(ran=True, holder=self.holder)
        report.memberships_changed += self.sync_topics()
        if report.memberships_changed:
            report.generation = self.store.bump_generation()
        for source in self.config.sources:
            if not source.enabled or (only and source.name not in only):
                continue
            if not force and not self.is_due(source):
                report.sources.append(SourceOutcome(source.name, "not_due"))
                continue
            outcome, upserted = self.refresh_source(source)
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

    def refresh_source(self, source: SourceConfig) -> tuple[SourceOutcome, UpsertResult]:
        """Fetch, parse and store one source; a failure is recorded, never raised."""
        started = time.monotonic()
        now = datetime.now(UTC)
        validators = self.store.validators(source.name)
        fresh: dict[str, tuple[str | None, str | None]] = {}
        outcome = SourceOutcome(source.name, "not_modified")
        papers: list[parsing.Paper] = []
        errors: list[str] = []
        fetched_any = False
        for location in locations(source):
            etag, last_modified = validators.get(location, (None, None))
            self.progress(f"{source.name}: reading {location}")
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
                errors.append(f"internal error: {type(error).__name__}: {error}")
                log.exception("source %s: unexpected error reading %s", source.name, location)
                continue
            fetched_any = True
            papers.extend(result.papers)
            outcome.skipped += len(result.skipped)
            fresh[location] = (fetched.etag, fetched.last_modified)
        upserted = (
            self.store.upsert(papers, source.name, now, match=self.match_stored)
            if papers
            else UpsertResult()
        )
        outcome.papers, outcome.new, outcome.changed = (
            len(papers),
            len(upserted.new),
            len(upserted.changed),
        )
        outcome.seconds = time.monotonic() - started
        values: dict[str, object] = {"last_attempt": now}
        if errors:
            outcome.status, outcome.error = "error", "; ".join(errors)[:2000]
            values.update(last_error=outcome.error, last_error_at=now)
        else:
            outcome.status = "ok" if fetched_any else "not_modified"
            values.update(last_success=now)
        if fetched_any:
            values.update(papers_seen=len(papers), skipped=outcome.skipped)
        self.store.save_source(source.name, fresh, **values)
        self.progress(
            f"{source.name}: {outcome.status}, {outcome.papers} papers read, {outcome.new} new, "
            f"{outcome.changed} changed, {outcome.skipped} skipped"
            + (f" ({outcome.error})" if outcome.error else "")
        )
        self.on_outcome(outcome)
        return outcome, upserted

    def match_stored(self, stored: list[StoredPaper]) -> Matches:
        """What topics each paper belongs to, and why."""
        if not self.matcher.queries:
            return {}
        return {p.id: self.matcher.match(Document.of_paper(p)) for p in stored if p.id is not None}

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
        found = search.rematch(self.store, changed)
        for name, query in changed.items():
            rows += self.store.set_topic(name, query.fingerprint, found[name])
        return rows
