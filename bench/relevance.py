"""Benchmark: topics from example papers, on real data (../shared/relevance, its README).

    python bench/relevance.py [--data ../shared/relevance] [--draws 3] [--terms 40] ...

For each theme, ranks the judged papers of the newer half (listed on or after the split
day, the seeds left out) three ways, with the product's own code:

  phrase   the theme's phrase as a rule ('"gaussian splatting"'), newest first
  like     like:(the 3 seeds): topics.similarity's profile, BM25 against it, with the
           document frequencies of the whole store (all 9,577 papers, as the text index
           would count them), kept when at least min_similarity
  hybrid   '"phrase" OR like:(seeds)': the rule's papers and the similar ones, ranked by
           similarity plus the rule's prior (topics.query's score)

and prints P@20, R@100, average precision and recall@100 of the papers the phrase misses,
per theme and the mean. Then the same on themes not tuned on: `--draws N` draws N other
seed triples per theme from the newer half's relevant papers (fixed random seed; those
papers leave the pool), which neither the constants nor the threshold ever saw.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from topics import similarity  # noqa: E402
from topics.analysis import Document  # noqa: E402
from topics.query import parse  # noqa: E402
from topics.similarity import CountedCorpus, Profile, Seed  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "relevance"


@dataclass
class Theme:
    name: str
    phrase: str
    seeds: list[str]
    relevant: set[str]
    misses: set[str]
    pool: list[str]  # judged newer papers, newest first, seeds left out


def load(data: Path) -> tuple[dict[str, dict], list[dict]]:
    with gzip.open(data / "corpus.jsonl.gz", "rt") as handle:
        papers = {p["id"]: p for p in map(json.loads, handle)}
    return papers, json.loads((data / "themes.json").read_text())


def themes(papers: dict[str, dict], raw: list[dict], draws: int) -> tuple[list[Theme], list[Theme]]:
    """The benchmark's themes, and `draws` unseen seed triples per theme."""
    split = raw[0]["split_day"]
    newer = sorted(
        (p for p in papers.values() if p["judged"] and p["listed_day"] >= split),
        key=lambda p: (p["listed_day"], p["id"]),
        reverse=True,
    )
    order = [p["id"] for p in newer]
    given, unseen = [], []
    rng = random.Random(23)
    for t in raw:
        relevant = set(t["relevant_newer"]) & set(order)
        misses = set(t["keyword_miss_newer_ids"]) & relevant
        given.append(Theme(t["theme"], t["phrase"], t["seeds"], relevant, misses, order))
        for n in range(draws):
            seeds = rng.sample(sorted(relevant), 3)
            rest = [i for i in order if i not in seeds]
            unseen.append(
                Theme(
                    f"{t['theme']} #{n + 1}",
                    t["phrase"],
                    seeds,
                    relevant - set(seeds),
                    misses - set(seeds),
                    rest,
                )
            )
    return given, unseen


def metrics(ranked: Sequence[str], theme: Theme) -> dict[str, float]:
    relevant, misses = theme.relevant, theme.misses
    hits, precision_sum = 0, 0.0
    for rank, pid in enumerate(ranked, start=1):
        if pid in relevant:
            hits += 1
            precision_sum += hits / rank
    top20, top100 = set(ranked[:20]), set(ranked[:100])
    return {
        "P@20": len(top20 & relevant) / 20,
        "R@100": len(top100 & relevant) / max(len(relevant), 1),
        "AP": precision_sum / max(len(relevant), 1),
        "missR@100": len(top100 & misses) / len(misses) if misses else float("nan"),
    }


Method = Callable[[Theme], list[str]]


def methods(
    docs: dict[str, Document],
    titles: dict[str, str],
    corpus: CountedCorpus,
    args: argparse.Namespace,
) -> dict[str, Method]:
    def seeds(theme: Theme) -> list[Seed]:
        return [Seed(i, titles[i], docs[i]) for i in theme.seeds]

    def profile(theme: Theme) -> Profile:
        return Profile.build(seeds(theme), corpus, threshold=args.threshold)

    def phrase(theme: Theme) -> list[str]:
        rule = parse(f'"{theme.phrase}"')
        return [i for i in theme.pool if rule.matches(docs[i])]  # the pool is newest first

    def like(theme: Theme) -> list[str]:
        found = profile(theme)
        scored = [(found.score(docs[i]), i) for i in theme.pool]
        return [i for s, i in sorted(scored, key=lambda x: -x[0]) if s >= found.threshold]

    def hybrid(theme: Theme) -> list[str]:
        # What topics.query scores for `"phrase" OR like:(...)`: the rule's prior plus the
        # similarity; members are the rule's papers and the similar ones. The profile is
        # widened by the rule's papers as the store's binder does (store.similarity): its
        # WIDEN_POOL newest.
        rule = parse(f'"{theme.phrase}"')
        ruled = [docs[i] for i in theme.pool if rule.matches(docs[i])][: similarity.WIDEN_POOL]
        found = profile(theme)
        if args.widen:
            found = found.widened(seeds(theme), corpus, ruled)
        scored = []
        for i in theme.pool:
            score, ruled = found.score(docs[i]), rule.matches(docs[i])
            if ruled or score >= found.threshold:
                scored.append((score + (args.prior if ruled else 0.0), i))
        return [i for _, i in sorted(scored, key=lambda x: -x[0])]

    return {"phrase": phrase, "like": like, "hybrid": hybrid}


def report(title: str, cases: list[Theme], run: dict[str, Method], detail: bool) -> dict:
    print(f"\n{title}\n")
    print(f"| method | {'theme | ' if detail else ''}P@20 | R@100 | MAP | missR@100 |")
    print(f"|---|{'---|' if detail else ''}---|---|---|---|")
    means = {}
    for name, method in run.items():
        rows = [(case, metrics(method(case), case)) for case in cases]
        if detail:
            for case, m in rows:
                print(f"| {name} | {case.name} | " + " | ".join(_fmt(m[k]) for k in m) + " |")
        mean = {k: statistics.fmean(m[k] for _, m in rows if m[k] == m[k]) for k in rows[0][1]}
        means[name] = mean
        print(
            f"| **{name}** | {'mean | ' if detail else ''}"
            + " | ".join(_fmt(mean[k]) for k in mean)
            + " |"
        )
    hybrid, phrase, like = means["hybrid"], means["phrase"], means["like"]
    print(
        f"\ntargets: hybrid MAP - phrase MAP = {hybrid['AP'] - phrase['AP']:+.3f} (>= +0.03), "
        f"hybrid missR@100 = {hybrid['missR@100']:.2f} (>= 0.45), "
        f"like MAP = {like['AP']:.2f} (>= 0.55)"
    )
    return means


def _fmt(value: float) -> str:
    return "-" if value != value else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--draws", type=int, default=3, help="unseen seed triples per theme")
    parser.add_argument("--terms", type=int, default=similarity.PROFILE_TERMS)
    parser.add_argument("--threshold", type=float, default=similarity.DEFAULT_THRESHOLD)
    parser.add_argument("--title-weight", type=float, default=similarity.TITLE_WEIGHT)
    parser.add_argument("--max-share", type=float, default=similarity.MAX_DOC_SHARE)
    parser.add_argument("--prior", type=float, default=similarity.RULE_PRIOR)
    parser.add_argument(
        "--no-widen",
        dest="widen",
        action="store_false",
        help="the hybrid without the rule's papers as examples",
    )
    parser.add_argument("--brief", action="store_true", help="means only")
    args = parser.parse_args()
    similarity.PROFILE_TERMS = args.terms
    similarity.RULE_PRIOR = args.prior
    similarity.TITLE_WEIGHT = args.title_weight
    similarity.MAX_DOC_SHARE = args.max_share
    papers, raw = load(args.data)
    docs = {i: Document.of(title=p["title"], abstract=p["abstract"]) for i, p in papers.items()}
    titles = {i: p["title"] for i, p in papers.items()}
    corpus = CountedCorpus.of(docs.values())
    given, unseen = themes(papers, raw, args.draws)
    run = methods(docs, titles, corpus, args)
    print(
        f"{len(papers)} papers in the store, {len(given[0].pool)} ranked; profile "
        f"{args.terms} words, title x{args.title_weight:g}, min_similarity {args.threshold:g}, "
        f"rule prior {args.prior:g}, hybrid widened: {args.widen}"
    )
    report("The 6 themes (their seeds)", given, run, not args.brief)
    if unseen:
        report(f"Unseen: {args.draws} other seed triples per theme", unseen, run, False)


if __name__ == "__main__":
    main()
