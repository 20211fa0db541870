"""Benchmark: can clients sending a new Host per request take the feed cache away?

One client polls a cached feed for --seconds, idle, then beside --flooders threads that
each ask for a 200-item feed as fast as they can, in three runs of gunicorn as in the
Procfile (on 127.0.0.1, 1 worker of 4 threads):
  cached      the flooders ask for the cached feed itself (the floor: their fair share)
  new-hosts   each flood request under a new Host / X-Forwarded-Host, neither base_url nor
              allowed_hosts set (the laptop default): renders beyond render_concurrency 503
  allowed     the same with allowed_hosts set: every flood request is a cache lookup
Prints the polite client's flooded / idle throughput and what the flood was answered.

    python bench/host_flood.py [--seconds 8] [--flooders 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import free_port  # noqa: E402

FEED = "/feeds/residual.rss"
FLOODED = "/feeds/vision-transformers.rss?limit=200"


def polite(base: str, seconds: float) -> float:
    """Requests a second one client gets for the cached feed."""
    session, answered = requests.Session(), 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if session.get(base + FEED, headers={"Host": "laptop"}, timeout=30).ok:
            answered += 1
    return answered / seconds


def flood(base: str, same_host: bool, stop: threading.Event, answers: Counter[str]) -> None:
    session = requests.Session()
    while not stop.is_set():
        host = "laptop" if same_host else f"{uuid.uuid4().hex[:12]}.example"
        path = FEED if same_host else FLOODED
        try:
            status = session.get(
                base + path, headers={"Host": host, "X-Forwarded-Host": host}, timeout=30
            ).status_code
            answers[str(status)] += 1
        except requests.RequestException as error:
            answers[type(error).__name__] += 1


def run(name: str, db: Path, seconds: float, flooders: int, **env: str) -> None:
    port = free_port()
    environ = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{db}",
        "WEB_CONCURRENCY": "1",
        "PAPERFEED_SCHEDULER": "off",
        **env,
    }
    command = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py")]
    web = subprocess.Popen([*command, "app:app"], cwd=ROOT, env=environ, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(base + FEED, headers={"Host": "laptop"}, timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        idle = polite(base, seconds)
        stop, answers = threading.Event(), Counter[str]()
        threads = [
            threading.Thread(target=flood, args=(base, name == "cached", stop, answers))
            for _ in range(flooders)
        ]
        for thread in threads:
            thread.start()
        time.sleep(1)
        flooded = polite(base, seconds)
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        web.terminate()
        web.wait()
    print(
        f"{name:10} idle {idle:5.0f}/s  flooded {flooded:5.0f}/s  = {flooded / idle:.2f}x"
        f"  flood answered {dict(answers)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--flooders", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.db"
        subprocess.run(
            [sys.executable, "-m", "cli", "--database-url", f"sqlite:///{db}", "refresh"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        run("cached", db, args.seconds, args.flooders)
        run("new-hosts", db, args.seconds, args.flooders)
        run("allowed", db, args.seconds, args.flooders, PAPERFEED_ALLOWED_HOSTS="laptop")


if __name__ == "__main__":
    main()
