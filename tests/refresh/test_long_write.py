"""A long refresh keeps its lease, with no error line, on SQLite and PostgreSQL.

Before: during a 45,000-paper first refresh on SQLite the lease keeper logged "could not
renew the refresh lease ... database is locked" with a 40-line traceback about every 50 s
(the refresh held SQLite's write lock for the whole source), and the lease could expire
while its holder was still writing. Here the lease is 5 s (a keeper starved of CPU on a
loaded machine must not lose it by itself) and the refresh takes several times that,
while other processes keep trying to take the lease.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from pathlib import Path

import pytest

from migrations import upgrade
from refresh.pipeline import Refresher
from settings import load_config
from store import Store
from tests.helpers import PAPERFEED, synthetic_rss, toml_sources

pytestmark = pytest.mark.slow
PAPERS = 20_000  # several lease periods of writing, now that a batch is written at once


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_a_long_refresh_keeps_its_lease_without_an_error_line(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    listing = tmp_path / "listing.rss"
    listing.write_text(synthetic_rss(PAPERS))
    sources = toml_sources({"name": "big", "kind": "feed", "path": str(listing)})
    config_path = tmp_path / "paperfeed.toml"
    config_path.write_text(f"[service]\nlease_seconds = 5\n\n{sources}\n")
    config = load_config(config_path, overrides={"database_url": store_url})
    store = Store(store_url)
    upgrade(store.engine)
    done = threading.Event()
    contenders: list[tuple[float, int]] = []  # (when it ended, exit code)

    def contend() -> None:
        """Other processes ask for the lease all along: none may get it."""
        while not done.is_set():
            tried = subprocess.run(
                [PAPERFEED, "--config", str(config_path), "--database-url", store_url, "refresh"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            contenders.append((time.monotonic(), tried.returncode))

    caplog.set_level(logging.WARNING, logger="paperfeed")
    refresher = Refresher(config, store)
    thread = threading.Thread(target=contend)
    thread.start()
    try:
        report = refresher.run(force=True)
        finished = time.monotonic()
    finally:
        done.set()
        thread.join(timeout=180)
    assert report.ran and not report.lease_lost
    assert report.sources[0].new == PAPERS
    assert store.count_papers() == PAPERS
    during = [code for ended, code in contenders if ended < finished]
    assert during and set(during) == {3}, contenders  # 3: the lease is held
    complaints = [r.getMessage() for r in caplog.records if r.name.startswith("paperfeed")]
    assert not [m for m in complaints if "lease" in m], complaints
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    store.dispose()
