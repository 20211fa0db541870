"""Benchmark: wrk against both web servers run with their Procfile configuration.

granian (server.py, the Procfile's web process) and gunicorn (gunicorn.conf.py, the
documented alternative) serve bench.serve_app at once, on two ports, with the same workers.
In each round every request kind is sent to each server in turn, interleaved, so a busy
machine slows both alike; the ratios are of medians over the rounds:
  ours   /feeds/residual.rss      (the cached feed: 200, 304 with If-None-Match, gzip)
  flask  /bench/constant          (a Flask view returning the same bytes: the Flask floor)
  raw    /bench/raw               (a bare WSGI callable returning them: the server's floor)
The floors get the same request headers (they answer 200 with the whole body).
Then the peak RSS of a granian worker after 1,000 topics' feeds were requested.

wrk runs on the same cores as the servers, so once the servers and wrk fill the machine a
ratio can be no more than granian's raw floor over gunicorn's Flask floor (printed as "the
ceiling"): no WSGI app under granian outruns a bare callable. --pin keeps the load
generator off the servers' cores (wrk on the first CPU, both servers on the others), as a
load generator on another machine would be: what is compared is then the servers' own cost.

    python bench/serve.py [--seconds 3] [--rounds 3] [--connections 32] [--workers 1 2] [--pin]
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

SERVERS = ("granian", "gunicorn")
KINDS = ("200", "304", "gzip")
APPS = {"ours": "/feeds/residual.rss", "flask": "/bench/constant", "raw": "/bench/raw"}


# CPU lists for taskset when --pin is given: (wrk's, the servers'); empty: no pinning.
PINNED: tuple[list[str], list[str]] = ([], [])


def pinning(cpus: int) -> tuple[list[str], list[str]]:
    """taskset prefixes that put wrk on CPU 0 and the servers on the rest."""
    if cpus < 2 or not shutil.which("taskset"):
        sys.exit("--pin needs taskset and at least two CPUs")
    return ["taskset", "-c", "0"], ["taskset", "-c", f"1-{cpus - 1}"]


def start_server(
    server: str,
    config: Path,
    db: str,
    port: int,
    workers: int,
    settings: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """server (granian or gunicorn) serving bench.serve_app on port with the Procfile's
    settings; settings: more PAPERFEED_* variables."""
    env = {
        **os.environ,
        **(settings or {}),
        "PAPERFEED_CONFIG": str(config),
        "DATABASE_URL": db,
        "PAPERFEED_SCHEDULER": "off",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "PYTHONPATH": str(ROOT),
    }
    if server == "granian":
        command = [sys.executable, str(ROOT / "bench" / "serve_worker.py")]
    else:
        command = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py")]
        command.append("bench.serve_app:app")
    process = subprocess.Popen(
        PINNED[1] + command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(1200):
        try:
            if requests.get(f"http://127.0.0.1:{port}/bench/raw", timeout=5).ok:
                return process
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{server} did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def wrk(url: str, seconds: int, connections: int, header: str | None = None) -> float:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url]
    if header:
        command[1:1] = ["-H", header]
    out = subprocess.run(PINNED[0] + command, capture_output=True, text=True, check=True).stdout
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


SAMPLE_CONFIG = ROOT / "samples" / "paperfeed.toml"


def sample_store(prefix: str) -> tuple[Path, str]:
    """A new working folder and the URL of a SQLite store in it, refreshed from the sample
    config's bundled listings (offline: its live sources left out)."""
    from migrations import upgrade
    from refresh.pipeline import Refresher
    from settings import load_config
    from store import Store

    work = Path(tempfile.mkdtemp(prefix=prefix))
    db = f"sqlite:///{work / 'bench.db'}"
    settings = load_config(SAMPLE_CONFIG, overrides={"database_url": db})
    settings = replace(settings, sources=tuple(s for s in settings.sources if s.path))  # offline
    store = Store(db)
    upgrade(store.engine)
    Refresher(settings, store).run(force=True)
    store.dispose()
    return work, db


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--port", type=int, default=18731)
    parser.add_argument("--no-memory", action="store_true", help="skip the 1,000-topic RSS")
    parser.add_argument(
        "--pin", action="store_true", help="wrk on CPU 0, the servers on the other CPUs"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    if args.pin:
        PINNED[0][:], PINNED[1][:] = pinning(os.cpu_count() or 1)

    work, db = sample_store("paperfeed-bench-")
    config = SAMPLE_CONFIG

    print(
        f"wrk -t2 -c{args.connections}, {args.rounds} rounds x {args.seconds} s per request "
        "kind and server, interleaved; req/s medians (per-round values)"
        + ("; wrk on CPU 0, the servers on the others" if args.pin else "")
    )
    for workers in args.workers:
        ports = {name: args.port + i for i, name in enumerate(SERVERS)}
        servers = {name: start_server(name, config, db, ports[name], workers) for name in SERVERS}
        try:
            rates = measure(ports, args.rounds, args.seconds, args.connections)
        finally:
            for process in servers.values():
                stop(process)
        report(rates, workers)

    if not args.no_memory:
        memory(work, config, db, args.port)
    shutil.rmtree(work, ignore_errors=True)


def measure(
    ports: dict[str, int], rounds: int, seconds: int, connections: int
) -> dict[tuple[str, str, str], list[float]]:
    """req/s per (server, app, kind), each kind sent to every app on every server in turn."""
    base = f"http://127.0.0.1:{ports['granian']}"
    etag = requests.get(f"{base}{APPS['ours']}", timeout=5).headers["ETag"]
    headers = {"200": None, "304": f"If-None-Match: {etag}", "gzip": "Accept-Encoding: gzip"}
    for port in ports.values():  # fill the caches: every round measures cached answers
        for path in APPS.values():
            for encoding in ("identity", "gzip"):
                url = f"http://127.0.0.1:{port}{path}"
                requests.get(url, headers={"Accept-Encoding": encoding}, timeout=30)
    rates: dict[tuple[str, str, str], list[float]] = {}
    for _ in range(rounds):
        for kind in KINDS:
            for app, path in APPS.items():
                for server, port in ports.items():
                    url = f"http://127.0.0.1:{port}{path}"
                    rate = wrk(url, seconds, connections, headers[kind])
                    rates.setdefault((server, app, kind), []).append(rate)
    return rates


def report(rates: dict[tuple[str, str, str], list[float]], workers: int) -> None:
    median = {key: statistics.median(values) for key, values in rates.items()}
    print(f"\n{workers} worker(s)")
    print(f"{'':18s}" + "".join(f"{kind:>26s}" for kind in KINDS))
    for server in SERVERS:
        for app in APPS:
            cells = []
            for kind in KINDS:
                runs = "/".join(f"{v / 1000:.1f}" for v in rates[(server, app, kind)])
                cells.append(f"{median[(server, app, kind)]:9,.0f} ({runs}k)")
            print(f"{server + ' ' + app:18s}" + "".join(f"{c:>26s}" for c in cells))
    floor = {kind: median[("gunicorn", "flask", kind)] for kind in KINDS}
    for server in SERVERS:
        line = ", ".join(
            f"{kind} {median[(server, 'ours', kind)] / floor[kind]:.2f}x" for kind in KINDS
        )
        print(f"{server} ours / gunicorn Flask floor: {line}   (target under granian: >= 5x)")
    line = ", ".join(
        f"{kind} {median[('granian', 'raw', kind)] / floor[kind]:.2f}x" for kind in KINDS
    )
    print(f"the ceiling, granian raw floor / gunicorn Flask floor: {line}")
    for server in SERVERS:
        line = ", ".join(
            f"{kind} {median[(server, 'ours', kind)] / median[(server, 'raw', kind)]:.2f}x"
            for kind in KINDS
        )
        print(f"{server} ours / its raw-callable floor: {line}")
    for kind in KINDS:
        per_round = [
            g / f
            for g, f in zip(
                rates[("granian", "ours", kind)], rates[("gunicorn", "flask", kind)], strict=True
            )
        ]
        print(
            f"{kind}: granian ours / gunicorn Flask floor per round: "
            + ", ".join(f"{r:.2f}" for r in per_round)
            + f" (min {min(per_round):.2f})"
        )


def memory(work: Path, config: Path, db: str, port: int) -> None:
    """Peak RSS of a granian worker with 1,000 topics cached (every topic's RSS, Atom, JSON)."""
    from refresh.pipeline import Refresher
    from settings import load_config
    from store import Store

    base = f"http://127.0.0.1:{port}"
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
    server = start_server("granian", many, db, port, 1)
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
        stop(server)
    print(
        f"worker peak RSS: {before[0] / 1024:.0f} MiB at start, {after[0] / 1024:.0f} MiB "
        f"with 3,000 feeds of 1,000 topics cached "
        f"({float(cached.group(1)) / 2**20:.0f} MiB of bodies)"
        if cached
        else ""
    )


if __name__ == "__main__":
    main()
