"""Operations: health, status, metrics, the admin refresh route, logs, migrations."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from logs import JsonFormatter
from migrations import upgrade
from refresh.pipeline import LEASE, Refresher
from store import Store
from store.schema import in_core_schema, metadata
from tests.helpers import ROOT, refresh, wait_for


def test_healthz(client) -> None:
    assert client.get("/healthz").get_json() == {"ok": True}


def test_status_tells_sources_lease_generation_and_age(app, client) -> None:
    refresh(app)
    status = client.get("/status").get_json()
    assert status["papers"] == 431 and status["generation"] >= 1
    assert status["data_age_seconds"] is not None and status["lease"] is None
    source = status["sources"]["samples"]
    assert source["last_success"] and source["next_run"] > source["last_refresh"]
    assert status["recent_refreshes"][0]["sources"] == 1
    assert status["recent_refreshes"][0]["new_papers"] == 431


def test_status_says_a_lease_is_held_without_naming_host_or_pid(app, client) -> None:
    """/status is public: it tells that a refresh holds the lease, until when, and an id
    that matches its run in recent_refreshes; not the holder's host name and pid."""
    svc = app.extensions["paperfeed"]
    holder = "web-7.internal.example:4242:ab12cd34"
    Refresher(svc.config, svc.store, holder=holder).run(force=True)
    assert svc.store.acquire_lease(LEASE, holder, timedelta(minutes=1))
    response = client.get("/status")
    status = response.get_json()
    lease = status["lease"]
    assert lease["held"] is True and lease["expires"]
    assert re.fullmatch(r"[0-9a-f]{8}", lease["id"]), lease
    assert status["recent_refreshes"][0]["holder"] == lease["id"]
    text = response.get_data(as_text=True)
    assert "web-7" not in text and "4242" not in text and "ab12cd34" not in text


def test_metrics_in_prometheus_format(app, client) -> None:
    refresh(app)
    client.get("/feeds/vit.rss")
    client.get("/feeds/vit.rss", headers={"If-None-Match": "*"})
    text = client.get("/metrics").get_data(as_text=True)
    assert "paperfeed_papers 431.0" in text
    assert 'paperfeed_refreshes_total{outcome="ok",source="samples"} 1.0' in text
    assert 'paperfeed_feed_requests_total{format="rss",status="200"} 1.0' in text
    assert 'paperfeed_feed_requests_total{format="rss",status="304"} 1.0' in text
    assert "paperfeed_refresh_seconds_bucket" in text
    assert "paperfeed_database_up 1.0" in text and "paperfeed_database_errors_total 0.0" in text
    stems = [line for line in text.splitlines() if line.startswith("paperfeed_stem_cache_bytes ")]
    assert stems and float(stems[0].split()[1]) > 0  # refreshing stemmed every paper's words
    assert "paperfeed_feed_cache_hits" in text


def test_admin_refresh_is_absent_without_a_token(client) -> None:
    assert client.post("/admin/refresh").status_code == 404
    assert client.post("/admin/refresh", headers={"Authorization": "Bearer x"}).status_code == 404


def test_admin_refresh_with_a_token(make_app) -> None:
    app = make_app(admin_token="s3cret")
    client = app.test_client()
    assert client.post("/admin/refresh").status_code == 401
    wrong = client.post("/admin/refresh", headers={"Authorization": "Bearer s3cre"})
    assert wrong.status_code == 401 and b"s3cret" not in wrong.data
    assert client.get("/admin/refresh").status_code == 405
    done = client.post("/admin/refresh?wait=1", headers={"Authorization": "Bearer s3cret"})
    assert done.status_code == 200
    assert done.get_json()["sources"]["samples"]["new"] == 431
    store = app.extensions["paperfeed"].store
    assert store.acquire_lease(LEASE, "someone-else", timedelta(minutes=1))
    busy = client.post("/admin/refresh", headers={"Authorization": "Bearer s3cret"})
    assert busy.status_code == 409 and busy.get_json()["holder"] == "someone-else"


def test_json_logs_are_one_object_per_line() -> None:
    record = logging.LogRecord(
        "paperfeed.refresh", logging.WARNING, __file__, 1, "source %s failed", ("hf",), None
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "source hf failed" and entry["level"] == "warning"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_build_exactly_the_schema_the_code_uses(request, tmp_path, backend) -> None:
    url = (
        f"sqlite:///{tmp_path / 'm.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    store = Store(url)
    upgrade(store.engine)
    upgrade(store.engine)  # idempotent
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": in_core_schema})
        diff = compare_metadata(context, metadata)
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert diff == []
    assert version == "0011"  # the newest revision in migrations/versions
    store.dispose()


def test_heroku_style_postgres_urls_are_accepted() -> None:
    from store import engine_url

    assert engine_url("postgres://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert engine_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert engine_url("sqlite:///x.db") == "sqlite:///x.db"


def test_postgres_url_in_the_postgres_scheme_works(pg_url) -> None:
    store = Store(pg_url.replace("postgresql://", "postgres://", 1))
    upgrade(store.engine)
    assert store.count_papers() == 0
    store.dispose()


@pytest.mark.slow
def test_workers_starting_together_on_a_new_sqlite_file_all_migrate(tmp_path) -> None:
    """gunicorn boots its workers at once; each runs migrations at start-up."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    go = tmp_path / "go"
    code = (  # every process imports first, says so, then all migrate at the same moment
        "import os, sys, time\nfrom migrations import upgrade\nfrom store import Store\n"
        f"store = Store({url!r})\n"
        f"open(os.path.join({str(tmp_path)!r}, 'ready-' + sys.argv[1]), 'w').close()\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\nupgrade(store.engine)\n"
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(n)], cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        for n in range(4)
    ]
    wait_for(lambda: len(list(tmp_path.glob("ready-*"))) == 4, 60, "4 processes to import")
    go.touch()
    outcomes = [(w.wait(timeout=60), w.communicate()[1]) for w in workers]
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
