"""Benchmark: a cached feed's throughput while uncached searches run, over real HTTP.

gunicorn with the Procfile's configuration (one worker, its threads) serves a synthetic
store; wrk (a C client, its own process) measures a cached topic feed alone, then while four
searcher processes send searches never asked before: polite ones wait as a 503's
Retry-After says, hostile ones ask again at once. Rounds interleave idle, polite and
hostile; each ratio is loaded / idle.

    python bench/search_load.py [--papers 20000] [--rounds 3] [--seconds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search import bulk_load, document_frequencies, pick, synthetic_papers  # noqa: E402
from bench.serve import start_gunicorn, wrk  # noqa: E402
from migrations import upgrade  # noqa: E402
from store import Store  # noqa: E402


def searcher(base: str, number: int, words: list[str], polite: bool, stop: Any) -> None:
    """Send searches never asked before until stopped; a polite one waits as a 503's
    Retry-After says, a hostile one asks again at once."""
    session, count = requests.Session(), 0
    while not stop.is_set():
        count += 1
        first, then = words[count % len(words)], words[(count * 7 + number) % len(words)]
        text = f'"{first} {then}" OR x{number}y{count}'  # never asked before: uncached
        with contextlib.suppress(requests.RequestException):
            answer = session.get(f"{base}/feeds/search.rss", params={"q": text}, timeout=30)
            if polite and answer.status_code == 503:
                stop.wait(float(answer.headers.get("Retry-After", "1")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--port", type=int, default=18741)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="paperfeed-search-load-"))
    db = f"sqlite:///{work / 'bench.db'}"
    rows, _ = synthetic_papers(args.papers, 7)
    freqs = document_frequencies(rows)
    narrow = pick(freqs, 0.01, min(len(rows), 20_000))
    words = [w for w, _ in sorted(freqs.items(), key=lambda item: -item[1])[:200]]
    store = Store(db)
    upgrade(store.engine)
    bulk_load(store, rows)
    config = work / "paperfeed.toml"
    config.write_text(f"[topics.narrow]\nquery = '{narrow}'\n")
    server = start_gunicorn(config, db, args.port, 1)
    base = f"http://127.0.0.1:{args.port}"
    feed = f"{base}/feeds/narrow.rss"
    try:
        requests.get(feed, timeout=30).raise_for_status()  # cached from here on
        rates: dict[str, list[float]] = {"idle": [], "polite": [], "hostile": []}
        for _ in range(args.rounds):
            rates["idle"].append(wrk(feed, args.seconds, 4))
            for kind in ("polite", "hostile"):
                stop = multiprocessing.Event()
                searchers = [
                    multiprocessing.Process(
                        target=searcher, args=(base, n, words, kind == "polite", stop)
                    )
                    for n in range(4)
                ]
                for process in searchers:
                    process.start()
                time.sleep(1)  # the searchers are under way
                rates[kind].append(wrk(feed, args.seconds, 4))
                stop.set()
                for process in searchers:
                    process.join(timeout=40)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.papers} papers; cached feed, wrk -t2 -c4, {args.seconds} s; 1 gunicorn worker")
    for kind, values in rates.items():
        print(f"{kind:8s} req/s: " + ", ".join(f"{v:,.0f}" for v in values))
    for kind in ("polite", "hostile"):
        ratios = [b / a for a, b in zip(rates["idle"], rates[kind], strict=True)]
        print(
            f"{kind} searchers / idle: median {statistics.median(ratios):.2f}x, "
            f"min {min(ratios):.2f}x (target >= 0.5x)"
        )


if __name__ == "__main__":
    main()
