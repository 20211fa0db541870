"""The database goes away: cached feeds keep answering with the same bytes and ETag, the
service says so (/readyz, /status, /metrics, logs), and it heals without a restart."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.helpers import refresh, wait_for

CACHED = ["/feeds/residual.rss", "/feeds/vit.atom", "/feeds/hot.json?limit=5"]


def metric(client, name: str) -> float:  # type: ignore[no-untyped-def]
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.fixture
def outage_db(pg_url: str) -> Iterator[tuple[str, sa.Engine]]:
    """A database of our own (pf13 -> pf13_outage) and an admin engine that can take it away."""
    admin = sa.create_engine(
        pg_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    name = admin.url.database + "_outage"
    with admin.connect() as conn:
        for db in (name, name + "_away"):
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield pg_url.rsplit("/", 1)[0] + "/" + name, admin
    with admin.connect() as conn:
        for db in (name, name + "_away"):
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    admin.dispose()


def take_away(admin: sa.Engine, name: str) -> None:
    """The database disappears under the app: its connections killed, its name gone."""
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        conn.execute(sa.text(f'ALTER DATABASE "{name}" RENAME TO "{name}_away"'))


def bring_back(admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}_away" RENAME TO "{name}"'))


@pytest.mark.slow  # a database outage: takes the database away and waits for it to heal
def test_a_lost_postgres_database_leaves_cached_feeds_answering_and_heals(
    make_app, outage_db, caplog
) -> None:
    url, admin = outage_db
    name = url.rsplit("/", 1)[1]
    app = make_app(database_url=url)
    client = app.test_client()
    refresh(app)
    before = {path: client.get(path) for path in CACHED}
    assert all(r.status_code == 200 for r in before.values())

    take_away(admin, name)
    for _ in range(3):  # every request during the outage, not only the first
        for path, earlier in before.items():
            during = client.get(path)
            assert during.status_code == 200, (path, during.data[:200])
            assert during.headers["ETag"] == earlier.headers["ETag"]
            assert during.data == earlier.data
    assert (
        client.get(
            CACHED[0], headers={"If-None-Match": before[CACHED[0]].headers["ETag"]}
        ).status_code
        == 304
    )
    assert client.get("/healthz").status_code == 200  # alive: do not restart it
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["database"]["up"] is False
    uncached = client.get("/feeds/residual.rss?limit=7")
    assert uncached.status_code == 503 and uncached.headers["Retry-After"]
    status = client.get("/status")
    assert status.status_code == 503 and status.get_json()["database"]["failures"] >= 1
    assert metric(client, "paperfeed_database_up") == 0
    assert metric(client, "paperfeed_database_errors_total") >= 1
    assert "database unreachable" in caplog.text

    bring_back(admin, name)
    wait_for(lambda: client.get("/readyz").status_code == 200, 10, "/readyz to answer 200")
    wait_for(lambda: client.get("/status").status_code == 200, 10, "/status to answer 200")
    assert client.get("/status").get_json()["database"]["up"] is True
    assert client.get("/feeds/residual.rss?limit=7").status_code == 200
    assert metric(client, "paperfeed_database_up") == 1
    # A refresh after the outage is served without a restart.
    svc = app.extensions["paperfeed"]
    svc.store.bump_generation()
    wait_for(lambda: svc.generation() == svc.store.generation(), 10, "the new generation")
    assert client.get(CACHED[0]).headers["ETag"] == before[CACHED[0]].headers["ETag"]
    app.extensions["paperfeed"].store.dispose()


def _immutable(path: Path, on: bool) -> None:
    subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True)


@pytest.fixture
def read_only_moment(tmp_path: Path) -> Iterator[Path]:
    """Make a file unwritable even for root (chattr +i), and writable again at the end."""
    if os.geteuid() != 0 or not shutil.which("chattr"):
        pytest.skip("needs root and chattr to make a file read-only for the test process")
    probe = tmp_path / "probe"
    probe.touch()
    if subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode:
        pytest.skip("this file system has no immutable attribute")
    _immutable(probe, False)
    database = tmp_path / "paperfeed.db"
    yield database
    subprocess.run(["chattr", "-i", str(database)], capture_output=True)


def test_sqlite_read_only_for_a_moment_heals_when_writable_again(
    make_app, read_only_moment
) -> None:
    app = make_app()
    client = app.test_client()
    svc = app.extensions["paperfeed"]
    refresh(app)
    etag = client.get("/feeds/residual.rss").headers["ETag"]

    _immutable(read_only_moment, True)
    svc.store.engine.dispose()  # connections opened from now on are opened during the fault
    with pytest.raises(sa.exc.OperationalError, match="readonly"):
        refresh(app)
    failure = client.get("/status").get_json()["refresh_failure"]
    assert failure and "readonly" in failure["error"]
    assert client.get("/feeds/residual.rss").headers["ETag"] == etag  # still served

    _immutable(read_only_moment, False)
    report = refresh(app)  # the same process, the same pool: no restart
    assert report.ran and all(s.status != "error" for s in report.sources)  # type: ignore[attr-defined]
    assert client.get("/status").get_json()["refresh_failure"] is None
    started = time.monotonic()
    svc.store.bump_generation()
    assert time.monotonic() - started < 5
