"""The web service never dies of its config or its database (real gunicorn processes).

Before: a reload (SIGHUP) with one typo in the config, or a worker replaced while the
database was down, made the new workers fail to boot, and gunicorn's master shut the whole
service down for good ("Worker failed to boot"): cached feeds and /healthz refused
connections, and nothing healed when the database was back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.helpers import LISTINGS, free_port, serving, toml_sources, wait_for

pytestmark = pytest.mark.slow

TOPICS = "[topics.residual]\nquery = 'resnet* OR residual'\n"


def _write_config(folder: Path, topics: str = TOPICS, database: str = "sqlite:///store.db") -> Path:
    sources = toml_sources({"name": "samples", "kind": "hf-text", "path": str(LISTINGS / "*.txt")})
    path = folder / "paperfeed.toml"
    path.write_text(
        f"[service]\ndatabase_url = '{database}'\nrefresh_minutes = 0.1\n"
        f"generation_check_seconds = 0.5\nsearch_in_processes = false\n\n{sources}\n\n{topics}"
    )
    return path


def _serving(folder: Path, port: int) -> AbstractContextManager[subprocess.Popen[bytes]]:
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "2"}
    env.pop("DATABASE_URL", None)
    return serving(["--config", str(folder / "paperfeed.toml"), "serve"], folder, env)


def _workers(master: int) -> set[int]:
    return {int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()}


def _all_answer(urls: list[str], seconds: float) -> list[str]:
    """Ask every url again and again for seconds; return what did not answer 200."""
    failures = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for url in urls:
            try:
                status = requests.get(url, timeout=5).status_code
            except requests.RequestException as error:
                failures.append(f"{url}: {type(error).__name__}")
                continue
            if status != 200:
                failures.append(f"{url}: {status}")
        time.sleep(0.1)
    return failures


def test_a_reload_with_a_broken_rule_keeps_serving_the_last_good_config(tmp_path: Path) -> None:
    _write_config(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    feed = f"{base}/feeds/residual.rss"
    with _serving(tmp_path, port) as server:
        wait_for(lambda: b"<item>" in requests.get(feed, timeout=2).content, 60, "the feed")
        before = _workers(server.pid)
        _write_config(tmp_path, topics="[topics.residual]\nquery = 'resnet AND (vit OR'\n")
        os.kill(server.pid, signal.SIGHUP)
        wait_for(lambda: not (_workers(server.pid) & before), 30, "new workers")
        assert _all_answer([feed, f"{base}/healthz", f"{base}/"], 8) == []
        assert server.poll() is None, "the master stopped"
        log = (tmp_path / "serve.log").read_text()
        assert "topic 'residual', column 19" in log
        assert "the workers keep the last good config" in log
        assert "Worker failed to boot" not in log
        # A good config is taken at the next reload.
        _write_config(tmp_path, topics=TOPICS + "\n[topics.vit]\nquery = 'vit'\n")
        os.kill(server.pid, signal.SIGHUP)
        wait_for(lambda: requests.get(f"{base}/feeds/vit.rss", timeout=2).ok, 60, "the new topic")


def test_a_worker_replaced_during_a_database_outage_heals_when_it_is_back(
    tmp_path: Path, pg_url: str
) -> None:
    name = f"paperfeed_outage_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    database = sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    _write_config(tmp_path, database=database)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    feed = f"{base}/feeds/residual.rss"
    try:
        with _serving(tmp_path, port) as server:
            wait_for(lambda: b"<item>" in requests.get(feed, timeout=2).content, 60, "the feed")
            cached = requests.get(feed, timeout=5).content
            with admin.connect() as conn:  # the outage
                conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
            killed = min(_workers(server.pid))
            os.kill(killed, signal.SIGKILL)
            wait_for(lambda: len(_workers(server.pid) - {killed}) == 2, 30, "a new worker")
            assert _all_answer([f"{base}/healthz"], 5) == []
            assert server.poll() is None, "the master stopped"
            # Both workers, the new one too, answer the feed they had (the new one: 503).
            answers = {requests.get(feed, timeout=5).status_code for _ in range(10)}
            assert answers <= {200, 503}
            assert requests.get(f"{base}/readyz", timeout=10).status_code == 503
            with admin.connect() as conn:  # the database is back, empty
                conn.execute(sa.text(f"CREATE DATABASE {name}"))
            wait_for(
                lambda: requests.get(f"{base}/status", timeout=5).json().get("papers", 0) > 0,
                90,
                "the store migrated and refreshed again",
            )
            assert _all_answer([f"{base}/readyz", feed], 3) == []
            assert b"<item>" in requests.get(feed, timeout=5).content
            assert cached  # what was served during the outage
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
