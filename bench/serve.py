"""Benchmark: wrk against gunicorn run with the Procfile's configuration.

Endpoints measured side by side, in interleaved rounds, in one run:
  feed       /feeds/residual.rss          (ours: cached body)
  revalidate /feeds/residual.rss with If-None-Match (304)
  floor      /bench/constant              (a Flask endpoint returning constant bytes of the
                                           same size: what serving can cost at best)
  naive      /bench/naive/residual.rss    (query and render per request)
  nofast     /nofast/feeds/residual.rss   (cached body, but through Flask routing: what the
                                           WSGI fast path saves)
Then the peak RSS of a web worker after 1,000 topics' feeds were requested.

    python bench/serve.py [--seconds 10] [--rounds 2] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def start_gunicorn(
    config: Path,
    db: str,
    port: int,
    workers: int,
    settings: dict[str, str] | None = None,
    root: Path = ROOT,
) -> subprocess.Popen[bytes]:
    """gunicorn serving bench.serve_app on port; settings: more PAPERFEED_* variables;
    root: the code to serve (another checkout, to compare with)."""
    env = {
        **os.environ,
        **(settings or {}),
        "PAPERFEED_CONFIG": str(config),
        "DATABASE_URL": db,
        "PAPERFEED_SCHEDULER": "off",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "PYTHONPATH": str(root),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(root / "gunicorn.conf.py"),
            "bench.serve_app:app",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok:
                return process
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def wrk(url: str, seconds: int, connections: int, header: str | None = None) -> float:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if header:
        command[1:1] = ["-H", header]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} error responses")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def worker_peak_rss_kib(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    peaks = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=18731)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")

    from migrations import upgrade
    from refresh.pipeline import Refresher
    from settings import load_config
    from store import Store

    work = Path(tempfile.mkdtemp(prefix="paperfeed-bench-"))
    db = f"sqlite:///{work / 'bench.db'}"
    config = ROOT / "samples" / "paperfeed.toml"
    settings = load_config(config, overrides={"database_url": db})
    settings = replace(settings, sources=tuple(s for s in settings.sources if s.path))  # offline
    store = Store(db)
    upgrade(store.engine)
    Refresher(settings, store).run(force=True)

    base = f"http://127.0.0.1:{args.port}"
    server = start_gunicorn(config, db, args.port, args.workers)
    try:
        feed = f"{base}/feeds/residual.rss"
        etag = requests.get(feed, timeout=5).headers["ETag"]
        size = len(requests.get(feed, timeout=5).content)
        rates: dict[str, list[float]] = {
            "feed": [],
            "nofast": [],
            "revalidate": [],
            "floor": [],
            "naive": [],
        }
        for _ in range(args.rounds):
            rates["feed"].append(wrk(feed, args.seconds, args.connections))
            rates["nofast"].append(
                wrk(f"{base}/nofast/feeds/residual.rss", args.seconds, args.connections)
            )
            rates["floor"].append(wrk(f"{base}/bench/constant", args.seconds, args.connections))
            rates["revalidate"].append(
                wrk(feed, args.seconds, args.connections, f"If-None-Match: {etag}")
            )
            rates["naive"].append(
                wrk(f"{base}/bench/naive/residual.rss", args.seconds, args.connections)
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    mean = {name: statistics.median(values) for name, values in rates.items()}
    print(
        f"body: {size} bytes; gunicorn workers: {args.workers}; wrk -t2 -c{args.connections}, "
        f"{args.rounds} x {args.seconds} s per endpoint, interleaved"
    )
    for name, value in mean.items():
        print(
            f"{name:11s} {value:10,.0f} req/s (median)   runs: "
            + ", ".join(f"{v:,.0f}" for v in rates[name])
        )
    per_round = [f / n for f, n in zip(rates["feed"], rates["nofast"], strict=True)]
    print(
        f"feed / nofast       {mean['feed'] / mean['nofast']:.2f}x  median; per round "
        + ", ".join(f"{r:.2f}" for r in per_round)
        + f" (min {min(per_round):.2f}); the fast path stays if >= 1.2x"
    )
    print(f"feed / floor        {mean['feed'] / mean['floor']:.2f}x  (target >= 0.9)")
    print(f"revalidate / floor  {mean['revalidate'] / mean['floor']:.2f}x  (target >= 1.0)")
    print(f"feed / naive        {mean['feed'] / mean['naive']:.1f}x  (target >= 5)")

    # Peak RSS with 1,000 topics cached in a worker (every topic's RSS, Atom and JSON).
    many = work / "many.toml"
    words = [
        "residual",
        "imagenet",
        "vit",
        "diffusion",
        "transformer",
        "contrastive",
        "dataset",
        "pruning",
        "distillation",
        "segmentation",
    ]
    topics = "\n".join(
        f"[topics.t{i}]\nquery = '{words[i % 10]} OR {words[(i * 7 + 3) % 10]}*'\n"
        for i in range(1000)
    )
    many.write_text(
        config.read_text()
        .split("[topics.")[0]
        .replace('path = "listings/*.txt"', f'path = "{ROOT / "samples/listings"}/*.txt"')
        + topics
    )
    settings = load_config(many, overrides={"database_url": db})
    settings = replace(settings, sources=tuple(s for s in settings.sources if s.path))
    Refresher(settings, Store(db)).run(force=True)
    server = start_gunicorn(many, db, args.port, 1)
    try:
        before = worker_peak_rss_kib(server.pid)
        session = requests.Session()
        for i in range(1000):
            for fmt in ("rss", "atom", "json"):
                session.get(f"{base}/feeds/t{i}.{fmt}", timeout=10).raise_for_status()
        status = session.get(f"{base}/metrics", timeout=10).text
        cached = re.search(r"paperfeed_feed_cache_bytes ([\d.e+]+)", status)
        after = worker_peak_rss_kib(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print(
        f"worker peak RSS: {before[0] / 1024:.0f} MiB at start, {after[0] / 1024:.0f} MiB "
        f"with 3,000 feeds of 1,000 topics cached "
        f"({float(cached.group(1)) / 2**20:.0f} MiB of bodies)"
        if cached
        else ""
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
