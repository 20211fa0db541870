"""Topic memberships: which papers belong to which topic, and why; topic fingerprints and
generations.

A membership carries when its paper entered the topic (first_seen): the paper's first_seen
when it matched from its first sighting, the moment of the change that made it match when
that came later (upvotes crossing a range, a corrected title). It is the item's date and
the feed's order, read from the index (topic, first_seen, paper_id) without sorting the
topic, so a late entry leads its feed. A paper keeps its entry for as long as it stays in
the topic. Every write that can
change a topic's feed (a member added, dropped, re-explained or edited) bumps that topic's
generation in the same transaction, so web processes re-render only those feeds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from store import sqlite_rows
from store.bulk import insert_rows
from store.fencing import Transactions
from store.paper_rows import stored_paper
from store.records import Match, Matches, StoredPaper, TopicSummary
from store.schema import memberships, papers, topics
from topics.search import Hit

MatchedPairs = list[list[str]]  # what the matched column holds: [[term, field], ...]
# A membership: what matched, when it entered the topic, how well it matches (the score).
Row = tuple[MatchedPairs, datetime, float | None]
Entered = tuple[datetime, datetime] | None  # when papers entered a topic: [since, until)


# A membership row's columns: its key (topic, paper_id), then what the diff compares.
_COLUMNS = ("topic", "paper_id", "matched", "first_seen", "score")


def _pairs(matched: Iterable[tuple[str, str]]) -> MatchedPairs:
    return [list(pair) for pair in matched]


def _score(matched: object) -> float | None:
    """The score topics.query.Query.explain gave what matched (None from an older caller)."""
    return getattr(matched, "score", None)


class MembershipStore(Transactions):
    def topic_fingerprints(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(topics.c.name, topics.c.fingerprint)).all())  # type: ignore[arg-type]

    def set_topic(self, name: str, fingerprint: str, hits: Iterable[Hit]) -> int:
        """Replace every membership of one topic (its rule changed) with the papers its
        query matches now, and record its fingerprint. A paper that stays keeps its entry; one
        that a new rule brings in enters as of its first sighting (a whole topic entering at
        once would give every item one date)."""
        with self.transaction() as conn:
            old = {
                (row.topic, row.paper_id): (row.matched, row.first_seen, row.score)
                for row in conn.execute(sa.select(memberships).where(memberships.c.topic == name))
            }
            new = {
                (name, hit.paper_id): (
                    _pairs(hit.matched),
                    _entry_date(old.get((name, hit.paper_id)), hit.first_seen),
                    _score(hit.matched),
                )
                for hit in hits
            }
            changed = _apply_membership_diff(conn, old, new)
            updated = conn.execute(
                sa.update(topics)
                .where(topics.c.name == name)
                .values(fingerprint=fingerprint, generation=topics.c.generation + 1)
            )
            if not updated.rowcount:
                conn.execute(
                    sa.insert(topics).values(name=name, fingerprint=fingerprint, generation=1)
                )
        return changed

    def topic_generations(self) -> dict[str, int]:
        """Each topic's generation: it changes whenever the topic's feed could change."""
        with self.engine.connect() as conn:
            return {row.name: int(row.generation) for row in conn.execute(sa.select(topics))}

    def drop_topics_except(self, keep: Iterable[str]) -> int:
        names = list(keep)
        with self.transaction() as conn:
            gone = conn.execute(sa.delete(memberships).where(memberships.c.topic.not_in(names)))
            conn.execute(sa.delete(topics).where(topics.c.name.not_in(names)))
        return gone.rowcount or 0

    def topic_items(
        self,
        topic: str,
        limit: int,
        offset: int = 0,
        order: str = "newest",
        entered: Entered = None,
    ) -> list[StoredPaper]:
        """A topic's papers, latest entry first (when each entered the topic), or by order
        (one of topic_orders(): relevance, the best scored first; upvotes, most first;
        unscored or unvoted last, then latest); entered: only those that entered it from
        since until before until; offset for paging."""
        newest = (memberships.c.first_seen.desc(), memberships.c.paper_id.desc())
        ordering = (*_ORDERS.get(order, _ORDERS["date"])(), *newest)
        query = (
            sa.select(
                papers,
                memberships.c.matched,
                memberships.c.score,
                memberships.c.first_seen.label("entered"),
            )
            .join(memberships, memberships.c.paper_id == papers.c.id)
            .where(memberships.c.topic == topic, *_entered(entered))
            .order_by(*ordering)
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            return [
                replace(stored_paper(row, row.matched, row.entered), score=row.score)
                for row in conn.execute(query)
            ]

    def paper_topics(self, paper_id: int) -> list[tuple[str, Match, datetime]]:
        """The topics a paper is in: (topic, what matched, when it entered the topic)."""
        query = (
            sa.select(memberships.c.topic, memberships.c.matched, memberships.c.first_seen)
            .where(memberships.c.paper_id == paper_id)
            .order_by(memberships.c.topic)
        )
        with self.engine.connect() as conn:
            return [
                (row.topic, tuple((t, f) for t, f in row.matched), row.first_seen)
                for row in conn.execute(query)
            ]

    def topic_orders(self) -> tuple[str, ...]:
        """The orders topic_items knows (newest is date's other name)."""
        return (*_ORDERS, "newest")

    def topic_entered(
        self, topic: str, since: datetime, limit: int
    ) -> list[tuple[StoredPaper, datetime]]:
        """The topic's papers that entered it from since on, with when: digests."""
        query = (
            sa.select(papers, memberships.c.matched, memberships.c.first_seen.label("entered"))
            .join(memberships, memberships.c.paper_id == papers.c.id)
            .where(memberships.c.topic == topic, memberships.c.first_seen >= since)
            .order_by(memberships.c.first_seen.desc(), memberships.c.paper_id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(stored_paper(row, row.matched), row.entered) for row in conn.execute(query)]

    def topic_size(self, topic: str, entered: Entered = None) -> int:
        """How many papers a topic has (an index-only count on the primary key)."""
        query = sa.select(sa.func.count()).where(memberships.c.topic == topic, *_entered(entered))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def topic_summaries(self) -> dict[str, TopicSummary]:
        """Item count and newest paper of every topic, in one query."""
        ranked = (
            sa.select(
                memberships.c.topic,
                papers.c.title,
                papers.c.first_seen,
                sa.func.count().over(partition_by=memberships.c.topic).label("item_count"),
                sa.func.row_number()
                .over(
                    partition_by=memberships.c.topic,
                    order_by=(memberships.c.first_seen.desc(), memberships.c.paper_id.desc()),
                )
                .label("rank"),
            )
            .join(papers, papers.c.id == memberships.c.paper_id)
            .subquery()
        )
        query = sa.select(ranked.c.topic, ranked.c.item_count, ranked.c.title, ranked.c.first_seen)
        with self.engine.connect() as conn:
            rows = conn.execute(query.where(ranked.c.rank == 1))
            return {
                row.topic: TopicSummary(int(row.item_count), row.title, row.first_seen)
                for row in rows
            }


_ORDERS: dict[str, Callable[[], tuple[sa.ColumnElement[Any], ...]]] = {
    "date": lambda: (),
    "upvotes": lambda: (papers.c.upvotes.desc().nulls_last(),),
    "relevance": lambda: (memberships.c.score.desc().nulls_last(),),
}


def _entered(entered: Entered) -> list[sa.ColumnElement[bool]]:
    if entered is None:
        return []
    since, until = entered
    return [memberships.c.first_seen >= since, memberships.c.first_seen < until]


def replace_memberships(
    conn: Connection,
    ids: list[int],
    matches: Matches,
    changed_at: Mapping[int, datetime] | None = None,
    fresh: Collection[int] = (),
) -> int:
    """Make the memberships of these (new or changed) papers what matches says; return rows
    changed. A membership that stays keeps its entry; a new one enters as of the paper's
    change that made it match (its updated: its first sighting, for a new paper). Every
    topic that holds one of them gets a new generation: its feed shows them. changed_at:
    the papers' updated, when the caller has them (else read); fresh: papers just inserted,
    which have no memberships to read."""
    changed = 0
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        stored = [pid for pid in chunk if pid not in fresh]
        old = {
            (row.topic, row.paper_id): (row.matched, row.first_seen, row.score)
            for row in (
                conn.execute(sa.select(memberships).where(memberships.c.paper_id.in_(stored)))
                if stored
                else ()
            )
        }
        seen = dict(changed_at) if changed_at is not None else _changed_at(conn, chunk)
        new = {
            (topic, pid): (
                _pairs(matched),
                _entry_date(old.get((topic, pid)), seen[pid]),
                _score(matched),
            )
            for pid in chunk
            if pid in seen
            for topic, matched in matches.get(pid, {}).items()
        }
        changed += _apply_membership_diff(conn, old, new)
        bump_topics(conn, {topic for topic, _ in old})
    return changed


def forget_memberships(
    conn: Connection, paper_ids: Sequence[int], into: Mapping[int, int] | None = None
) -> None:
    """Drop papers' memberships (each was merged into another, into[id]) and bump their
    topics. Those of topics the other record is not in move to it, with their entry: the
    merged paper entered the topic then, whichever record it was."""
    for paper_id, target in (into or {}).items():
        held = sa.select(memberships.c.topic).where(memberships.c.paper_id == target)
        conn.execute(
            sa.update(memberships)
            .where(memberships.c.paper_id == paper_id, memberships.c.topic.not_in(held))
            .values(paper_id=target)
        )
    gone = conn.execute(
        sa.delete(memberships)
        .where(memberships.c.paper_id.in_(list(paper_ids)))
        .returning(memberships.c.topic)
    )
    bump_topics(conn, set(gone.scalars()))


def bump_topics(conn: Connection, names: set[str]) -> None:
    if names:
        conn.execute(
            sa.update(topics)
            .where(topics.c.name.in_(sorted(names)))
            .values(generation=topics.c.generation + 1)
        )


def _entry_date(old: Row | None, now: datetime) -> datetime:
    """When a paper entered a topic: as before if it was in it, else now."""
    return old[1] if old is not None else now


def _changed_at(conn: Connection, ids: list[int]) -> dict[int, datetime]:
    """When each paper last changed: a membership it gains dates from then."""
    found: dict[int, datetime] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = sa.select(papers.c.id, papers.c.updated).where(papers.c.id.in_(chunk))
        found.update((row.id, row.updated) for row in conn.execute(query))
    return found


def _apply_membership_diff(
    conn: Connection, old: dict[tuple[str, int], Row], new: dict[tuple[str, int], Row]
) -> int:
    removed = [key for key in old if key not in new]
    upserts = [key for key, value in new.items() if old.get(key) != value]
    stale: dict[str, list[int]] = {}
    for topic, pid in removed + [key for key in upserts if key in old]:
        stale.setdefault(topic, []).append(pid)
    for topic, pids in stale.items():  # a changed rule replaces thousands of rows
        for start in range(0, len(pids), 500):
            conn.execute(
                sa.delete(memberships).where(
                    memberships.c.topic == topic,
                    memberships.c.paper_id.in_(pids[start : start + 500]),
                )
            )
    if conn.dialect.name == "sqlite":  # plain tuples: a topic of thousands of papers
        sqlite_rows.insert(conn, memberships, _COLUMNS, [(*key, *new[key]) for key in upserts])
    else:
        insert_rows(
            conn,
            memberships,
            [dict(zip(_COLUMNS, (*key, *new[key]), strict=True)) for key in upserts],
        )
    bump_topics(conn, {topic for topic, _ in removed + upserts})
    return len(removed) + len(upserts)
