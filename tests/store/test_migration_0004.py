"""Migration 0004 on a database holding papers: old rows read back with no DOI, item id or
links; new rows keep them; and it goes back down. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from migrations import alembic_config, upgrade
from parsing.model import make_paper
from store import Store
from store.schema import UtcDateTime

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_0004_keeps_old_papers_and_stores_the_new_fields(url: str) -> None:
    store = Store(url)
    upgrade(store.engine, "0003")
    # A row as 0003 wrote it (typed columns, so the dates are stored as the store writes them).
    old_papers = sa.table(
        "papers",
        *(sa.column(name) for name in ("guid", "arxiv_id", "title_key", "title", "abstract")),
        *(sa.column(name, sa.JSON()) for name in ("authors", "categories", "sources")),
        *(sa.column(name, UtcDateTime()) for name in ("first_seen", "updated")),
    )
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(old_papers).values(
                guid="urn:arxiv:1512.03385",
                arxiv_id="1512.03385",
                title_key="deep residual learning",
                title="Deep Residual Learning",
                abstract="",
                authors=[],
                categories=[],
                sources=["old"],
                first_seen=T0,
                updated=T0,
            )
        )
    upgrade(store.engine)
    (old,) = list(store.iter_papers())
    assert (old.doi, old.item_id, old.links) == (None, None, ())
    links = [("code", "https://github.com/x/y"), ("project", "https://x.io")]
    store.upsert(
        [make_paper(title="Nature Paper", doi="10.1038/abc", item_id="tag:n,1", links=links)],
        "new",
        T0,
    )
    new = store.find_paper("doi:10.1038/abc")
    assert new is not None and new.item_id == "tag:n,1" and new.links == tuple(links)
    command.downgrade(alembic_config(store.engine), "0003")
    with store.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("papers")}
    assert not {"doi", "item_id", "links"} & columns
    store.dispose()
