"""Benchmark: storing a big listing, against the floor of what any ingest must do.

    python bench/ingest.py [--papers 20000] [--rounds 3] [--database-url postgresql://...]
    python bench/ingest.py --big 200000          # peak RSS of one refresh, then cold searches
    python bench/ingest.py --growth 10000,50000,200000 [--new 2000]

A synthetic RSS listing (Zipf words as bench/search.py makes them, an arXiv id, two authors
and a category an item) is written to a file and read by a `kind = "feed"` source.

The floor: lxml reads each item's title, link and description, and one transaction inserts
them into a plain table and into a table with a full-text index: on SQLite with executemany,
the index an FTS5 table; on PostgreSQL with COPY, the index its counterpart, a generated
tsvector column (to_tsvector('simple', title || ' ' || description)) with a GIN index at
its defaults, present while the rows go in as FTS5's is. On PostgreSQL the floor this
benchmark used before, COPY into the plain table alone, is measured too and printed as a
second line ("floor, plain COPY (no index)"): it has no text index, so it is about ten
times cheaper a paper, and ratios against it are printed for comparison only.
Then, interleaved, for each round, each on an empty store:

  floor                 as above
  ours, 5 topics        a first refresh of the listing (fetch, parse, store, match, index)
  ours, 1000 topics     the same with 1,000 topics
  re-read unchanged     the 5-topic store reads the listing again, the same papers in a body
                        whose lastBuildDate changed (a new digest: no checkpoint skips it);
                        it must write nothing and publish no generation
  parse only            parsing.parse of the body, to tell the parser's share from the store's

and prints min / median of the rounds, in CPU seconds (this process's and, on PostgreSQL, its
server processes': the machine is shared, and wall time would measure the neighbours too),
then in wall seconds (meaningful on a quiet machine: the load average is printed), with
the ratios of the minimums of each.
--big: one refresh of that many papers in a process of its own (its peak RSS), then the
search cases of bench/search.py, cold, against the same FTS5 floor: every paper of the
import shares one first_seen second. --growth: stores of each size (bulk-loaded as
bench/search.py does), then a refresh of --new new papers: the time per new paper.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import sqlalchemy as sa
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import parsing  # noqa: E402
from bench.match import make_topics  # noqa: E402
from bench.search import (  # noqa: E402
    NOWHERE,
    RARE,
    bulk_load,
    document_frequencies,
    floor_table,
    pick,
    query_part,
    synthetic_papers,
)
from migrations import upgrade  # noqa: E402
from refresh.pipeline import Refresher  # noqa: E402
from settings import load_config  # noqa: E402
from store import Store  # noqa: E402
from store.schema import papers  # noqa: E402
from topics.query import parse  # noqa: E402

_MONTHS = [f"{y:02d}{m:02d}" for y in range(15, 27) for m in range(1, 13)]


def arxiv_id(number: int) -> str:
    return f"{_MONTHS[number // 90000]}.{number % 90000 + 10000:05d}"


def write_listing(rows: list[dict[str, Any]], path: Path, built: datetime, first: int = 0) -> None:
    """rows as an arXiv-like RSS 2.0 listing; first: the number of the first arXiv id."""
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>bench</title>'
            f"<link>https://example.org/</link><lastBuildDate>{format_datetime(built)}"
            "</lastBuildDate><description>synthetic</description>\n"
        )
        for number, row in enumerate(rows, start=first):
            paper = arxiv_id(number)
            out.write(
                f"<item><title>{escape(row['title'])}</title>"
                f"<link>https://arxiv.org/abs/{paper}</link>"
                f"<description>{escape(row['abstract'])}</description>"
                f'<guid isPermaLink="false">oai:arXiv.org:{paper}</guid>'
                f"<dc:creator>{escape(', '.join(row['authors']))}, Ada Lovelace</dc:creator>"
                f"<category>cs.LG</category><pubDate>{format_datetime(built)}</pubDate>"
                "</item>\n"
            )
        out.write("</channel></rss>\n")


def floor_items(path: Path) -> list[tuple[str, str, str]]:
    items = []
    for _, item in etree.iterparse(str(path), tag="item"):
        items.append((item.findtext("title"), item.findtext("link"), item.findtext("description")))
        item.clear()
    return items


def floor_sqlite(path: Path, workdir: Path) -> None:
    items = floor_items(path)
    target = workdir / "floor.db"
    target.unlink(missing_ok=True)
    conn = sqlite3.connect(target)
    conn.execute("CREATE TABLE items (title TEXT, link TEXT, description TEXT)")
    conn.execute("CREATE VIRTUAL TABLE words USING fts5(title, description)")
    with conn:
        conn.executemany("INSERT INTO items VALUES (?, ?, ?)", items)
        conn.executemany(
            "INSERT INTO words (rowid, title, description) VALUES (?, ?, ?)",
            ((n, title, text) for n, (title, _, text) in enumerate(items, start=1)),
        )
    conn.close()


# The PostgreSQL floor's tables: the rows as listed, and their text with a full-text index,
# PostgreSQL's counterpart of the SQLite floor's FTS5 table (a tsvector of the words, GIN).
_FLOOR_TABLES = (
    "CREATE TABLE bench_floor (title text, link text, description text)",
    "CREATE TABLE bench_floor_words (title text, description text, words tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || description)) STORED)",
    "CREATE INDEX bench_floor_words_gin ON bench_floor_words USING gin (words)",
)


def floor_postgres(path: Path, url: str, text_index: bool = True) -> tuple[float, float]:
    """CPU and wall seconds of the floor on PostgreSQL (its connection counted while still
    open): one transaction COPYs the rows into a plain table and, with text_index, their
    title and description into the table with a full-text index (as the SQLite floor's FTS5
    table); without, the plain table alone (the floor this benchmark used before)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_floor, bench_floor_words")
        for statement in _FLOOR_TABLES:
            conn.execute(statement)
        conn.commit()

        def copied() -> None:
            items = floor_items(path)
            with conn.cursor() as cursor:
                with cursor.copy("COPY bench_floor (title, link, description) FROM STDIN") as copy:
                    for item in items:
                        copy.write_row(item)
                if text_index:
                    with cursor.copy(
                        "COPY bench_floor_words (title, description) FROM STDIN"
                    ) as copy:
                        for title, _, description in items:
                            copy.write_row((title, description))
            conn.commit()

        seconds = timed_both(copied)
        conn.execute("DROP TABLE bench_floor, bench_floor_words")
        conn.commit()
    return seconds


def empty_store(url: str) -> Store:
    if url.startswith("postgresql"):
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    else:
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm", ".migrate-lock"):  # all of it: a new store
            Path(path + suffix).unlink(missing_ok=True)
    store = Store(url)
    upgrade(store.engine)
    return store


def config(url: str, listing: Path, topics: dict[str, tuple[str, list[str]]]) -> Any:
    return load_config(
        overrides={
            "database_url": url,
            "scheduler": "off",
            "max_body_bytes": 2**31,
            "sources": [{"name": "bench", "kind": "feed", "path": str(listing)}],
            "topics": {name: {"query": query} for name, (query, _) in topics.items()},
        }
    )


def refreshed(
    url: str, listing: Path, topics: dict[str, tuple[str, list[str]]]
) -> tuple[float, float]:
    """CPU and wall seconds of a first refresh of listing on an empty store."""
    store = empty_store(url)
    seconds = timed_both(lambda: Refresher(config(url, listing, topics), store).run(force=True))
    store.dispose()
    return seconds


def timed(action: Callable[[], object]) -> float:
    """CPU seconds of action (timed_both)."""
    return timed_both(action)[0]


def timed_both(action: Callable[[], object]) -> tuple[float, float]:
    """CPU and wall seconds of action. CPU: this process's, and on PostgreSQL its server
    processes' (the machine is shared: wall time measures the neighbours too). Connections
    the action opens must still be open when it returns (stores are disposed after)."""
    started = time.process_time(), server_cpu(), time.perf_counter()
    action()
    cpu = time.process_time() - started[0] + server_cpu() - started[1]
    return cpu, time.perf_counter() - started[2]


# The PostgreSQL database whose server processes timed() counts, when on PostgreSQL.
_SERVER: dict[str, str] = {}


def server_cpu() -> float:
    """CPU seconds of the PostgreSQL backends now connected to the benchmark's database."""
    url = _SERVER.get("url")
    if not url:
        return 0.0
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    total = 0
    for (pid,) in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone, or not on this machine
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def store_url(args: argparse.Namespace, workdir: Path) -> str:
    if args.database_url:
        _SERVER["url"] = args.database_url
    return args.database_url or f"sqlite:///{workdir / 'bench.db'}"


def rounds(args: argparse.Namespace, workdir: Path) -> None:
    url = store_url(args, workdir)
    rng = random.Random(args.seed)
    rows, words = synthetic_papers(args.papers, args.seed)
    few, many = make_topics(5, words, rng), make_topics(args.many_topics, words, rng)
    listing, again = workdir / "listing.xml", workdir / "again.xml"
    built = datetime.now(UTC).replace(microsecond=0)
    write_listing(rows, listing, built)
    write_listing(rows, again, built + timedelta(hours=1))  # the same papers, a new body
    body = listing.read_bytes()
    results: dict[str, list[float]] = {}
    walls: dict[str, list[float]] = {}

    def record(name: str, value: float | tuple[float, float]) -> None:
        cpu, wall = value if isinstance(value, tuple) else (value, None)
        results.setdefault(name, []).append(cpu)
        if wall is not None:
            walls.setdefault(name, []).append(wall)

    for number in range(args.rounds):
        print(f"round {number + 1} ...", flush=True)
        if args.database_url:
            record("floor", floor_postgres(listing, args.database_url))
            record(
                "floor, plain COPY (no index)", floor_postgres(listing, args.database_url, False)
            )
        else:
            record("floor", timed_both(lambda: floor_sqlite(listing, workdir)))
        record("parse only", timed_both(lambda: parsing.parse("feed", body)))
        record(f"ours, {len(many)} topics", refreshed(url, listing, many))
        store = empty_store(url)
        first = config(url, listing, few)
        record("ours, 5 topics", timed_both(refresh_of(first, store)))
        generation, last_write = store.generation(), latest_update(store)
        outcome: list[Any] = []
        again_config = config(url, again, few)
        record("re-read unchanged", timed_both(refresh_of(again_config, store, outcome)))
        record("re-read new+changed", float(sum(s.new + s.changed for s in outcome[0].sources)))
        wrote = store.generation() != generation or latest_update(store) != last_write
        record("re-read wrote", float(wrote))
        store.dispose()

    engine = "PostgreSQL" if args.database_url else "SQLite"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n{args.papers} papers on {engine}; min / median of {args.rounds}, CPU seconds "
        f"(then wall seconds); load average now {load}"
    )
    for name, values in results.items():
        wall = walls.get(name)
        shown = f" {min(wall):9.2f} {statistics.median(wall):9.2f}" if wall else ""
        print(f"  {name:28s} {min(values):9.2f} {statistics.median(values):9.2f}{shown}")
    for label, table in (("CPU", results), ("wall", walls)):
        best = {name: min(values) for name, values in table.items()}
        ratios(label, best, len(many))
    print(f"  re-read wrote or published: {max(results['re-read wrote']) > 0}")


def ratios(label: str, best: dict[str, float], many: int) -> None:
    """The ratios of the minimums (best: by name) against the floor."""
    floor = best["floor"]
    print(f"ratios of the minimums, {label}:")
    print(f"  ours, 5 topics / floor                {best['ours, 5 topics'] / floor:.2f}x")
    store_part = best["ours, 5 topics"] - best["parse only"]
    print(f"  ours less parsing, 5 topics / floor   {store_part / floor:.2f}x")
    print(
        f"  {many} topics / 5 topics              "
        f"{best[f'ours, {many} topics'] / best['ours, 5 topics']:.2f}x"
    )
    print(f"  re-read unchanged / floor             {best['re-read unchanged'] / floor:.2f}x")
    reread_store = best["re-read unchanged"] - best["parse only"]
    print(f"  re-read less parsing / floor          {reread_store / floor:.2f}x")
    plain = best.get("floor, plain COPY (no index)")
    if plain:
        print(f"  ours, 5 topics / plain COPY floor     {best['ours, 5 topics'] / plain:.2f}x")
        print(f"  re-read unchanged / plain COPY floor  {best['re-read unchanged'] / plain:.2f}x")


def refresh_of(settings: Any, store: Store, reports: list[Any] | None = None) -> Callable[[], None]:
    """A forced refresh of settings on store, its report appended to reports."""

    def refresh() -> None:
        report = Refresher(settings, store).run(force=True)
        if reports is not None:
            reports.append(report)

    return refresh


def latest_update(store: Store) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(papers.c.updated))).scalar()


def big(args: argparse.Namespace, workdir: Path) -> None:
    """One refresh of args.big papers in a process of its own, then cold searches."""
    url = store_url(args, workdir)
    rows, words = synthetic_papers(args.big, args.seed)
    listing = workdir / "big.xml"
    write_listing(rows, listing, datetime.now(UTC).replace(microsecond=0))
    size = listing.stat().st_size / 2**20
    del rows
    empty_store(url).dispose()
    topics = make_topics(5, words, random.Random(args.seed))
    rules = json.dumps(topics)  # the child makes no words of its own: its RSS is the refresh's
    child = subprocess.run(
        [sys.executable, __file__, "--child-refresh", str(listing), "--database-url", url]
        + ["--child-topics", rules],
        check=True,
        capture_output=True,
        text=True,
    )
    print(f"{args.big} papers ({size:.0f} MiB listing): {child.stdout.strip()}")
    store = Store(url)
    print(f"store on disk: {disk_size(store, url)}")
    rows, _ = synthetic_papers(args.big, args.seed)  # the floor's text, as listed
    freqs = document_frequencies(rows)
    sampled = min(len(rows), 20_000)
    cases = {
        "common word": pick(freqs, 0.5, sampled),
        "1% word": pick(freqs, 0.01, sampled),
        "rare word (5 oldest)": RARE,
        "no-match word": NOWHERE,
    }
    floor = floor_table(rows, workdir / "search-floor.db")
    del rows, topics
    results: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for label, text in cases.items():
            results.setdefault(f"{label}: floor", []).append(
                timed(floor_search(floor, text)) * 1000
            )
            # Uncached, as bench/search.py's query part: the planner, the index, confirming.
            results.setdefault(f"{label}: query part", []).append(
                timed(our_search(store, parse(text))) * 1000
            )
    print(f"uncached searches after the one-refresh import, CPU ms, min / median of {args.rounds}")
    for name, values in results.items():
        print(f"  {name:36s} {min(values):9.2f} {statistics.median(values):9.2f}")
    for label in cases:
        mine, base = min(results[f"{label}: query part"]), min(results[f"{label}: floor"])
        print(f"  {label}, query part / floor: {mine / max(base, 1e-3):.2f}x")
    floor.close()
    store.dispose()


_FLOOR_SQL = "SELECT rowid FROM floor WHERE floor MATCH ? ORDER BY rowid DESC LIMIT 50"


def floor_search(floor: sqlite3.Connection, text: str) -> Callable[[], object]:
    return lambda: floor.execute(_FLOOR_SQL, (text,)).fetchall()


def our_search(store: Store, query: Any) -> Callable[[], object]:
    return lambda: query_part(store, query)


def disk_size(store: Store, url: str) -> str:
    if store.is_sqlite:
        return f"{Path(url.removeprefix('sqlite:///')).stat().st_size / 2**20:.0f} MiB"
    with store.engine.connect() as conn:
        size = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
    return f"{(size or 0) / 2**20:.0f} MiB"


def peak_rss_kib() -> int:
    """This process's peak RSS since it started (VmHWM). Not ru_maxrss: Linux carries that
    over exec from the forking parent, whose pages the fork shared (the bench's 500 MiB)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def child_refresh(listing: Path, url: str, topics: dict[str, tuple[str, list[str]]]) -> None:
    """One refresh (of these topics) in this fresh process; print its time and peak RSS."""
    store = Store(url)
    before = peak_rss_kib()
    seconds = timed(lambda: Refresher(config(url, listing, topics), store).run(force=True))
    peak = peak_rss_kib()
    print(
        f"refresh {seconds:.1f} s ({store.count_papers() / seconds:.0f} papers/s); peak RSS "
        f"{peak / 1024:.0f} MiB (before the refresh {before / 1024:.0f} MiB)"
    )
    store.dispose()


def growth(args: argparse.Namespace, workdir: Path) -> None:
    url = store_url(args, workdir)
    new_rows, words = synthetic_papers(args.new, args.seed + 1)
    listing = workdir / "new.xml"
    write_listing(new_rows, listing, datetime.now(UTC).replace(microsecond=0))
    topics = make_topics(5, words, random.Random(args.seed))
    per_paper = {}
    for size in (int(n) for n in args.growth.split(",")):
        rows, _ = synthetic_papers(size, args.seed)
        times = []
        template = workdir / f"grown-{size}.db"
        for _ in range(args.rounds):
            # A store as a running service's is: titles keyed and index filled by the
            # current code (a refresh does both once on a store written by plain inserts).
            if args.database_url:
                store = empty_store(url)
                bulk_load(store, rows)
                store.fill_index()
            else:  # built once, copied for each round (a 200k build takes minutes)
                if not template.exists():
                    built = empty_store(f"sqlite:///{template}")
                    bulk_load(built, rows)
                    built.fill_index()
                    built.dispose()
                shutil.copyfile(template, workdir / "bench.db")
                store = Store(url)
            times.append(timed(refresh_of(config(url, listing, topics), store)))
            store.dispose()
        template.unlink(missing_ok=True)
        per_paper[size] = min(times) / args.new * 1000
        print(
            f"  store of {size}: {args.new} new papers in {min(times):.2f} s (min), "
            f"{per_paper[size]:.3f} ms a paper",
            flush=True,
        )
    smallest = per_paper[min(per_paper)]
    for size, value in per_paper.items():
        print(f"  {size}: {value / smallest:.2f}x the smallest store's time per new paper")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--many-topics", type=int, default=1000)
    parser.add_argument("--database-url", default="", help="PostgreSQL (default: SQLite file)")
    parser.add_argument("--big", type=int, default=0, help="peak RSS and cold searches")
    parser.add_argument("--growth", default="", help="store sizes, e.g. 10000,50000,200000")
    parser.add_argument("--new", type=int, default=2000, help="new papers a growth refresh adds")
    parser.add_argument("--child-refresh", default="", help=argparse.SUPPRESS)
    parser.add_argument("--child-topics", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_refresh:
        child_refresh(Path(args.child_refresh), args.database_url, json.loads(args.child_topics))
        return
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        if args.big:
            big(args, workdir)
        elif args.growth:
            growth(args, workdir)
        else:
            rounds(args, workdir)
    finally:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
