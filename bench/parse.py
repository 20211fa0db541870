"""Benchmark: a synthetic RSS listing read by the streamed reader and by feedparser, side by
side: time per item and peak RSS, each measured in a fresh process.

    python bench/parse.py [--items 20000] [--rounds 3] [--memory-items 200000]
                          [--feedparser-memory-items 200000]

Time: the same body, the readers interleaved round after round, min and median per item of
each and the ratio of the minimums. "entries" is the reader alone (each entry read and
dropped); "parse" is parsing.parse("feed", ...), which also builds every Paper and keeps them
in its result. Memory: a fresh process builds the body, resets its peak RSS (Linux
/proc/self/clear_refs), reads the body, and reports its peak RSS less its RSS before reading
(the reader's memory, not the body's).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def listing(count: int) -> bytes:
    """An RSS 2.0 listing of arXiv-like items: title, link, guid, description, date, authors."""
    item = (
        "<item><title>Paper {0}: scaling laws for things &amp; their limits</title>"
        "<link>https://arxiv.org/abs/2401.{0:05d}</link>"
        '<guid isPermaLink="false">oai:arXiv.org:2401.{0:05d}v1</guid>'
        "<description>We study how things scale, {0} times over, and where $T&lt;T_c$ "
        "stops holding; the effect is robust across seeds and sizes.</description>"
        "<category>cs.LG</category><dc:creator>Ada Lovelace, Alan Turing (NPL)</dc:creator>"
        "<pubDate>Tue, 14 Nov 2023 10:00:00 GMT</pubDate></item>"
    )
    items = "".join(item.format(n % 100_000) for n in range(count))
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>bench</title>'
        f"{items}</channel></rss>"
    ).encode()


def status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak() -> None:
    """Start VmHWM again from the current RSS (Linux >= 4.0), so that the peak measured is
    the reader's, not that of building the body."""
    Path("/proc/self/clear_refs").write_text("5")


def run(reader: str, what: str, count: int) -> dict[str, float]:
    """In this process: build the body, read it with reader, report time and memory."""
    from parsing import feed, feed_stream

    body = listing(count)
    gc.collect()
    reset_peak()
    before = status_mb("VmRSS")
    start = time.perf_counter()
    if what == "parse" and reader == "stream":
        items = len(feed.parse(body).papers)
    elif what == "parse":
        items = len(feed._papers(iter(feed.read_feed(body).entries)).papers)
    elif reader == "stream":
        items = sum(1 for _ in feed_stream.entries(body))
    else:
        items = len(feed.read_feed(body).entries)
    seconds = time.perf_counter() - start
    assert items == count, (items, count)
    return {"ms_per_item": seconds / count * 1000, "peak_mb": status_mb("VmHWM") - before}


def measure(reader: str, what: str, count: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", reader, what, str(count)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(output)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-items", type=int, default=200_000)
    parser.add_argument("--feedparser-memory-items", type=int, default=200_000)
    parser.add_argument("--rounds-only", action="store_true", help="skip the memory part")
    parser.add_argument("--memory-only", action="store_true", help="skip the timing part")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        reader, what, count = args.child
        print(json.dumps(run(reader, what, int(count))))
        return

    print(f"{args.items} items, {len(listing(args.items)) / 1e6:.1f} MB body, {args.rounds} rounds")
    for what in () if args.memory_only else ("entries", "parse"):
        times: dict[str, list[float]] = {"stream": [], "feedparser": []}
        for _ in range(args.rounds):
            for reader in times:
                times[reader].append(measure(reader, what, args.items)["ms_per_item"])
        for reader, values in times.items():
            print(
                f"  {what:7} {reader:10} ms/item min {min(values):.4f} "
                f"median {statistics.median(values):.4f}"
            )
        ratio = min(times["feedparser"]) / min(times["stream"])
        print(f"  {what:7} feedparser / stream (minimums): {ratio:.1f}x")

    if args.rounds_only:
        return
    print("peak RSS while reading, over the RSS with the body built, MB (a fresh process each)")
    sizes = sorted({args.memory_items // 10, args.memory_items})
    for count in sizes:
        for what in ("entries", "parse"):
            got = measure("stream", what, count)
            print(f"  stream     {what:7} {count:>7} items: {got['peak_mb']:7.1f}")
    if args.feedparser_memory_items:
        for count in sorted({args.feedparser_memory_items // 10, args.feedparser_memory_items}):
            got = measure("feedparser", "entries", count)
            print(f"  feedparser entries {count:>7} items: {got['peak_mb']:7.1f}")


if __name__ == "__main__":
    main()
