"""Measure: does /healthz keep answering while slow clients hold connections open?

Starts gunicorn with the Procfile's configuration (gunicorn.conf.py), opens N connections
that send half a request head and then nothing, and asks /healthz ten times (3 s timeout).

    python bench/slow_clients.py [--slow 16] [--threads 4]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.helpers import free_port, start_gunicorn, wait_for  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=16, help="slow-header connections")
    parser.add_argument("--threads", type=int, default=4, help="GUNICORN_THREADS")
    args = parser.parse_args()
    port = free_port()
    folder = tempfile.mkdtemp()
    env = {
        **os.environ,
        "GUNICORN_THREADS": str(args.threads),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{folder}/paperfeed.db",
        "PAPERFEED_SCHEDULER": "off",
    }
    base = f"http://127.0.0.1:{port}"
    with open(Path(folder) / "gunicorn.log", "w") as log:
        server = start_gunicorn(env, log)
        try:
            wait_for(lambda: requests.get(f"{base}/healthz", timeout=2).ok, 30, "gunicorn")
            held = []
            for _ in range(args.slow):
                sock = socket.create_connection(("127.0.0.1", port))
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the rest
                held.append(sock)
            time.sleep(1)
            answered, slowest = 0, 0.0
            for _ in range(10):
                started = time.monotonic()
                with contextlib.suppress(requests.RequestException):  # counted as unanswered
                    answered += requests.get(f"{base}/healthz", timeout=3).ok
                slowest = max(slowest, time.monotonic() - started)
            print(
                f"{args.slow} slow-header connections, {args.threads} threads per worker: "
                f"/healthz answered {answered}/10, slowest {slowest:.2f} s"
            )
            for sock in held:
                sock.close()
        finally:
            server.kill()
            server.wait(10)


if __name__ == "__main__":
    main()
