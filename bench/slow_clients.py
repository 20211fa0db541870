"""Measure: do /healthz and a cached feed keep answering beside clients that stall?

Starts the web server with its Procfile configuration (granian: server.py; or gunicorn:
gunicorn.conf.py), measures the cached feed's throughput idle (wrk), then for each count
opens that many connections that send half a request head and then nothing, and while they
are held asks /healthz ten times (3 s timeout each) and measures the cached feed again. Also
the server's memory (its processes' RSS) and whether it is still running. Idle and loaded
runs alternate, so a busy machine slows both alike.

    python bench/slow_clients.py [--server granian|gunicorn] [--slow 16 200 1000] [--workers 1]
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.serve import start_server, stop, wrk  # noqa: E402
from tests.helpers import free_port  # noqa: E402


def rss_mib(pid: int) -> float:
    """Resident memory of pid and its children (the workers), in MiB."""
    pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    total = 0
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def stall(port: int, count: int) -> list[socket.socket]:
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        held.append(sock)
    return held


def healthz(base: str) -> tuple[int, float]:
    answered, slowest = 0, 0.0
    for _ in range(10):
        started = time.monotonic()
        with contextlib.suppress(requests.RequestException):  # counted as unanswered
            answered += requests.get(f"{base}/healthz", timeout=3).ok
        slowest = max(slowest, time.monotonic() - started)
    return answered, slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=("granian", "gunicorn"), default="granian")
    parser.add_argument("--slow", type=int, nargs="+", default=[16, 200, 1000])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    # 1,000 held sockets here and as many in the server (which inherits the limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    from migrations import upgrade
    from refresh.pipeline import Refresher
    from settings import load_config
    from store import Store

    folder = Path(tempfile.mkdtemp())
    db = f"sqlite:///{folder / 'paperfeed.db'}"
    config = ROOT / "samples" / "paperfeed.toml"
    store = Store(db)
    upgrade(store.engine)
    settings = load_config(config, overrides={"database_url": db})
    offline = replace(settings, sources=tuple(s for s in settings.sources if s.path))
    Refresher(offline, store).run(force=True)  # the bundled samples: a 156 KB feed
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    feed = f"{base}/feeds/residual.rss"
    server = start_server(args.server, config, db, port, args.workers)
    try:
        size = len(requests.get(feed, timeout=30).content)  # cached from now on
        print(
            f"{args.server}, {args.workers} worker(s); cached feed ({size:,} bytes): wrk -t2 -c16 "
            f"{args.seconds} s, {args.rounds} rounds alternating idle and beside the stalled "
            f"connections; /healthz: 10 requests, 3 s timeout; RSS: server and its workers"
        )
        print(f"idle RSS {rss_mib(server.pid):.0f} MiB")
        for count in args.slow:
            idle, loaded, answers, memory = [], [], [], []
            for _ in range(args.rounds):
                idle.append(wrk(feed, args.seconds, 16))
                held = stall(port, count)
                time.sleep(0.5)
                answers.append(healthz(base))
                loaded.append(wrk(feed, args.seconds, 16))
                memory.append(rss_mib(server.pid))
                for sock in held:
                    sock.close()
                alive = server.poll() is None
            worst = min(a for a, _ in answers)
            slowest = max(s for _, s in answers)
            busy, calm = statistics.median(loaded), statistics.median(idle)
            print(
                f"{count:5d} stalled: /healthz {worst}/10 (worst round), slowest {slowest:.2f} s; "
                f"cached feed {busy:,.0f} req/s vs {calm:,.0f} idle = {busy / calm:.2f}x; "
                f"RSS up to {max(memory):.0f} MiB; "
                f"server {'running' if alive else 'GONE'}"
            )
    finally:
        if server.poll() is None:
            stop(server)


if __name__ == "__main__":
    main()
