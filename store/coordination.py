"""What processes share besides papers: source state and validators, the store generation,
the log of refresh runs, and the refresh lease (one refresher at a time, across processes)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from store.engine import bounded_waits, lock_timed_out
from store.fencing import Transactions, later_expiry
from store.records import Checkpoint, HarvestState, SourceState
from store.schema import (
    leases,
    oai_harvests,
    refresh_runs,
    source_progress,
    source_validators,
    sources,
    state,
)

log = logging.getLogger("paperfeed.store")
Validators = dict[str, tuple[str | None, str | None]]  # location -> (ETag, Last-Modified)
_EXPIRED = datetime(1970, 1, 1, tzinfo=UTC)  # a released lease


def utcnow() -> datetime:
    return datetime.now(UTC)


def _mail_key(key: str) -> str:
    """The state row of a mailed digest; state keys hold 100 characters, so a long one
    is named by its hash."""
    full = f"mailed:{key}"
    return full if len(full) <= 100 else "mailed:" + hashlib.sha256(key.encode()).hexdigest()


class CoordinationStore(Transactions):
    # ---- sources ------------------------------------------------------------------------

    def source_state(self, name: str) -> SourceState:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sources).where(sources.c.name == name)).mappings().first()
        return SourceState(**row) if row else SourceState(name=name)

    def source_states(self) -> dict[str, SourceState]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(sources)).mappings().all()
        return {row["name"]: SourceState(**row) for row in rows}

    def validators(self, name: str) -> Validators:
        """The ETag and Last-Modified each location of a source last answered with."""
        query = sa.select(source_validators).where(source_validators.c.source == name)
        with self.engine.connect() as conn:
            return {row.location: (row.etag, row.last_modified) for row in conn.execute(query)}

    def save_source(self, name: str, validators: Validators | None = None, **values: Any) -> None:
        """Record a refresh of one source: its state and, when given, its validators."""
        with self.transaction() as conn:
            updated = conn.execute(
                sa.update(sources).where(sources.c.name == name).values(**values)
            )
            if not updated.rowcount:
                conn.execute(sa.insert(sources).values(name=name, **values))
            if validators:
                # These locations were read to the end: nothing to resume in them.
                conn.execute(
                    sa.delete(source_progress).where(
                        source_progress.c.source == name,
                        source_progress.c.location.in_(list(validators)),
                    )
                )
                conn.execute(
                    sa.delete(source_validators).where(
                        source_validators.c.source == name,
                        source_validators.c.location.in_(list(validators)),
                    )
                )
                conn.execute(
                    sa.insert(source_validators),
                    [
                        {"source": name, "location": loc, "etag": etag, "last_modified": modified}
                        for loc, (etag, modified) in validators.items()
                    ],
                )

    # ---- checkpoints: how far a refresh got through a body --------------------------------

    def checkpoint(self, name: str, location: str, digest: str) -> int:
        """How many papers of this body (by its digest) a refresh stored before it stopped;
        0 when it was another body."""
        query = sa.select(source_progress.c.done).where(
            source_progress.c.source == name,
            source_progress.c.location == location,
            source_progress.c.body_digest == digest,
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def save_checkpoint(self, name: str, checkpoint: Checkpoint) -> None:
        with self.transaction() as conn:
            write_checkpoint(conn, name, checkpoint)

    def harvest_state(self, name: str) -> HarvestState | None:
        """Where an OAI-PMH source's harvests stand; None before its first page."""
        query = sa.select(oai_harvests).where(oai_harvests.c.source == name)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return HarvestState(**{k: v for k, v in row.items() if k != "source"})

    # ---- mailed digests: the last period mailed per topic, so none is mailed twice ------

    def mailed(self, key: str) -> datetime | None:
        """When the last period mailed under key started (None: nothing mailed yet)."""
        with self.engine.connect() as conn:
            return conn.execute(  # type: ignore[no-any-return]
                sa.select(state.c.moment).where(state.c.key == _mail_key(key))
            ).scalar()

    def record_mailed(self, key: str, start: datetime) -> None:
        with self.transaction() as conn:
            updated = conn.execute(
                sa.update(state).where(state.c.key == _mail_key(key)).values(moment=start)
            )
            if not updated.rowcount:
                conn.execute(sa.insert(state).values(key=_mail_key(key), moment=start))

    # ---- generation: a number that changes whenever any feed could change ---------------

    def generation(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(state.c.number).where(state.c.key == "generation")
            ).scalar()
        return int(value or 0)

    def bump_generation(self, now: datetime | None = None) -> int:
        moment = now or utcnow()
        with self.transaction() as conn:
            updated = conn.execute(
                sa.update(state)
                .where(state.c.key == "generation")
                .values(number=state.c.number + 1, moment=moment)
            )
            if not updated.rowcount:  # the store's first: it was created now
                conn.execute(
                    sa.insert(state),
                    [
                        {"key": "generation", "number": 1, "moment": moment},
                        {"key": "created", "number": None, "moment": moment},
                    ],
                )
            return int(
                conn.execute(
                    sa.select(state.c.number).where(state.c.key == "generation")
                ).scalar_one()
            )

    def last_change(self) -> datetime | None:
        with self.engine.connect() as conn:
            return conn.execute(  # type: ignore[no-any-return]
                sa.select(state.c.moment).where(state.c.key == "generation")
            ).scalar()

    def created_at(self) -> datetime | None:
        """When this store published its first generation (None: before it was recorded,
        or nothing published yet). A store that looks new when it should not be says so."""
        with self.engine.connect() as conn:
            return conn.execute(  # type: ignore[no-any-return]
                sa.select(state.c.moment).where(state.c.key == "created")
            ).scalar()

    # ---- refresh runs -------------------------------------------------------------------

    def record_run(self, holder: str, started: datetime, sources_tried: int, new: int) -> None:
        """Log one refresh that fetched something (shown in /status)."""
        with self.transaction() as conn:
            conn.execute(
                sa.insert(refresh_runs).values(
                    holder=holder,
                    started=started,
                    finished=utcnow(),
                    sources=sources_tried,
                    new_papers=new,
                )
            )

    def recent_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        query = sa.select(refresh_runs).order_by(refresh_runs.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    # ---- the refresh lease --------------------------------------------------------------
    # Every lease statement waits for a lock only so long (bounded_waits): a lease row
    # locked longer belongs to a transaction that does not end, e.g. of a refresher stopped
    # (SIGSTOP) inside a write, and the next refresher must answer busy, not wait for it.

    def acquire_lease(
        self, name: str, holder: str, ttl: timedelta, now: datetime | None = None
    ) -> bool:
        """Take the lease if it is free, expired, or already ours. False when another holds
        it, or holds its row locked past the lock wait (busy all the same)."""
        try:
            return self._acquire_lease(name, holder, ttl, now or utcnow())
        except OperationalError as error:
            if not lock_timed_out(error):
                raise
            log.info("the %s lease row is locked by another transaction: busy", name)
            return False

    def _acquire_lease(self, name: str, holder: str, ttl: timedelta, moment: datetime) -> bool:
        expires = moment + ttl
        with self.engine.begin() as conn, bounded_waits(conn):
            taken = conn.execute(
                sa.update(leases)
                .where(
                    leases.c.name == name,
                    sa.or_(leases.c.holder == holder, leases.c.expires_at < moment),
                )
                .values(holder=holder, expires_at=expires)
            )
            if taken.rowcount:
                return True
        try:
            with self.engine.begin() as conn, bounded_waits(conn):
                exists = conn.execute(sa.select(leases.c.name).where(leases.c.name == name)).first()
                if exists:
                    return False
                conn.execute(sa.insert(leases).values(name=name, holder=holder, expires_at=expires))
                return True
        except IntegrityError:
            return False

    def take_over_lease(self, name: str, dead: str, holder: str, ttl: timedelta) -> bool:
        """Take the lease from a holder known to be dead, if it still holds it."""
        with self.engine.begin() as conn:
            taken = conn.execute(
                sa.update(leases)
                .where(leases.c.name == name, leases.c.holder == dead)
                .values(holder=holder, expires_at=utcnow() + ttl)
            )
        return bool(taken.rowcount)

    def renew_lease(self, name: str, holder: str, ttl: timedelta) -> bool:
        """Extend holder's lease; False when another holds it. Raises OperationalError when
        its row stays locked past the lock wait (not known either way: try again)."""
        with self.engine.begin() as conn, bounded_waits(conn):
            renewed = conn.execute(
                sa.update(leases)
                .where(leases.c.name == name, leases.c.holder == holder)
                .values(expires_at=later_expiry(ttl))
            )
        return bool(renewed.rowcount)

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up; when its row stays locked, it runs out on its own instead."""
        try:
            with self.engine.begin() as conn, bounded_waits(conn):
                conn.execute(
                    sa.update(leases)
                    .where(leases.c.name == name, leases.c.holder == holder)
                    .values(expires_at=_EXPIRED)
                )
        except OperationalError as error:
            if not lock_timed_out(error):
                raise
            log.warning("could not release the %s lease (row locked): it will run out", name)

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        with self.engine.begin() as conn, bounded_waits(conn):
            row = conn.execute(sa.select(leases).where(leases.c.name == name)).first()
        if row is None or row.expires_at < utcnow():
            return None
        return row.holder, row.expires_at

    def lease_state(self, name: str) -> LeaseState | None:
        """The lease as it stands (None: never taken), and whether a transaction holds its
        row right now (PostgreSQL; a write under the lease, or one that never ends)."""
        with self.engine.begin() as conn, bounded_waits(conn):
            row = conn.execute(sa.select(leases).where(leases.c.name == name)).first()
            if row is None:
                return None
            # FOR SHARE conflicts with the row lock of any UPDATE; SKIP LOCKED: no wait.
            free = (
                conn.dialect.name != "postgresql"
                or conn.execute(
                    sa.select(leases.c.name)
                    .where(leases.c.name == name)
                    .with_for_update(read=True, skip_locked=True)
                ).first()
            )
        return LeaseState(row.holder, row.expires_at, locked=not free)


@dataclass(frozen=True)
class LeaseState:
    holder: str
    expires_at: datetime
    locked: bool  # a transaction holds the lease row now

    @property
    def released(self) -> bool:
        return self.expires_at <= _EXPIRED

    def stuck(self, now: datetime | None = None) -> bool:
        """Ran out without being released or taken over: its holder stopped (killed,
        paused) and nobody took over yet, or it stopped inside a transaction that holds
        the row (locked), where a new holder cannot take it over until that ends."""
        return not self.released and self.expires_at < (now or utcnow())


def write_checkpoint(conn: Connection, name: str, checkpoint: Checkpoint) -> None:
    """Record a checkpoint in the transaction that stored the papers before it."""
    if checkpoint.harvest is not None:
        values = vars(checkpoint.harvest)
        conn.execute(sa.delete(oai_harvests).where(oai_harvests.c.source == name))
        conn.execute(sa.insert(oai_harvests).values(source=name, **values))
        return
    where = (source_progress.c.source == name, source_progress.c.location == checkpoint.location)
    conn.execute(sa.delete(source_progress).where(*where))
    conn.execute(
        sa.insert(source_progress).values(
            source=name,
            location=checkpoint.location,
            body_digest=checkpoint.digest,
            done=checkpoint.done,
        )
    )
