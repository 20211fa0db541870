"""Readers' "more like this" / "less like this", per topic and paper, kept beside the
config: each topic's like and unlike lists grow by them at the next refresh.

A row changes only from the version a form was made for (compare and set), so a form sent
twice, or after another change, changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from store.schema import topic_feedback

KINDS = ("like", "unlike", "none")  # none: undone


class FeedbackStore:
    engine: Engine

    def feedback(self, topic: str) -> dict[str, str]:
        """{paper GUID: "like" or "unlike"} of a topic, in the order they were given."""
        query = (
            sa.select(topic_feedback.c.paper, topic_feedback.c.kind)
            .where(topic_feedback.c.topic == topic, topic_feedback.c.kind != "none")
            .order_by(topic_feedback.c.changed, topic_feedback.c.paper)
        )
        with self.engine.connect() as conn:
            return {row.paper: row.kind for row in conn.execute(query)}

    def feedback_version(self, topic: str, paper: str) -> int:
        """How many times this paper's feedback in topic changed (0: never)."""
        query = sa.select(topic_feedback.c.version).where(
            topic_feedback.c.topic == topic, topic_feedback.c.paper == paper
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def set_feedback(self, topic: str, paper: str, kind: str, version: int) -> bool:
        """Make paper's feedback in topic kind if it is still at version; False otherwise."""
        if kind not in KINDS:
            raise ValueError(kind)
        now = datetime.now(UTC)
        row = {"kind": kind, "version": version + 1, "changed": now}
        with self.engine.begin() as conn:
            if version == 0:
                exists = conn.execute(
                    sa.select(topic_feedback.c.version).where(
                        topic_feedback.c.topic == topic, topic_feedback.c.paper == paper
                    )
                ).first()
                if exists:
                    return False
                try:
                    with conn.begin_nested():
                        conn.execute(
                            sa.insert(topic_feedback).values(topic=topic, paper=paper, **row)
                        )
                except sa.exc.IntegrityError:  # another form got there first
                    return False
                return True
            done = conn.execute(
                sa.update(topic_feedback)
                .where(
                    topic_feedback.c.topic == topic,
                    topic_feedback.c.paper == paper,
                    topic_feedback.c.version == version,
                )
                .values(**row)
            )
            return bool(done.rowcount)
