"""Benchmark: N synthetic papers x T topics through the anchor-indexed matcher, against a
naive baseline (per topic, per paper, one regex search per keyword), side by side.

    python bench/match.py [--papers 100000] [--topics 1000] [--baseline-papers 500]

The baseline is measured on a sample of the papers (it would take hours on all of them)
and reported as papers/s, like ours; the ratio compares the two rates from the same run.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from topics.analysis import Document  # noqa: E402
from topics.matcher import TopicMatcher  # noqa: E402
from topics.query import parse  # noqa: E402


def vocabulary(size: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    return sorted(words)


def zipf_sampler(words: list[str], rng: random.Random):  # type: ignore[no-untyped-def]
    weights = [1 / (rank + 1) ** 1.05 for rank in range(len(words))]

    def sample(k: int) -> list[str]:
        return rng.choices(words, weights=weights, k=k)

    return sample


def make_papers(n: int, sample, rng: random.Random) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    papers = []
    for _ in range(n):
        papers.append(
            {
                "title": " ".join(sample(rng.randint(6, 14))).title(),
                "abstract": " ".join(sample(rng.randint(120, 200))) + ".",
                "authors": ("A. Author", "B. Writer"),
                "upvotes": rng.randint(0, 100),
            }
        )
    return papers


def make_topics(t: int, words: list[str], rng: random.Random) -> dict[str, tuple[str, list[str]]]:
    """Topic queries and their keywords; keywords come from the middle of the Zipf curve."""
    middle = words[200:8000]
    templates = [
        lambda k: (f'{k[0]} OR "{k[1]} {k[2]}" OR {k[3][:5]}*', k[:4]),
        lambda k: (f"{k[0]} AND ({k[1]} OR {k[2]}) AND NOT {k[3]}", k[:4]),
        lambda k: (f"title:{k[0]} OR {k[1]} OR {k[2]}", k[:3]),
        lambda k: (f'"{k[0]} {k[1]}" AND upvotes:[20 TO *]', k[:2]),
        lambda k: (f"{k[0]} {k[1]} -{k[2]}", k[:3]),
    ]
    topics = {}
    for i in range(t):
        keys = rng.sample(middle, 4)
        query, keywords = templates[i % len(templates)](keys)
        topics[f"t{i}"] = (query, keywords)
    return topics


def run_ours(papers, queries) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    matcher = TopicMatcher(queries)
    started = time.perf_counter()
    matched = 0
    for paper in papers:
        matched += len(matcher.match(Document.of(**paper)))  # type: ignore[arg-type]
    return time.perf_counter() - started, matched


def run_naive(papers, topics) -> float:  # type: ignore[no-untyped-def]
    compiled = {
        name: [re.compile(rf"\b{re.escape(k)}\b", re.IGNORECASE) for k in keywords]
        for name, (_, keywords) in topics.items()
    }
    started = time.perf_counter()
    for paper in papers:
        text = f"{paper['title']}\n{paper['abstract']}"
        for patterns in compiled.values():
            for pattern in patterns:
                pattern.search(text)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--topics", type=int, default=1_000)
    parser.add_argument("--baseline-papers", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    words = vocabulary(20_000, rng)
    sample = zipf_sampler(words, rng)
    papers = make_papers(args.papers, sample, rng)
    topics = make_topics(args.topics, words, rng)
    queries = {name: parse(query) for name, (query, _) in topics.items()}

    ours_seconds, matched = run_ours(papers, queries)
    baseline = papers[: args.baseline_papers]
    naive_seconds = run_naive(baseline, topics)
    ours_rate = len(papers) / ours_seconds
    naive_rate = len(baseline) / naive_seconds
    print(f"papers x topics: {len(papers)} x {len(topics)}")
    print(
        f"ours:  {ours_seconds:.1f} s for all papers, {ours_rate:,.0f} papers/s, "
        f"{matched} memberships"
    )
    print(f"naive: {naive_seconds:.1f} s for {len(baseline)} papers, {naive_rate:,.0f} papers/s")
    print(f"ratio: {ours_rate / naive_rate:.1f}x the naive baseline")


if __name__ == "__main__":
    main()
