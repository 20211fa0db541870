"""Benchmark: the Python cost of one cached-feed request, in process (no server, no HTTP).

The app as create_app builds it is called as a WSGI server calls it (Flask.__call__, a fresh
environ per request), beside a bare WSGI callable returning the same body: the difference is
what the fast path costs per request on top of the server's own work (bench/serve.py
measures it through granian and gunicorn). Request kinds: the topic feed's 200, 304 by
If-None-Match and by If-Modified-Since, gzip, HEAD, a forwarded host, a search feed.
Rounds are interleaved (every kind in turn, each round); microseconds per request, min and
median over rounds.

    python bench/fastpath.py [--calls 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOPIC = "residual"


def environ(path: str, query: str = "", method: str = "GET", **headers: str) -> dict[str, Any]:
    """What a WSGI server hands the app for a request (granian's keys)."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "wrk",
        "HTTP_ACCEPT": "*/*",
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input": None,
        "wsgi.errors": sys.stderr,
    }
    env.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    return env


def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    pass


def build_app() -> Any:
    from app import create_app
    from bench.serve import SAMPLE_CONFIG, sample_store

    _, db = sample_store("paperfeed-fastpath-")
    return create_app({"config_path": str(SAMPLE_CONFIG), "database_url": db, "scheduler": "off"})


def kinds(app: Any) -> dict[str, dict[str, Any]]:
    """Each request kind's environ, its feed cached and its validators read from a first
    answer."""
    path = f"/feeds/{TOPIC}.rss"
    first: dict[str, Any] = {}

    def remember(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        first.update(headers)

    b"".join(app(environ(path), remember))
    asked = {
        "200": environ(path),
        "304 inm": environ(path, HTTP_IF_NONE_MATCH=first["ETag"]),
        "304 ims": environ(path, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]),
        "gzip": environ(path, HTTP_ACCEPT_ENCODING="gzip, deflate"),
        "head": environ(path, method="HEAD"),
        "forwarded": environ(
            path, HTTP_X_FORWARDED_HOST="feeds.example.org", HTTP_X_FORWARDED_PROTO="https"
        ),
        "search": environ("/feeds/search.rss", "q=vit"),
    }
    for env in asked.values():  # every body cached before timing
        b"".join(app(env.copy(), start_response))
    return asked


def per_call_us(call: Callable[..., Any], env: dict[str, Any], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call(env.copy(), start_response)
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    app = build_app()
    asked = kinds(app)
    body = [b"".join(app(environ(f"/feeds/{TOPIC}.rss"), start_response))]

    def raw(env: dict[str, Any], respond: Callable[..., Any]) -> list[bytes]:
        """The bare callable of bench/serve_app.py (_RawFirst)."""
        if env["PATH_INFO"] == "/bench/raw":
            respond(
                "200 OK",
                [
                    ("Content-Type", "application/rss+xml; charset=utf-8"),
                    ("Content-Length", str(len(body[0]))),
                ],
            )
            return body
        return []

    from flask import Flask

    bare = Flask("raw")  # called as the server calls the app: through Flask.__call__
    bare.wsgi_app = raw  # type: ignore[method-assign]
    timed: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        timed.setdefault("raw callable", []).append(
            per_call_us(bare, environ("/bench/raw"), args.calls)
        )
        for kind, env in asked.items():
            timed.setdefault(kind, []).append(per_call_us(app, env, args.calls))
    print(f"{args.calls:,} calls x {args.rounds} rounds, interleaved; us per request")
    print(f"{'':14s}{'min':>8s}{'median':>8s}")
    for kind, values in timed.items():
        print(f"{kind:14s}{min(values):8.2f}{statistics.median(values):8.2f}")


if __name__ == "__main__":
    main()
