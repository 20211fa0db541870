"""Title keys computed by an older title_key: re-key them once, after a migration, with the
index fill (store.backfill). Migrations import nothing of ours, so they cannot.

A stored title-only paper is found again by its title key: a key written by an older
title_key would miss its own paper's next listing and store it twice. The state row
title_key_version says which title_key wrote the keys; the everyday case reads that row.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from parsing.text import TITLE_KEY_VERSION, title_key
from store.schema import papers, state

VERSION_KEY = "title_key_version"


def rekey_titles(engine: Engine, batch: int = 1000) -> int:
    """Re-key every paper whose stored title key is not title_key's; how many changed."""
    with engine.connect() as conn:
        done = conn.execute(sa.select(state.c.number).where(state.c.key == VERSION_KEY)).scalar()
    if done == TITLE_KEY_VERSION:
        return 0
    changed, after = 0, 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                sa.select(papers.c.id, papers.c.title, papers.c.title_key)
                .where(papers.c.id > after)
                .order_by(papers.c.id)
                .limit(batch)
            ).all()
            stale = [
                {"paper_id": row.id, "key": key}
                for row in rows
                if (key := title_key(row.title)) != row.title_key
            ]
            if stale:
                conn.execute(
                    sa.update(papers)
                    .where(papers.c.id == sa.bindparam("paper_id"))
                    .values(title_key=sa.bindparam("key")),
                    stale,
                )
            changed += len(stale)
        if len(rows) < batch:
            break
        after = rows[-1].id
    with engine.begin() as conn:  # processes that fill at once may both get here
        conn.execute(
            sa.text(
                "INSERT INTO state (key, number) VALUES (:key, 0) ON CONFLICT (key) DO NOTHING"
            ),
            {"key": VERSION_KEY},
        )
        conn.execute(
            sa.update(state).where(state.c.key == VERSION_KEY).values(number=TITLE_KEY_VERSION)
        )
    return changed
