"""Uncached searches in processes beside the web process (web/search_pool.py): the same
answers as inline, the same errors, and no process left behind or wedged."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from migrations import upgrade
from store import Store
from tests.helpers import one_search_held, refresh, wait_for
from topics.query import parse
from topics.search import Budget
from web import search_pool

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ["residual", '"diffusion model"', "transf*", "vit OR diffusion", "upvotes:>=0"]


@pytest.fixture
def pooled(make_app):  # type: ignore[no-untyped-def]
    """An app whose searches run in the pool, refreshed; its processes stopped after."""
    apps = []

    def make(**overrides: object):  # type: ignore[no-untyped-def]
        app = make_app(search_in_processes=True, **overrides)
        apps.append(app)
        refresh(app)
        return app

    yield make
    for app in apps:
        app.extensions["paperfeed"].close()


def live(pids: list[int]) -> set[int]:
    """Those of pids still running (active_children also reaps the ones that ended)."""
    return {child.pid for child in multiprocessing.active_children()} & set(pids)


@pytest.mark.parametrize(
    # The one pool test of the fast set: its processes, its answers; the rest are slow.
    "backend",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)],
)
def test_searches_through_the_pool_answer_as_inline(
    request, pooled, make_app, database_url: str, backend: str
) -> None:
    url = database_url if backend == "sqlite" else request.getfixturevalue("pg_url")
    app = pooled(database_url=url)
    inline = make_app(database_url=url)  # the same database, searches in its own thread
    for q in QUERIES:
        for path in ("/feeds/search.json", "/search"):
            through_pool = app.test_client().get(path, query_string={"q": q})
            in_thread = inline.test_client().get(path, query_string={"q": q})
            assert through_pool.status_code == in_thread.status_code == 200, (path, q)
            assert through_pool.data == in_thread.data, (path, q)
    assert len(app.extensions["paperfeed"].search_pool.pids()) == 1  # search_concurrency
    inline.extensions["paperfeed"].close()


@pytest.mark.slow
def test_an_expensive_query_answers_422_through_the_pool(pooled) -> None:
    client = pooled(search_max_rows=100).test_client()
    response = client.get("/feeds/search.rss", query_string={"q": "upvotes:>=100000"})
    assert response.status_code == 422
    assert response.get_json()["error"].startswith("query too expensive: ")


@pytest.mark.slow
def test_a_database_error_in_the_search_process_answers_503_database_unavailable(
    pooled, database_url: str
) -> None:
    app = pooled()
    client = app.test_client()
    assert client.get("/feeds/residual.rss").status_code == 200  # this process's connection
    # The search process opens the path anew: an empty database, without the tables.
    path = Path(database_url.removeprefix("sqlite:///"))
    path.rename(path.with_name("moved.db"))
    response = client.get("/feeds/search.rss?q=residual")
    assert response.status_code == 503
    assert response.get_json()["error"] == "database unavailable"


@pytest.mark.slow
def test_a_killed_search_process_is_replaced(pooled) -> None:
    app = pooled()
    svc, client = app.extensions["paperfeed"], app.test_client()
    assert client.get("/feeds/search.rss?q=residual").status_code == 200
    [killed] = svc.search_pool.pids()
    os.kill(killed, signal.SIGKILL)
    assert client.get("/feeds/search.rss?q=diffusion").status_code == 200  # asked again
    assert svc.search_pool.pids() and killed not in svc.search_pool.pids()
    assert client.get("/feeds/search.rss?q=vit").status_code == 200


def _dies_once(store, query, limit, budget, marker: str) -> str:  # type: ignore[no-untyped-def]
    """A search job whose process is killed the first time it runs."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return "answered"


@pytest.mark.slow
def test_a_process_dead_between_searches_does_not_spend_the_next_searchs_retry(
    pooled, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A process that died while idle breaks the pool before the next search starts; that
    search still gets its one retry when its own process then dies."""
    app = pooled()
    svc, client = app.extensions["paperfeed"], app.test_client()
    assert client.get("/feeds/search.rss?q=residual").status_code == 200
    [idle] = svc.search_pool.pids()
    os.kill(idle, signal.SIGKILL)
    wait_for(lambda: idle not in live([idle]), 10, "the idle search process to die")
    time.sleep(0.5)  # the pool's manager thread marks the pool broken
    answer = svc.search_pool.run(_dies_once, parse("x"), 1, Budget(), str(tmp_path / "died"))
    assert answer == "answered"


@pytest.mark.slow
def test_a_search_past_its_seconds_is_stopped_and_answers_422(pooled, monkeypatch) -> None:
    # A new process takes longer than this search's budget to start: to the waiting thread,
    # that search is a runaway one.
    monkeypatch.setattr(search_pool, "START_SECONDS", 0.0)
    app = pooled(search_max_seconds=0.01)
    pool = app.extensions["paperfeed"].search_pool
    started = time.monotonic()
    response = app.test_client().get("/feeds/search.rss?q=residual")
    assert response.status_code == 422
    assert "ran for more than 0.01 seconds" in response.get_json()["error"]
    assert time.monotonic() - started < 5
    assert pool.pids() == []  # the stuck process was killed with its pool


@pytest.mark.slow
def test_busy_slots_answer_503_through_the_pool_and_cached_feeds_still_serve(
    pooled, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    app = pooled(search_concurrency=1)
    svc, client = app.extensions["paperfeed"], app.test_client()
    assert client.get("/feeds/residual.rss").status_code == 200  # now cached
    with one_search_held(app, svc.search_pool, "run", monkeypatch):
        busy = client.get("/feeds/search.rss?q=diffusion")
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
        assert client.get("/feeds/residual.rss").status_code == 200
    assert client.get("/feeds/search.rss?q=diffusion").status_code == 200


@pytest.mark.slow
def test_closing_the_service_leaves_no_search_process(pooled) -> None:
    app = pooled(search_concurrency=2)
    svc = app.extensions["paperfeed"]
    threads = [
        threading.Thread(target=lambda q=q: app.test_client().get(f"/search?q={q}"))
        for q in ("residual", "diffusion")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    pids = svc.search_pool.pids()
    assert pids and live(pids) == set(pids)
    svc.close()
    assert live(pids) == set()
    assert svc.search_pool.pids() == []


@pytest.mark.slow
def test_a_search_process_leaves_when_its_web_worker_is_killed(tmp_path: Path) -> None:
    """SIGKILL skips worker_exit: the search process must notice its parent is gone."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(Store(url).engine)
    script = tmp_path / "worker.py"
    script.write_text(
        "import sys, time\n"
        "import functools\n"
        "from app import open_store\n"
        "from web.search_pool import SearchPool, papers\n"
        "from topics.query import parse\n"
        "from topics.search import Budget\n"
        "if __name__ == '__main__':\n"
        "    pool = SearchPool(functools.partial(open_store, sys.argv[1]), 1)\n"
        "    pool.run(papers, parse('x'), 1, Budget())\n"
        "    print(*pool.pids(), flush=True)\n"
        "    time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, str(script), url], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env
    ) as worker:
        assert worker.stdout is not None
        (child,) = map(int, worker.stdout.readline().split())
        worker.kill()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(child):
        time.sleep(0.05)
    assert not _running(child)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
