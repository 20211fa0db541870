"""Scale-out on PostgreSQL with real processes: the Procfile under honcho, SIGKILL of a
refresher mid-write, a database outage under traffic, and a refresher paused (SIGSTOP)
past its lease."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from migrations import upgrade
from refresh.pipeline import WRITE_BATCH
from store import Store, engine_url
from tests.helpers import (
    LISTINGS,
    ROOT,
    free_port,
    free_port_run,
    start_gunicorn,
    toml_sources,
    wait_for,
)

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def environment(pg_url: str, config: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "DATABASE_URL": pg_url,
        "PAPERFEED_CONFIG": str(config),
        "PYTHONPATH": str(ROOT),
        "HOST": "127.0.0.1",  # the Procfile's 0.0.0.0 would need base_url
        **extra,
    }


def test_two_web_processes_and_a_clock_refresh_once_per_interval(
    tmp_path, pg_url, write_config
) -> None:
    listings = tmp_path / "listings"
    listings.mkdir()
    shutil.copy(LISTINGS / "000_0937d812811fcc18.txt", listings)
    interval = 3.0
    config = write_config(
        sources=toml_sources(
            {"name": "samples", "kind": "hf-text", "path": str(listings / "*.txt")}
        ),
        service=f"refresh_minutes = {interval / 60}\nlease_seconds = 10\n",
    )
    store = Store(pg_url)
    upgrade(store.engine)
    base = free_port_run(2)
    procfile = tmp_path / "Procfile"
    procfile.write_text((ROOT / "Procfile").read_text())
    log = (tmp_path / "honcho.log").open("wb")
    honcho = subprocess.Popen(
        [
            str(BIN / "honcho"),
            "-f",
            str(procfile),
            "-d",
            str(ROOT),
            "start",
            "-p",
            str(base),
            "-c",
            "web=2,clock=1,release=0",
            "web",
            "clock",
        ],
        env=environment(
            pg_url,
            config,
            PAPERFEED_SCHEDULER="web",
            WEB_CONCURRENCY="1",
            PAPERFEED_GENERATION_CHECK_SECONDS="1",
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    ports = [base, base + 1]
    try:
        for port in ports:
            wait_for(
                lambda p=port: requests.get(f"http://127.0.0.1:{p}/healthz", timeout=2).ok,
                60,
                f"web on {port}",
            )
        wait_for(lambda: store.count_papers() == 119, 30, "the first refresh")
        started = time.time()

        def runs_since_start() -> int:
            return sum(r["started"].timestamp() >= started for r in store.recent_runs(200))

        # Five intervals' worth of refreshes, whichever process runs them.
        wait_for(lambda: runs_since_start() >= 5, 8 * interval, "five scheduled refreshes")
        window = time.time() - started

        shutil.copy(LISTINGS / "001_9997b832c2f801ba.txt", listings)
        wait_for(lambda: store.count_papers() == 317, 30, "the second listing")  # 6 shared

        def same_everywhere():  # type: ignore[no-untyped-def]
            # Behind a router both processes see the same Host.
            answers = [
                requests.get(
                    f"http://127.0.0.1:{p}/feeds/residual.rss?limit=500",
                    headers={"Host": "papers.example.org"},
                    timeout=5,
                )
                for p in ports
            ]
            bodies = {a.content for a in answers}
            etags = {a.headers["ETag"] for a in answers}
            fresh = all(b"Hyper-Connections" in a.content for a in answers)
            return fresh and len(bodies) == 1 and len(etags) == 1 and answers

        answers = wait_for(same_everywhere, 20, "identical feeds on both web processes")
        assert answers[0].headers["ETag"] == answers[1].headers["ETag"]
    finally:
        os.killpg(honcho.pid, signal.SIGTERM)
        honcho.wait(timeout=30)
        log.close()

    runs = sorted(store.recent_runs(200), key=lambda r: r["started"])
    # Three schedulers ticked (two web processes and the clock); the lease and the due
    # check let exactly one refresh happen per interval, whichever process ran it.
    in_window = [r for r in runs if started <= r["started"].timestamp() <= started + window]
    expected = window / interval
    assert expected - 1.5 <= len(in_window) <= expected + 1.5, (len(in_window), expected)
    for before, after in zip(runs, runs[1:], strict=False):
        assert before["finished"] <= after["started"], "two refreshes overlapped"
        gap = (after["started"] - before["started"]).total_seconds()
        assert gap >= 0.9 * interval - 0.5, f"two refreshes within one interval ({gap:.1f} s)"
    store.dispose()


def big_listing(count: int) -> bytes:
    return json.dumps(
        [
            {
                "paper": {
                    "id": f"2601.{i:05d}",
                    "title": f"Synthetic paper number {i}",
                    "summary": "words " * 50,
                    "authors": [{"name": "A. Author"}],
                    "upvotes": i % 50,
                },
                "publishedAt": "2026-01-02T00:00:00.000Z",
            }
            for i in range(count)
        ]
    ).encode()


def test_sigkill_mid_write_keeps_whole_batches_and_the_next_refresh_completes(
    tmp_path, pg_url, write_config, httpserver
) -> None:
    httpserver.expect_request("/api").respond_with_data(big_listing(4000))
    config = write_config(
        sources=toml_sources({"name": "hf", "kind": "hf-api", "url": httpserver.url_for("/api")}),
        service="lease_seconds = 3\n",
    )
    store = Store(pg_url)
    upgrade(store.engine)
    env = environment(pg_url, config)
    victim = subprocess.Popen(
        [str(BIN / "paperfeed"), "refresh"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def writing() -> bool:
        with store.engine.connect() as conn:
            from sqlalchemy import text

            return bool(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                        "AND datname = current_database() "
                        "AND state IN ('active', 'idle in transaction') AND query ILIKE '%papers%'"
                    )
                ).scalar()
            )

    wait_for(writing, 30, "the refresher to start writing")
    time.sleep(0.5)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)

    count = store.count_papers()
    assert count % WRITE_BATCH == 0, f"a half-written batch: {count}"
    # Papers and their topic memberships are written together: none stored unmatched.
    assert len(store.topic_items("hot", 5000)) == count * 30 // 50  # upvotes i % 50 >= 20

    # The dead holder was a process of this machine: the next refresh takes its lease over
    # at once (expired or not) and resumes after the batches the killed one committed.
    done = subprocess.run(
        [str(BIN / "paperfeed"), "refresh"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert store.count_papers() == 4000
    assert len(store.topic_items("hot", 5000)) == 2400
    from sqlalchemy import text

    with store.engine.connect() as conn:
        duplicates = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT title_key FROM papers GROUP BY title_key "
                "HAVING count(*) > 1) d"
            )
        ).scalar()
    assert duplicates == 0
    store.dispose()


@contextmanager
def database_outage(pg_url: str) -> Iterator[None]:
    """Make one database refuse connections and cut the open ones, then let it back.

    Only this test's own database goes down; the PostgreSQL server keeps running for
    everyone else (stopping the machine's server is never done).
    """
    name = make_url(engine_url(pg_url)).database
    admin = sa.create_engine(
        make_url(engine_url(pg_url)).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        try:
            yield
        finally:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    admin.dispose()


def test_a_database_outage_under_traffic_heals_without_a_process_restart(
    tmp_path, pg_url, write_config
) -> None:
    config = write_config()
    store = Store(pg_url)
    upgrade(store.engine)
    port = free_port()
    env = environment(
        pg_url,
        config,
        PORT=str(port),
        WEB_CONCURRENCY="1",
        PAPERFEED_SCHEDULER="embedded",
        PAPERFEED_GENERATION_CHECK_SECONDS="0.2",
        PAPERFEED_RETRIES="0",
    )
    log = (tmp_path / "web.log").open("wb")
    web = start_gunicorn(env, log)
    results: list[tuple[float, int]] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            for path in ("/feeds/residual.rss", "/status"):
                try:
                    code = requests.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code
                except requests.RequestException:
                    code = 0
                results.append((time.monotonic(), code))
            stop.wait(0.05)

    try:
        wait_for(
            lambda: (
                "Hyper"
                in requests.get(
                    f"http://127.0.0.1:{port}/feeds/residual.rss?limit=500", timeout=5
                ).text
            ),
            60,
            "the first refresh",
        )
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        wait_for(lambda: len(results) >= 10, 10, "traffic before the outage")
        outage_began = time.monotonic()
        with database_outage(pg_url):
            wait_for(lambda: results[-1][0] > outage_began + 2, 30, "2 s of outage traffic")
        outage_ended = time.monotonic()
        wait_for(
            lambda: sum(t > outage_ended + 2 for t, _ in results) >= 20, 30, "traffic after it"
        )
        stop.set()
        poller.join(timeout=10)
    finally:
        stop.set()
        web.terminate()
        web.wait(timeout=30)
        log.close()
        store.dispose()  # its pooled connections were cut by the outage: close them now
    failures = [(t, c) for t, c in results if c != 200]
    assert all(outage_began <= t <= outage_ended + 2 for t, _ in failures), failures
    recovered = [c for t, c in results if t > outage_ended + 2]
    assert recovered and all(c == 200 for c in recovered)


@pytest.mark.parametrize("preload", [False, True])
def test_no_scheduler_in_the_gunicorn_master(tmp_path, write_config, preload) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PAPERFEED_CONFIG": str(write_config()),
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
        "WEB_CONCURRENCY": "2",
        "PAPERFEED_SCHEDULER": "embedded",
    }
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        master = start_gunicorn(env, log, *(["--preload"] if preload else []))
        try:
            wait_for(
                lambda: (
                    requests.get(f"http://127.0.0.1:{port}/status", timeout=2).json()["papers"]
                    == 431
                ),
                60,
                "the first refresh",
            )
            children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text()
            workers = {int(pid) for pid in children.split()}
        finally:
            master.terminate()
            master.wait(timeout=30)
    started = {
        int(line.rsplit("(pid ", 1)[1].rstrip(")"))
        for line in log_path.read_text().splitlines()
        if "scheduler started" in line
    }
    assert started == workers and master.pid not in started


def test_a_refresher_paused_past_its_lease_cannot_commit(
    tmp_path, pg_url, write_config, httpserver
) -> None:
    """SIGSTOP while it fetches, the lease taken over meanwhile, SIGCONT: nothing written."""
    from datetime import timedelta

    from werkzeug import Request, Response

    fetching, answer = threading.Event(), threading.Event()

    def listing(request: Request) -> Response:
        fetching.set()
        answer.wait(30)
        return Response(big_listing(200))

    httpserver.expect_request("/api").respond_with_handler(listing)
    config = write_config(
        sources=toml_sources({"name": "hf", "kind": "hf-api", "url": httpserver.url_for("/api")}),
        service="lease_seconds = 2\nread_timeout = 30\nfetch_deadline = 60\n",
    )
    store = Store(pg_url)
    upgrade(store.engine)
    paused = subprocess.Popen(
        [str(BIN / "paperfeed"), "refresh"],
        env=environment(pg_url, config),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert fetching.wait(30), "the refresher never asked for the listing"
        paused.send_signal(signal.SIGSTOP)
        wait_for(lambda: store.lease_holder("refresh") is None, 10, "the lease to expire")
        assert store.acquire_lease("refresh", "the-new-holder", timedelta(minutes=1))
        answer.set()  # the listing is waiting in the socket when the refresher wakes up
        paused.send_signal(signal.SIGCONT)
        _, stderr = paused.communicate(timeout=60)
    finally:
        answer.set()
        if paused.poll() is None:
            paused.send_signal(signal.SIGCONT)
            paused.kill()
    assert store.count_papers() == 0, "the paused refresher wrote after losing its lease"
    assert store.source_state("hf").last_attempt is None
    assert store.lease_holder("refresh")[0] == "the-new-holder"  # type: ignore[index]
    assert "lease" in stderr, stderr  # it says why it stopped
    store.dispose()
