"""Faults under load: wrk hammers several feeds for 60 s while refreshes run every few
seconds and one upstream flips between 200, 500 and timeouts. Zero 5xx; every 200 body
matches its ETag (no torn reads). PAPERFEED_FAULT_SECONDS shortens the run locally."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import threading
from itertools import count

import pytest
import requests
from werkzeug import Request, Response

from tests.helpers import (
    LISTINGS,
    free_port,
    need_tool,
    parser_fixture,
    start_gunicorn,
    toml_sources,
    wait_for,
)

pytestmark = pytest.mark.slow
SECONDS = int(os.environ.get("PAPERFEED_FAULT_SECONDS", "60"))


def test_load_with_refreshes_and_a_flapping_upstream(tmp_path, httpserver, write_config) -> None:
    wrk = need_tool("wrk")
    papers = json.loads(parser_fixture("cases/hf_daily_papers.json").read_text())
    calls = count()
    release = threading.Event()

    def flapping(request: Request) -> Response:
        n = next(calls)
        if n % 3 == 1:
            return Response("upstream broke", status=500)
        if n % 3 == 2:
            release.wait(1.5)  # longer than read_timeout: a timeout
            return Response("late")
        for item in papers:  # new upvotes every time: a new generation, new feed bodies
            item["paper"]["upvotes"] = n
        return Response(json.dumps(papers), content_type="application/json")

    httpserver.expect_request("/api").respond_with_handler(flapping)
    config = write_config(
        sources=toml_sources(
            {"name": "samples", "kind": "hf-text", "path": str(LISTINGS / "*.txt")},
            {"name": "flaky", "kind": "hf-api", "url": httpserver.url_for("/api")},
        ),
        service="refresh_minutes = 0.04\nretries = 0\nread_timeout = 1\nlease_seconds = 10\n"
        "generation_check_seconds = 0.5\n",
        topics="[topics.all]\nquery = '*'\n[topics.residual]\nquery = 'residual*'\n"
        "[topics.hot]\nquery = 'upvotes:[1 TO *]'\n",
    )
    port = free_port()
    env = {
        **os.environ,
        "PAPERFEED_CONFIG": str(config),
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}",
        "WEB_CONCURRENCY": "2",
        "PAPERFEED_SCHEDULER": "embedded",
    }
    log = (tmp_path / "web.log").open("wb")
    web = start_gunicorn(env, log)
    base = f"http://127.0.0.1:{port}"
    urls = [
        f"{base}/feeds/all.rss?limit=200",
        f"{base}/feeds/residual.atom",
        f"{base}/feeds/hot.json",
    ]
    checked = {"ok": 0, "torn": [], "errors": []}
    stop = threading.Event()

    def check_bodies() -> None:
        session = requests.Session()
        while not stop.is_set():
            for url in urls:
                try:
                    response = session.get(url, timeout=10)
                except requests.RequestException as error:
                    checked["errors"].append(str(error))
                    continue
                if response.status_code != 200:
                    checked["errors"].append(f"{url}: {response.status_code}")
                    continue
                digest = hashlib.sha256(response.content).hexdigest()[:32]
                etag = response.headers["ETag"].strip('"').removesuffix("-gz")
                if digest == etag:
                    checked["ok"] += 1
                else:
                    checked["torn"].append(url)

    try:
        wait_for(
            lambda: requests.get(f"{base}/status", timeout=2).json()["papers"] >= 431,
            60,
            "the first refresh",
        )
        generation_before = requests.get(f"{base}/status", timeout=5).json()["generation"]
        checker = threading.Thread(target=check_bodies, daemon=True)
        checker.start()
        loads = [
            subprocess.Popen(
                [wrk, "-t1", "-c8", f"-d{SECONDS}s", url], stdout=subprocess.PIPE, text=True
            )
            for url in urls
        ]
        outputs = [load.communicate(timeout=SECONDS + 60)[0] for load in loads]
        stop.set()
        checker.join(timeout=30)
        status = requests.get(f"{base}/status", timeout=5).json()
    finally:
        release.set()
        web.terminate()
        web.wait(timeout=30)
        log.close()

    for url, output in zip(urls, outputs, strict=True):
        assert "Non-2xx or 3xx responses" not in output, (url, output)
        assert not re.search(r"Socket errors:.*timeout [1-9]", output), (url, output)
        assert int(re.search(r"(\d+) requests in", output).group(1)) > 0  # type: ignore[union-attr]
    assert checked["torn"] == [] and checked["errors"] == []
    assert checked["ok"] > 100
    refreshes = status["generation"] - generation_before
    assert refreshes >= SECONDS // 10, f"only {refreshes} new generations in {SECONDS} s"
    assert next(calls) >= SECONDS // 5  # the flapping upstream was asked again and again
    assert status["sources"]["samples"]["failing"] is False
    assert status["papers"] == 431 + 5 - 3  # 3 of the 5 flaky papers are in the samples
