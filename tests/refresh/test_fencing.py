"""Fencing: a refresher that lost the refresh lease (paused past it while another process took
it over) stops before its next write, and the database refuses a write it attempts anyway."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from refresh import pipeline
from refresh.fetch import Fetched, Fetcher
from refresh.pipeline import LEASE, Refresher
from settings import load_config
from store import LeaseLost, Store
from tests.helpers import parser_fixture, toml_sources

LEASE_SECONDS = 1


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fence.db'}"
    return str(request.getfixturevalue("pg_url"))


class PausedFetcher(Fetcher):
    """Reads the source, then stalls past the lease while another process takes it over,
    as SIGSTOP, a long GC pause or a frozen VM would."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    def fetch(self, location: str, **validators: str | None) -> Fetched:
        fetched = super().fetch(location)
        time.sleep(LEASE_SECONDS + 0.2)
        assert self.store.acquire_lease(LEASE, "the-new-holder", timedelta(seconds=60))
        return fetched


@pytest.fixture
def paused_refresher(write_config, database_url, monkeypatch):  # type: ignore[no-untyped-def]
    from migrations import upgrade

    # A paused process renews nothing: its lease keeper is as frozen as the rest.
    monkeypatch.setattr(pipeline._LeaseKeeper, "_run", lambda self: None)
    path = write_config(
        sources=toml_sources(
            {
                "name": "hf",
                "kind": "hf-api",
                "path": str(parser_fixture("cases/hf_daily_papers.json")),
            }
        ),
        service=f"lease_seconds = {LEASE_SECONDS}",
    )
    config = load_config(path, overrides={"database_url": database_url})
    store = Store(database_url)
    upgrade(store.engine)
    yield Refresher(config, store, PausedFetcher(store), holder="the-paused-one"), store
    store.dispose()


def assert_nothing_written(store: Store, generation: int) -> None:
    assert store.count_papers() == 0
    assert store.source_state("hf").last_attempt is None
    assert store.generation() == generation
    held = store.lease_holder(LEASE)
    assert held is not None and held[0] == "the-new-holder"


def test_a_refresher_that_could_not_renew_stops_before_its_next_write(paused_refresher) -> None:
    refresher, store = paused_refresher
    generation = store.generation()
    report = refresher.run(force=True)
    assert report.ran and report.lease_lost
    assert_nothing_written(store, generation)


def test_a_stale_holders_commit_is_refused_by_the_database(paused_refresher, monkeypatch) -> None:
    # The pause comes after the refresher's own check, right before its write transaction.
    monkeypatch.setattr(pipeline._LeaseKeeper, "check", lambda self: None)
    refresher, store = paused_refresher
    generation = store.generation()
    report = refresher.run(force=True)
    assert report.ran and report.lease_lost
    assert_nothing_written(store, generation)


def test_the_holder_writes_and_a_former_holder_cannot(paused_refresher) -> None:
    _, store = paused_refresher
    ttl = timedelta(seconds=60)
    assert store.acquire_lease(LEASE, "me", ttl)
    with store.fenced(LEASE, "me"):
        assert store.bump_generation() == 1
    store.release_lease(LEASE, "me")
    assert store.acquire_lease(LEASE, "someone-else", ttl)
    with store.fenced(LEASE, "me"), pytest.raises(LeaseLost):
        store.bump_generation()
    assert store.generation() == 1
    store.bump_generation()  # outside a fenced block (CLI, tests) writes are not fenced
    assert store.generation() == 2
