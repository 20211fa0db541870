"""A refresher stopped (SIGSTOP) inside its write transaction on PostgreSQL holds the lease
row until it goes on. Measured before: the next refresher and POST /admin/refresh?wait=1
waited 153 s, until it was resumed, and /status showed no holder and no failure. Now they
answer busy within seconds and /status says the lease is stuck."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from migrations import upgrade
from store import Store
from tests.helpers import ROOT, wait_for

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
LEASE_SECONDS = 2

# A refresher reduced to what matters: it takes the lease, opens a fenced write transaction
# (which locks the lease row until its commit) and is stopped inside it.
STOPPED_REFRESHER = f"""
import os, signal, sys
from datetime import timedelta
from store import Store
store = Store(sys.argv[1])
assert store.acquire_lease("refresh", "stopped-host:4242:cafe", timedelta(seconds={LEASE_SECONDS}))
with store.fenced("refresh", "stopped-host:4242:cafe"), store.transaction():
    print("writing", flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
"""


def stopped(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("T")


def timed_post(client, path: str, **kwargs) -> Future:  # type: ignore[no-untyped-def]
    """client.post in a thread: its answer, or still pending if it waits (as before)."""
    future: Future = Future()  # type: ignore[type-arg]

    def run() -> None:
        try:
            future.set_result(client.post(path, **kwargs))
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=run, daemon=True).start()
    return future


def test_a_refresher_stopped_in_its_write_leaves_others_busy_and_status_stuck(
    pg_url, write_config, make_app
) -> None:
    store = Store(pg_url)
    upgrade(store.engine)
    config = write_config(service=f"lease_seconds = {LEASE_SECONDS}\n")
    env = {**os.environ, "DATABASE_URL": pg_url, "PAPERFEED_CONFIG": str(config)}
    env["PYTHONPATH"] = str(ROOT)
    holder = subprocess.Popen(
        [sys.executable, "-c", STOPPED_REFRESHER, pg_url], cwd=ROOT, env=env, stdout=subprocess.PIPE
    )
    app = make_app(config, database_url=pg_url, admin_token="s3cret")
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"writing\n"
        wait_for(lambda: stopped(holder.pid), 10, "the refresher to stop itself")
        time.sleep(LEASE_SECONDS + 0.2)  # its lease runs out; its transaction holds the row

        started = time.monotonic()
        other = subprocess.run(
            [str(BIN / "paperfeed"), "refresh"], env=env, capture_output=True, text=True, timeout=30
        )
        took = time.monotonic() - started
        assert other.returncode == 3, other.stderr
        assert took < 15, f"the next refresher waited {took:.1f} s"

        client = app.test_client()
        started = time.monotonic()
        admin = timed_post(
            client, "/admin/refresh?wait=1", headers={"Authorization": "Bearer s3cret"}
        )
        answer = admin.result(timeout=30)
        waited = time.monotonic() - started
        print(f"next refresher: exit 3 after {took:.1f} s; admin: 409 after {waited:.1f} s")
        assert answer.status_code == 409, answer.get_json()
        assert waited < 15

        status = client.get("/status")
        assert status.status_code == 200
        lease = status.get_json()["lease"]
        assert lease["state"] == "stuck" and lease["since"], lease
        assert "stopped-host" not in str(lease) and "4242" not in str(lease)
    finally:
        holder.send_signal(signal.SIGCONT)
        holder.kill()
        holder.communicate(timeout=10)
        app.extensions["paperfeed"].close()
    # Its connection gone, the row is free: the next refresh runs.
    done = subprocess.run(
        [str(BIN / "paperfeed"), "refresh"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    store.dispose()
