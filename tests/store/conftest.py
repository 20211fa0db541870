"""The store on both databases, for the store tests."""

from __future__ import annotations

import pytest

from migrations import upgrade
from store import Store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    db = Store(url)
    upgrade(db.engine)
    yield db
    db.dispose()
