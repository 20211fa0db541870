"""A refresh killed again and again keeps what it committed and gets there in the end.

Before: each source was one transaction, so a refresh killed at random (0.7-15.7 s in)
committed nothing in 19 of 20 runs, and the sources after the first were never reached.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest

from tests.helpers import PAPERFEED, synthetic_rss, toml_sources, wait_for

pytestmark = pytest.mark.slow


def _big_then_small(folder: Path, papers: int) -> tuple[Path, Path]:
    """A config of two feed sources on a store in folder: "big" (papers, in big.rss), then
    "small" (3 papers). Returns big.rss and the config."""
    big, small = folder / "big.rss", folder / "small.rss"
    big.write_text(synthetic_rss(papers))
    small.write_text(synthetic_rss(3, first=100_000))
    sources = toml_sources(
        {"name": "big", "kind": "feed", "path": str(big)},
        {"name": "small", "kind": "feed", "path": str(small)},
    )
    config = folder / "paperfeed.toml"
    config.write_text(f"[service]\ndatabase_url = 'sqlite:///store.db'\n\n{sources}\n")
    return big, config


def _stored(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database, timeout=30) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM papers").fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return 0


def _refresh_seconds(folder: Path, papers: int) -> float:
    """How long a whole first refresh of _big_then_small(papers) takes here, start-up
    included: the kills below land within it, however fast this machine and this code."""
    folder.mkdir()
    _, config = _big_then_small(folder, papers)
    started = time.monotonic()
    subprocess.run([PAPERFEED, "--config", str(config), "refresh"], cwd=folder, check=True)
    return time.monotonic() - started


def test_a_refresh_killed_twenty_times_keeps_its_batches_and_finishes(tmp_path: Path) -> None:
    total = 8000  # enough that writing big, not starting up, is most of a refresh
    whole = _refresh_seconds(tmp_path / "measured", total)
    listing, config = _big_then_small(tmp_path, total)
    database = tmp_path / "store.db"
    command = [PAPERFEED, "--config", str(config), "refresh", "--verbose"]
    chance = random.Random(20)
    counts, resumed, log = [], 0, tmp_path / "refresh.log"
    for kill in range(20):
        with log.open("w") as out:
            process = subprocess.Popen(command, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
            time.sleep(chance.uniform(0.3, 0.95) * whole)  # within what a refresh of big takes
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        resumed += "resuming after" in log.read_text()
        counts.append(_stored(database))
        if kill % 2:  # the listing grows, newest first, as arXiv's and HF's do
            listing.write_text(synthetic_rss(total + 50, first=0))
            total += 50
    assert counts == sorted(counts), f"a kill lost committed papers: {counts}"
    assert counts[-1] > 0 and resumed > 0, (counts, resumed)
    finished = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert _stored(database) == total + 3
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # Every paper is in the text index, as one written by a refresh never killed.
        indexed = conn.execute("SELECT count(*) FROM paper_index").fetchone()[0]
        assert indexed == total + 3


def test_every_source_gets_its_turn_when_refreshes_keep_dying(tmp_path: Path) -> None:
    """The source a killed refresh was writing goes last next time, so the others are read."""
    big = 20_000  # a few seconds of writing now that batches are written at once
    _, config = _big_then_small(tmp_path, big)
    database = tmp_path / "store.db"
    command = [PAPERFEED, "--config", str(config), "refresh"]
    started_before = None
    for _ in range(2):
        process = subprocess.Popen(
            command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        # Killed inside "big" (its papers take far longer than starting it).
        started_before = wait_for(
            partial(_big_started_again, database, started_before), 60, "a start of big"
        )
        time.sleep(0.5)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    assert _stored(database) < big + 3, "the refresh was not killed inside big"
    with sqlite3.connect(database) as conn:
        small_papers = conn.execute(
            "SELECT count(*) FROM papers WHERE item_id LIKE 'urn:synthetic:1000__'"
        ).fetchone()[0]
    assert small_papers == 3, "the second source was never reached"


def _big_started_again(database: Path, before: str | None) -> str | None:
    started = _big_started(database)
    return started if started != before else None


def _big_started(database: Path) -> str | None:
    """When a refresh last started the source "big", as stored."""
    if not database.exists():
        return None
    with sqlite3.connect(database, timeout=30) as conn:
        try:
            row = conn.execute("SELECT last_started FROM sources WHERE name = 'big'").fetchone()
        except sqlite3.OperationalError:  # not migrated yet
            return None
    return row[0] if row else None
