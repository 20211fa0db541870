"""Benchmark: how long a hostile query takes to be refused, against parsing a plain one.

A bad query must cost about what a good one costs, never seconds: the parser is the first
thing every search request meets. Each hostile query and the baseline ('resnet AND vit')
are timed side by side, interleaved, min and median over rounds.

    python bench/refuse.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from topics.query import QueryError, parse  # noqa: E402

BASELINE = "resnet AND vit"
HOSTILE = {
    "100,000 x": "x" * 100_000,
    "5,000 (": "(" * 5000,
    "200 ORs": "a OR " * 199 + "a",
    "490-word phrase": '"' + "a " * 490 + '"',
    "60 regexes": "/(a+)+$/ AND " * 60,
    "161 ANDs": "a AND " * 160 + "b",
}


def once(text: str) -> float:
    started = time.perf_counter()
    with contextlib.suppress(QueryError):
        parse(text)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in ["baseline", *HOSTILE]}
    for _ in range(args.rounds):
        times["baseline"].append(once(BASELINE))
        for name, text in HOSTILE.items():
            times[name].append(once(text))
    base = statistics.median(times["baseline"])
    print(f"baseline {BASELINE!r}: median {base * 1e6:.0f} µs over {args.rounds} rounds")
    for name in HOSTILE:
        median, low = statistics.median(times[name]), min(times[name])
        print(
            f"{name:16s} median {median / base:6.1f}x baseline, min {low / base:6.1f}x "
            f"({median * 1e3:.2f} ms)"
        )


if __name__ == "__main__":
    main()
