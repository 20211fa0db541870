"""Benchmark: a like: search against a keyword search, on a large store.

    python bench/like_search.py [--papers 200000] [--rounds 3] [--database-url postgresql://...]
                                [--store PATH]

--store PATH keeps the SQLite store at PATH and reuses it when it already holds the papers
(a 200k store takes long to build on a shared machine); the rounds work on a copy of it.

Builds bench/search.py's synthetic store, then, interleaved, per round: the query part
(search.find, newest 50) of a 1% word and of a common word, and of like:(3 papers):
binding its profile (the seeds looked up, their words' document frequencies read from
the text index) plus the same search.find, which scores the newest papers from their term
vectors held in memory (store.recent). "cold": a process's first like: search (counts
and vectors read); "new generation": the first after a refresh that changed nothing
published one (the newest papers read again, found unchanged); "500 new papers": the
first after a refresh stored that many (they are counted, the others' counts kept); "new
seeds": other seeds in a warm process (their words counted); "warm": the same like:
again. Prints min / median in ms and the ratios to the keyword searches.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search import bulk_load, document_frequencies, pick, query_part, synthetic_papers, timed  # noqa: E402
from migrations import upgrade  # noqa: E402
from parsing.model import make_paper  # noqa: E402
from store import Store  # noqa: E402
from store.schema import papers  # noqa: E402
from topics.query import parse  # noqa: E402

NEW_PAPERS = 500  # a refresh's new papers, stored before the "new papers" case


def stored_papers(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--store", default="", help="a SQLite file to keep and reuse")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-like-"))
    path = Path(args.store) if args.store else workdir / "bench.db"
    url = args.database_url or f"sqlite:///{path}"
    rows, _ = synthetic_papers(args.papers, 7)
    freqs = document_frequencies(rows)
    sampled = min(len(rows), 20_000)
    store = Store(url)
    upgrade(store.engine)
    held = stored_papers(store)
    if held >= args.papers:  # PostgreSQL: with the new papers of earlier runs' rounds
        print(f"\n{held} papers: reusing {url}")
    else:
        loaded, built = bulk_load(store, rows)
        print(f"\n{args.papers} papers: insert {loaded:.0f} s, index {built:.0f} s")
    if args.store:  # the rounds store new papers: into a copy, so the file stays reusable
        store.dispose()
        shutil.copyfile(path, workdir / "bench.db")
        store = Store(f"sqlite:///{workdir / 'bench.db'}")
    arrivals = [
        [
            make_paper(title=row["title"], abstract=row["abstract"], authors=row["authors"])
            for row in synthetic_papers(NEW_PAPERS, 100 + n)[0]
        ]
        for n in range(args.rounds)
    ]
    del rows
    seeds = " ".join(f'"bench:{n}"' for n in (args.papers - 10, args.papers - 500, 1000))
    cases = {
        "1% word": parse(pick(freqs, 0.01, sampled)),
        "common word": parse(pick(freqs, 0.5, sampled)),
    }
    like = parse(f"like:({seeds})")
    results: dict[str, list[float]] = {}
    for round_number in range(args.rounds):
        for label, query in cases.items():
            results.setdefault(label, []).append(timed(lambda q=query: query_part(store, q)))
        store._counts = None  # type: ignore[attr-defined]  # a process's first like: search
        store._recent = None  # type: ignore[attr-defined]
        results.setdefault("like: cold", []).append(
            timed(lambda: query_part(store, store.bind(like)))
        )
        store.bump_generation()  # as a refresh that changed nothing does
        results.setdefault("like: new generation", []).append(
            timed(lambda: query_part(store, store.bind(like)))
        )
        store.upsert(arrivals[round_number], "bench-new", datetime.now(UTC))
        store.bump_generation()  # as a refresh that stored new papers does
        results.setdefault(f"like: {NEW_PAPERS} new papers", []).append(
            timed(lambda: query_part(store, store.bind(like)))
        )
        shifted = (args.papers - 11 - round_number, args.papers - 501 - round_number, 1001)
        other = parse("like:(" + " ".join(f'"bench:{n}"' for n in shifted) + ")")
        results.setdefault("like: new seeds", []).append(
            timed(lambda q=other: query_part(store, store.bind(q)))
        )
        results.setdefault("like: warm", []).append(
            timed(lambda: query_part(store, store.bind(like)))
        )
        print(f"round {round_number + 1} done")
    print(f"\n{args.papers} papers on {store.engine.dialect.name}; ms, min / median")
    for name, values in results.items():
        print(f"  {name:20s} {min(values):9.1f} {statistics.median(values):9.1f}")
    for name in results:
        if not name.startswith("like:"):
            continue
        for base in cases:
            ratio = min(results[name]) / max(min(results[base]), 1e-3)
            print(f"  {name} / {base}: {ratio:.1f}x")
    store.dispose()


if __name__ == "__main__":
    main()
