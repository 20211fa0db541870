"""One SQLite store, several processes: `paperfeed serve` (2 gunicorn workers, their refresh
timer on) and CLI `refresh`, `preview` and `explain` run beside it, as the README suggests.

Before the fix, the server's WAL was deleted under it (each CLI command dropped the
server's locks by opening and closing the file), the server stopped seeing new papers,
papers the CLI committed were gone after the server stopped, and `integrity_check`
answered "database disk image is malformed".
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.helpers import (
    LISTINGS,
    PAPERFEED,
    SEED_COUNTS,
    free_port,
    serving,
    toml_sources,
    wait_for,
)

pytestmark = pytest.mark.slow

CHECK_SECONDS = 1.0


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PAPERFEED, "--config", str(folder / "paperfeed.toml"), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _refreshed(folder: Path) -> str | None:
    """The output of a CLI refresh that ran, None when another process held the lease."""
    result = _cli(folder, "refresh")
    assert result.returncode in (0, 3), result.stderr
    return result.stdout if result.returncode == 0 else None


def _deleted_store_files(pid: int) -> list[str]:
    """Files of the store this process still has open after they were deleted."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if "store.db" in target and target.endswith("(deleted)"):
            found.append(target)
    return found


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_serve_and_cli_on_one_sqlite_file_lose_nothing(tmp_path: Path) -> None:
    listings = tmp_path / "listings"
    listings.mkdir()
    names = sorted(SEED_COUNTS)
    shutil.copy(LISTINGS / names[0], listings / names[0])  # the rest arrive one by one
    sources = toml_sources({"name": "samples", "kind": "hf-text", "path": "listings/*.txt"})
    (tmp_path / "paperfeed.toml").write_text(
        f"[service]\ndatabase_url = 'sqlite:///store.db'\nrefresh_minutes = 0.2\n"
        f"generation_check_seconds = {CHECK_SECONDS}\nsearch_in_processes = false\n\n"
        f"{sources}\n\n[topics.residual]\nquery = 'resnet* OR residual'\n"
    )
    port = free_port()
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "2"}
    env.pop("DATABASE_URL", None)
    base = f"http://127.0.0.1:{port}"
    with serving(["--config", str(tmp_path / "paperfeed.toml"), "serve"], tmp_path, env) as server:
        wait_for(lambda: requests.get(f"{base}/status", timeout=2).ok, 60, "the server")
        for name in names[1:]:
            shutil.copy(LISTINGS / name, listings / name)
            assert _cli(tmp_path, "preview", "resnet*").returncode == 0
            assert _cli(tmp_path, "explain", "residual").returncode == 0
            # 3: the server's timer holds the lease right now; try again.
            refreshed = wait_for(lambda: _refreshed(tmp_path), 60, "a CLI refresh")
            expected = int(re.search(r"(\d+) papers stored", refreshed)[1])  # type: ignore[index]
            # Every committed write is visible to every worker within the check interval.
            deadline = time.monotonic() + CHECK_SECONDS + 5
            seen = set()
            while time.monotonic() < deadline and seen != {expected}:
                seen = {
                    requests.get(f"{base}/status", timeout=5).json()["papers"]
                    for _ in range(6)  # two workers: ask a few times
                }
            assert seen == {expected}, f"after {name}: the server saw {seen}, not {expected}"
            for worker in [server.pid, *_children(server.pid)]:
                assert not _deleted_store_files(worker), f"pid {worker} lost the WAL"
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM papers").fetchone() == (expected,)
