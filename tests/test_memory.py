"""Memory budgets hold: the feed cache counts keys and per-entry overhead, the stem cache is
bounded in bytes, and a worker's RSS stays under budget + baseline after 10,000 distinct
queries."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tracemalloc
from datetime import UTC, datetime

import pytest

from tests.helpers import ROOT
from topics import analysis
from web.cache import CachedFeed, FeedCache

MiB = 1024 * 1024


def test_many_small_entries_with_long_keys_stay_in_the_cache_budget() -> None:
    budget = 1 * MiB
    cache = FeedCache(budget)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    body = CachedFeed.build(b"<rss/>", datetime(2026, 1, 1, tzinfo=UTC), 0)
    for number in range(20_000):
        query = f"q{number} " + "x" * 900  # a search key carries the query text, twice
        cache.get_or_build(("search", query, "rss", 50, "http://h", query, 1), lambda: body)
    held = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    assert cache.used <= budget
    assert held <= budget * 1.1, f"{held / MiB:.1f} MiB held for a {budget / MiB:.0f} MiB budget"


def test_the_stem_cache_is_bounded_in_bytes(monkeypatch) -> None:
    monkeypatch.setattr(analysis.STEMS, "max_bytes", 1 * MiB)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for number in range(50_000):
        analysis.stem(f"w{number}" + "s" * 500)  # 50,000 odd words of 500 bytes: 25 MB
    held = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    assert analysis.STEMS.bytes <= 1 * MiB
    assert held <= 1.2 * MiB, f"{held / MiB:.1f} MiB held"
    assert analysis.stem("networks") == "network"


# Runs in a fresh interpreter, so the RSS measured is one worker's and nothing else's.
PROBE = textwrap.dedent(
    """
    import os, sys, tempfile
    import topics.analysis
    from app import create_app
    from tests.helpers import DEFAULT_TOPICS, parser_fixture, refresh, toml_sources

    def rss():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) * 1024

    queries, cache_bytes, stem_bytes = map(int, sys.argv[1:4])
    topics.analysis.STEMS.max_bytes = stem_bytes
    folder = tempfile.mkdtemp()
    config = os.path.join(folder, "paperfeed.toml")
    listing = parser_fixture("cases/hf_daily_papers.json")
    source = {"name": "hf", "kind": "hf-api", "path": str(listing)}
    with open(config, "w") as out:
        out.write(toml_sources(source) + "\\n" + DEFAULT_TOPICS)
    app = create_app({"config_path": config, "database_url": f"sqlite:///{folder}/p.db",
                      "scheduler": "off", "cache_bytes": cache_bytes,
                      "search_in_processes": False})  # searches here, with its stem cache
    refresh(app)
    client = app.test_client()

    def ask(n):
        # Distinct words, long ones: each query adds to the stem cache and the feed cache.
        q = f"residual OR w{n}{'x' * (100 + n % 300)} OR v{n * 7919}{'y' * 300}s OR u{n}{'z' * 200}"
        answer = client.get("/feeds/search.rss", query_string={"q": q, "limit": 1 + n % 50})
        assert answer.status_code == 200, answer.status_code

    for n in range(-300, 0):
        ask(n)
    baseline = peak = rss()
    for n in range(queries):
        ask(n)
        if n % 250 == 0:
            peak = max(peak, rss())
    print(baseline, max(peak, rss()))
    """
)


@pytest.mark.slow
def test_a_workers_rss_stays_under_budget_after_10000_distinct_queries() -> None:
    cache_bytes, stem_bytes = 4 * MiB, 2 * MiB
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "10000", str(cache_bytes), str(stem_bytes)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    baseline, peak = map(int, done.stdout.split())
    growth = peak - baseline
    assert growth <= cache_bytes + stem_bytes, (
        f"RSS grew {growth / MiB:.1f} MiB over a {baseline / MiB:.0f} MiB baseline; "
        f"budget {(cache_bytes + stem_bytes) / MiB:.0f} MiB"
    )
