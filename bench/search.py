"""Benchmark: search and topic feeds on a large store, against a raw SQLite FTS5 floor.

    python bench/search.py [--papers 200000] [--rounds 3] [--database-url postgresql://...]

Builds a synthetic store (Zipf words, 100-160-word abstracts, ids in arrival order) by bulk
inserts and one bulk index build (both timed), and beside it a plain FTS5 table of the same
titles and abstracts (default tokenizer, default detail): the floor is its top-50 query,
`... MATCH ? ORDER BY rowid DESC LIMIT 50`. Then, interleaved, for each round:

  search <case>   the floor; our query part (a connection, planner, index, confirmation:
                  search.find with limit 50); a whole cold request /feeds/search.rss?q= (cache
                  emptied first: it adds reading the 50 whole papers and rendering them)
  feed <topic>    first render of a broad and a 1% topic feed (cache emptied first)
  refresh         a no-op refresh (the sample listings read and parsed again: nothing new)
                  and the same refresh after the narrow topic's rule changed (re-matching
                  that topic through the index)

and prints min / median of the rounds, in milliseconds, with the ratios the targets name.
Then, once: a cached feed's throughput alone and beside 4 threads sending uncached searches
(default limits: search_concurrency 1, so most get 503), and the peak RSS after 10,000
distinct queries.
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from bench.match import vocabulary  # noqa: E402
from refresh.pipeline import Refresher  # noqa: E402
from settings import load_config  # noqa: E402
from store import Store  # noqa: E402
from store.schema import papers, source_validators  # noqa: E402
from topics import search  # noqa: E402
from topics.query import parse  # noqa: E402
from web.service import service  # noqa: E402

# The synthetic year ends an hour before the benchmark starts, as a live store's papers do
# (the bundled samples the refreshes store arrive "now"). PostgreSQL reads the newest days
# first, counted back from today (store.index); a year that ended months ago costs it more.
END = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
RARE = "quasimodal"  # put in a few of the oldest papers: a search must reach the bottom
NOWHERE = "zyxwvutsrq"  # in no paper


def synthetic_papers(n: int, seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    rng = random.Random(seed)
    words = vocabulary(20_000, rng)
    cumulative = list(itertools.accumulate(1 / (rank + 1) ** 1.05 for rank in range(len(words))))

    def sample(k: int) -> list[str]:  # Zipf; cum_weights spares a pass over 20,000 weights
        return rng.choices(words, cum_weights=cumulative, k=k)

    rows = []
    for i in range(n):
        abstract = sample(rng.randint(100, 160))
        if i in (3, 11, 17, 23, 29):
            abstract[rng.randrange(len(abstract))] = RARE
        seen = END - timedelta(seconds=150 * (n - 1 - i))  # a year of arrivals, in id order
        rows.append(
            {
                "guid": f"bench:{i}",
                "arxiv_id": None,
                "title_key": f"bench {i}",
                "title": " ".join(sample(rng.randint(6, 14))).title(),
                "abstract": " ".join(abstract) + ".",
                "authors": [f"{rng.choice(words).title()} {rng.choice(words).title()}"],
                "categories": [],
                "sources": ["bench"],
                "url": None,
                "published": None,
                "upvotes": rng.randint(0, 100),
                "comments": None,
                "first_seen": seen,
                "updated": seen,
            }
        )
    return rows, words


def document_frequencies(rows: list[dict[str, Any]]) -> dict[str, int]:
    found: dict[str, int] = {}
    for row in rows[:20_000]:
        for word in set(f"{row['title']} {row['abstract']}".lower().replace(".", "").split()):
            found[word] = found.get(word, 0) + 1
    return found


def pick(freqs: dict[str, int], share: float, sampled: int) -> str:
    """The word whose share of papers is closest to share (plain ASCII, no plural ending)."""
    return min(
        (w for w in freqs if not w.endswith("s") and len(w) > 3),
        key=lambda w: abs(freqs[w] / sampled - share),
    )


def bulk_load(store: Store, rows: list[dict[str, Any]]) -> tuple[float, float]:
    started = time.perf_counter()
    with store.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(sa.insert(papers), rows[start : start + 5000])
    if not store.is_sqlite:  # as autovacuum would soon: plans need row counts
        with store.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE papers"))
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    store.build_index(lambda done, total: print(f"  indexed {done}/{total}", end="\r"))
    return loaded, time.perf_counter() - started


def floor_table(rows: list[dict[str, Any]], path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("CREATE VIRTUAL TABLE floor USING fts5(title, abstract)")
    conn.executemany(
        "INSERT INTO floor (rowid, title, abstract) VALUES (?, ?, ?)",
        ((i + 1, r["title"], r["abstract"]) for i, r in enumerate(rows)),
    )
    conn.commit()
    return conn


def index_size(store: Store) -> str:
    with store.engine.connect() as conn:
        if store.is_sqlite:
            size = conn.execute(
                sa.text(
                    "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'paper_words%' "
                    "OR name LIKE '%paper_index%'"
                )
            ).scalar()
        else:
            size = conn.execute(sa.text("SELECT pg_total_relation_size('paper_index')")).scalar()
    return f"{(size or 0) / 2**20:.0f} MiB"


def refresh_timed(config: Any, store: Store) -> float:
    """One refresh that reads and parses the listings again (their validators forgotten),
    as when an upstream answers 200 with nothing new."""
    with store.engine.begin() as conn:
        conn.execute(sa.delete(source_validators))
    return timed(lambda: Refresher(config, store).run(force=True))


def cached_rate(app: Any, seconds: float) -> float:
    """Requests per second for a cached topic feed, from one client thread."""
    client = app.test_client()
    client.get("/feeds/narrow.rss")
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        client.get("/feeds/narrow.rss")
        done += 1
    return done / (time.perf_counter() - started)


def under_load(app: Any, words: list[str], seconds: float) -> None:
    """Cached-feed throughput alone, then beside 4 threads sending uncached searches (each
    a query not asked before); gunicorn's threads share one interpreter the same way."""
    idle = cached_rate(app, seconds)
    stop = threading.Event()
    answers: dict[int, int] = {}

    def searcher(number: int) -> None:
        client, count = app.test_client(), 0
        while not stop.is_set():
            count += 1
            first, then = words[count % len(words)], words[(count + number) % len(words)]
            text = f'"{first} {then}" OR x{number}y{count}'  # never asked before: uncached
            status = client.get("/feeds/search.rss", query_string={"q": text}).status_code
            answers[status] = answers.get(status, 0) + 1

    threads = [threading.Thread(target=searcher, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    loaded = cached_rate(app, seconds)
    stop.set()
    for thread in threads:
        thread.join()
    print(
        f"cached feed alone {idle:.0f} req/s; beside 4 uncached searchers {loaded:.0f} req/s "
        f"({loaded / idle:.2f}x); searchers' answers {dict(sorted(answers.items()))}"
    )


def memory_after_distinct_queries(app: Any, count: int) -> None:
    """Peak RSS before and after count distinct searches (each parsed, run, cached)."""
    client = app.test_client()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    for number in range(count):
        client.get("/feeds/search.json", query_string={"q": f"zq{number} OR qz{number}"})
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{count} distinct queries in {time.perf_counter() - started:.1f} s: peak RSS "
        f"{before / 1024:.0f} MiB -> {after / 1024:.0f} MiB"
    )


def query_part(store: Store, query: Any) -> list[search.Hit]:
    """What a search costs before rendering: a connection, the planner, the index lookup
    and confirming candidates until the newest 50 matches are known."""
    with store.searching() as index:
        return search.find(index, query, 50)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default="", help="PostgreSQL (default: SQLite file)")
    parser.add_argument("--load-seconds", type=float, default=5.0)
    parser.add_argument("--distinct-queries", type=int, default=10_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"

    print(f"generating {args.papers} papers ...")
    rows, _ = synthetic_papers(args.papers, args.seed)
    freqs = document_frequencies(rows)
    sampled = min(len(rows), 20_000)
    common, one_percent = pick(freqs, 0.5, sampled), pick(freqs, 0.01, sampled)
    other_percent = pick({w: f for w, f in freqs.items() if w != one_percent}, 0.01, sampled)
    second = pick({w: f for w, f in freqs.items() if w != common}, 0.3, sampled)
    cases = {
        "common word": common,
        "1% word": one_percent,
        "rare word (5 oldest)": RARE,
        "no-match word": NOWHERE,
        "phrase": f'"{common} {second}"',
        "prefix": f"{common[:3]}*",
    }
    topics = {"broad": {"query": common}, "narrow": {"query": one_percent}}
    sources = [{"name": "samples", "kind": "hf-text", "path": str(ROOT / "samples/listings/*.txt")}]
    settings = {
        "database_url": url,
        "scheduler": "off",
        "generation_check_seconds": 0,
        "search_max_rows": 10**9,
        "search_max_seconds": 1e9,
        # Searches here, in this process: their cost and RSS are what is measured (the
        # search processes are measured over HTTP by bench/search_load.py).
        "search_in_processes": False,
        "sources": sources,
        "topics": topics,
    }
    app = create_app(settings)  # migrates the empty store
    svc = service(app)
    loaded, built = bulk_load(svc.store, rows)
    print(f"\nbulk insert {loaded:.1f} s; index build {built:.1f} s; index {index_size(svc.store)}")
    started = time.perf_counter()
    floor = floor_table(rows, workdir / "floor.db")
    floor_size = (workdir / "floor.db").stat().st_size / 2**20
    seconds = time.perf_counter() - started
    print(f"floor FTS5 table built in {seconds:.1f} s; {floor_size:.0f} MiB (with the text)")
    started = time.perf_counter()
    svc.refresher.run(force=True)  # topics matched for the first time, samples stored
    seconds = time.perf_counter() - started
    print(f"first refresh (match both topics on the whole store) {seconds:.1f} s")
    client = app.test_client()
    changed = load_config(overrides={**settings, "topics": {**topics, "narrow": other_percent}})
    original = load_config(overrides=settings)

    results: dict[str, list[float]] = {}

    def record(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    for round_number in range(args.rounds):
        print(f"round {round_number + 1} ...")
        for label, text in cases.items():
            floor_query = text.rstrip("*") + ("*" if text.endswith("*") else "")
            record(
                f"{label}: floor",
                timed(
                    lambda q=floor_query: floor.execute(
                        "SELECT rowid FROM floor WHERE floor MATCH ? ORDER BY rowid DESC LIMIT 50",
                        (q,),
                    ).fetchall()
                ),
            )
            query = parse(text)
            record(f"{label}: query part", timed(lambda q=query: query_part(svc.store, q)))
            svc.cache.drop(lambda key: True)
            record(
                f"{label}: cold request",
                timed(lambda t=text: client.get("/feeds/search.rss", query_string={"q": t})),
            )
        for name in topics:
            svc.cache.drop(lambda key: True)
            record(
                f"feed {name}: first render", timed(lambda n=name: client.get(f"/feeds/{n}.rss"))
            )
        record("refresh: no-op", refresh_timed(original, svc.store))
        record("refresh: narrow rule changed", refresh_timed(changed, svc.store))
        Refresher(original, svc.store).run(force=True)  # back, untimed

    engine = svc.store.engine.dialect.name
    print(f"\n{args.papers} papers on {engine}; ms, min / median of {args.rounds}")
    for name, values in results.items():
        print(f"  {name:40s} {min(values):9.2f} {statistics.median(values):9.2f}")

    def best(name: str) -> float:
        return min(results[name])

    def ratio(label: str, top: str, bottom: str) -> None:
        print(f"  {label}: {best(top) / max(best(bottom), 1e-3):.2f}x")

    print("ratios (of the minimums):")
    for label in cases:
        ratio(f"{label}, query part / floor", f"{label}: query part", f"{label}: floor")
    for label in ("rare word (5 oldest)", "no-match word"):
        ratio(
            f"{label}, cold request / common word's",
            f"{label}: cold request",
            "common word: cold request",
        )
    ratio("broad / 1% topic first render", "feed broad: first render", "feed narrow: first render")
    ratio("rule change / no-op refresh", "refresh: narrow rule changed", "refresh: no-op")
    under_load(app, [one_percent, other_percent, second, common], args.load_seconds)
    memory_after_distinct_queries(app, args.distinct_queries)
    svc.store.dispose()
    floor.close()
    shutil.rmtree(workdir)  # the SQLite store and the floor: several hundred MiB


if __name__ == "__main__":
    main()
