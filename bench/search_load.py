"""Benchmark: a cached feed's throughput while uncached searches run, over real HTTP.

gunicorn with the Procfile's configuration (one worker, its threads) serves a synthetic
store; wrk (a C client, its own process) measures a cached topic feed alone, then while four
searcher processes send searches never asked before: polite ones wait as a 503's
Retry-After says, hostile ones ask again at once. Rounds interleave idle, polite and
hostile; each ratio is loaded / idle. Searchers count their answers (200, 503, other).

With --compare, two servers take turns in every round: searches in the worker's threads
(search_in_processes = false) and in its search processes (true); --baseline DIR adds a
server of the code checked out in DIR, with its defaults (git archive main | tar -x).

    python bench/search_load.py [--papers 20000] [--rounds 3] [--seconds 5] [--compare]
                                [--baseline DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search import bulk_load, document_frequencies, pick, synthetic_papers  # noqa: E402
from bench.serve import start_gunicorn, wrk  # noqa: E402
from migrations import upgrade  # noqa: E402
from store import Store  # noqa: E402


def searcher(
    base: str, number: int, words: list[str], polite: bool, stop: Any, answers: Any
) -> None:
    """Send searches never asked before until stopped; a polite one waits as a 503's
    Retry-After says, a hostile one asks again at once. Puts its status counts on answers."""
    session, count = requests.Session(), 0
    statuses: Counter[str] = Counter()
    while not stop.is_set():
        count += 1
        first, then = words[count % len(words)], words[(count * 7 + number) % len(words)]
        text = f'"{first} {then}" OR x{number}y{count}'  # never asked before: uncached
        try:
            answer = session.get(f"{base}/feeds/search.rss", params={"q": text}, timeout=30)
        except requests.RequestException:
            statuses["error"] += 1
            continue
        statuses[str(answer.status_code) if answer.status_code in (200, 503) else "other"] += 1
        if polite and answer.status_code == 503:
            stop.wait(float(answer.headers.get("Retry-After", "1")))
    answers.put(statuses)


def children(pid: int) -> list[int]:
    """Child processes of pid, started by any of its threads."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += map(int, (task / "children").read_text().split())
    return found


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the processes have used so far; gone ones count 0."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measure(
    feed: str, base: str, words: list[str], kind: str, seconds: int, master: int
) -> tuple[float, Counter[str], dict[str, float]]:
    """The cached feed's req/s beside four searchers of kind (none when idle), what the
    searchers were answered, and the cores each party used while wrk ran."""
    stop = multiprocessing.Event()
    answers: Any = multiprocessing.Queue()
    searchers = [
        multiprocessing.Process(
            target=searcher, args=(base, n, words, kind == "polite", stop, answers)
        )
        for n in range(4 if kind != "idle" else 0)
    ]
    for process in searchers:
        process.start()
    if searchers:
        time.sleep(1)  # the searchers are under way
    [worker] = children(master)
    parties = {
        "worker": lambda: [worker],
        "search processes": lambda: children(worker),
        "searchers": lambda: [p.pid for p in searchers if p.pid],
    }
    before = {name: cpu_seconds(pids()) for name, pids in parties.items()}
    started = time.monotonic()
    rate = wrk(feed, seconds, 4)
    elapsed = time.monotonic() - started
    cores = {name: (cpu_seconds(pids()) - before[name]) / elapsed for name, pids in parties.items()}
    stop.set()
    statuses: Counter[str] = Counter()
    for _ in searchers:
        statuses += answers.get(timeout=60)
    for process in searchers:
        process.join(timeout=40)
    return rate, statuses, cores


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SERVERS = {  # name: settings of its gunicorn
    "threads": {"PAPERFEED_SEARCH_IN_PROCESSES": "false"},
    "processes": {"PAPERFEED_SEARCH_IN_PROCESSES": "true"},
}
KINDS = ("idle", "polite", "hostile")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--port", type=int, default=0, help="first port (default: free ones)")
    parser.add_argument("--compare", action="store_true", help="threads vs processes")
    parser.add_argument("--baseline", type=Path, help="also serve the code in this folder")
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
    names = (["baseline"] if args.baseline else []) + (list(SERVERS) if args.compare else [])
    names = names or ["default"]
    # Not a fixed port: a server already listening there would answer in our server's place.
    ports = [args.port + n if args.port else free_port() for n in range(len(names))]
    servers = {
        name: start_gunicorn(
            config,
            db,
            ports[n],
            1,
            SERVERS.get(name),
            args.baseline.resolve() if name == "baseline" else ROOT,
        )
        for n, name in enumerate(names)
    }
    rates: dict[str, dict[str, list[float]]] = {name: {k: [] for k in KINDS} for name in names}
    answered = {name: {kind: Counter[str]() for kind in KINDS} for name in names}
    used = {name: {kind: Counter[str]() for kind in KINDS} for name in names}
    try:
        for port in ports:
            feed = f"http://127.0.0.1:{port}/feeds/narrow.rss"
            requests.get(feed, timeout=30).raise_for_status()  # cached from here on
        for _ in range(args.rounds):
            for kind in KINDS:
                for n, name in enumerate(names):
                    base = f"http://127.0.0.1:{ports[n]}"
                    rate, statuses, cores = measure(
                        f"{base}/feeds/narrow.rss",
                        base,
                        words,
                        kind,
                        args.seconds,
                        servers[name].pid,
                    )
                    rates[name][kind].append(rate)
                    answered[name][kind] += statuses
                    used[name][kind].update(cores)
    finally:
        for server in servers.values():
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.papers} papers; cached feed, wrk -t2 -c4, {args.seconds} s; 1 gunicorn worker")
    for name in names:
        report(name, rates[name], answered[name], used[name], args.rounds)


def report(
    name: str,
    rates: dict[str, list[float]],
    answered: dict[str, Counter[str]],
    used: dict[str, Counter[str]],
    rounds: int,
) -> None:
    print(f"{name}" + (f" ({SERVERS[name]})" if name in SERVERS else ""))
    for kind, values in rates.items():
        searches = ", ".join(f"{status}: {n}" for status, n in sorted(answered[kind].items()))
        cores = ", ".join(f"{party} {c / rounds:.2f}" for party, c in used[kind].items())
        print(
            f"  {kind:8s} req/s: "
            + ", ".join(f"{v:,.0f}" for v in values)
            + (f"   searches {searches}" if searches else "")
            + f"   cores: {cores}"
        )
    for kind in ("polite", "hostile"):
        ratios = [b / a for a, b in zip(rates["idle"], rates[kind], strict=True)]
        print(
            f"  {kind} searchers / idle: median {statistics.median(ratios):.2f}x, "
            f"min {min(ratios):.2f}x (target >= 0.5x)"
        )


if __name__ == "__main__":
    main()
