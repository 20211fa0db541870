"""Topic memberships: which papers belong to which topic, and why; topic fingerprints."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from store.fencing import Transactions
from store.records import Matches, StoredPaper, TopicSummary, to_stored
from store.schema import memberships, papers, topics

MatchedPairs = list[list[str]]  # what the matched column holds: [[term, field], ...]


def _pairs(matched: Iterable[tuple[str, str]]) -> MatchedPairs:
    return [list(pair) for pair in matched]


class MembershipStore(Transactions):
    def topic_fingerprints(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(topics.c.name, topics.c.fingerprint)).all())  # type: ignore[arg-type]

    def set_topic(
        self, name: str, fingerprint: str, paper_matches: dict[int, list[tuple[str, str]]]
    ) -> int:
        """Replace every membership of one topic (its rule changed) and record its fingerprint."""
        with self.transaction() as conn:
            old = {
                (row.topic, row.paper_id): row.matched
                for row in conn.execute(sa.select(memberships).where(memberships.c.topic == name))
            }
            new = {(name, pid): _pairs(matched) for pid, matched in paper_matches.items()}
            changed = _apply_membership_diff(conn, old, new)
            conn.execute(sa.delete(topics).where(topics.c.name == name))
            conn.execute(sa.insert(topics).values(name=name, fingerprint=fingerprint))
        return changed

    def drop_topics_except(self, keep: Iterable[str]) -> int:
        names = list(keep)
        with self.transaction() as conn:
            gone = conn.execute(sa.delete(memberships).where(memberships.c.topic.not_in(names)))
            conn.execute(sa.delete(topics).where(topics.c.name.not_in(names)))
        return gone.rowcount or 0

    def topic_items(self, topic: str, limit: int, offset: int = 0) -> list[StoredPaper]:
        """The newest papers of a topic, newest first (by first_seen); offset for paging."""
        query = (
            sa.select(papers, memberships.c.matched)
            .join(memberships, memberships.c.paper_id == papers.c.id)
            .where(memberships.c.topic == topic)
            .order_by(papers.c.first_seen.desc(), papers.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            return [to_stored(row, row.matched) for row in conn.execute(query)]

    def topic_size(self, topic: str) -> int:
        """How many papers a topic has (an index-only count on the primary key)."""
        query = sa.select(sa.func.count()).where(memberships.c.topic == topic)
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
                    order_by=(papers.c.first_seen.desc(), papers.c.id.desc()),
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


def replace_memberships(conn: Connection, ids: list[int], matches: Matches) -> int:
    """Make the memberships of these papers what matches says; return rows changed."""
    changed = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        old = {
            (row.topic, row.paper_id): row.matched
            for row in conn.execute(sa.select(memberships).where(memberships.c.paper_id.in_(chunk)))
        }
        new = {
            (topic, pid): _pairs(matched)
            for pid in chunk
            for topic, matched in matches.get(pid, {}).items()
        }
        changed += _apply_membership_diff(conn, old, new)
    return changed


def _apply_membership_diff(
    conn: Connection,
    old: dict[tuple[str, int], MatchedPairs],
    new: dict[tuple[str, int], MatchedPairs],
) -> int:
    removed = [key for key in old if key not in new]
    upserts = [key for key, value in new.items() if old.get(key) != value]
    for topic, pid in removed + [k for k in upserts if k in old]:
        conn.execute(
            sa.delete(memberships).where(
                memberships.c.topic == topic, memberships.c.paper_id == pid
            )
        )
    if upserts:
        conn.execute(
            sa.insert(memberships),
            [{"topic": t, "paper_id": p, "matched": new[(t, p)]} for t, p in upserts],
        )
    return len(removed) + len(upserts)
