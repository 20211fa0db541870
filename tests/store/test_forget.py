"""Forgetting a source: its own papers go (rows, text index, memberships), shared papers stay
with the other sources' names, and its state goes; on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from parsing.model import make_paper
from store import Store
from store.schema import memberships, paper_index, papers, sources
from topics.membership import Topics
from topics.query import parse

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
TOPICS = Topics({"nets": parse("network")})


def _paper(n: int, arxiv_id: str | None = None):  # type: ignore[no-untyped-def]
    return make_paper(title=f"Network number {n}", abstract="a network", arxiv_id=arxiv_id)


def test_forget_removes_only_what_no_other_source_lists(store: Store) -> None:
    store.set_topic("nets", "fingerprint", [])
    store.upsert([_paper(1, "2401.00001"), _paper(2, "2401.00002")], "samples", T0, TOPICS)
    store.upsert([_paper(2, "2401.00002"), _paper(3, "2401.00003")], "live", T0, TOPICS)
    store.save_source("samples", {"listing.json": ("etag", None)}, last_success=T0, papers_seen=2)
    before = store.topic_generations()["nets"]
    forgotten = store.forget_source("samples")
    assert (forgotten.removed, forgotten.kept, forgotten.known) == (1, 1, True)
    with store.engine.connect() as conn:
        rows = {r.arxiv_id: r.sources for r in conn.execute(sa.select(papers))}
        indexed = conn.execute(sa.select(sa.func.count()).select_from(paper_index)).scalar_one()
        members = conn.execute(sa.select(sa.func.count()).select_from(memberships)).scalar_one()
        state = conn.execute(sa.select(sources.c.name)).scalars().all()
    assert rows == {"2401.00002": ["live"], "2401.00003": ["live"]}
    assert indexed == 2 and members == 2 and "samples" not in state
    assert store.validators("samples") == {}  # configured again, it reads afresh
    assert store.topic_generations()["nets"] > before  # its feed changes
    assert [p.arxiv_id for p in store.topic_items("nets", 10)] == ["2401.00003", "2401.00002"]
    assert store.forget_source("nosuch").known is False
    again = store.forget_source("samples")
    assert (again.removed, again.kept, again.known) == (0, 0, False)
