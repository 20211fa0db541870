"""Benchmark: the HTML pages on a synthetic store, each beside a baseline from the same run.

index        /                       (counts and weekly chart read once per generation)
  baseline   the same page on a new generation (every read done again)
topic page   /topics/<topic>         (25 cards, highlighted)
  baseline   /feeds/<topic>.rss?limit=25 built uncached (the same rows, rendered as RSS)
search       /search?q=...           (scans the store, counts up to 1,000 matches)

  python bench/pages.py [--papers 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from web.service import service  # noqa: E402

WORDS = [
    "residual",
    "attention",
    "diffusion",
    "transformer",
    "vision",
    "network",
    "learning",
    "image",
    "model",
    "data",
    "training",
    "medical",
    "imagenet",
    "contrastive",
    "segmentation",
    "detection",
    "graph",
    "language",
    "robot",
]
TOPICS = {
    "residual": '"residual learning" OR resnet*',
    "imagenet-not-medical": "imagenet AND NOT medical",
    "segmentation": "title:segmentation",
}


def listing(papers: int, rng: random.Random) -> list[dict[str, object]]:
    """An hf-api listing of synthetic papers with dates spread over the year."""
    items = []
    for i in range(papers):
        title = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize() + f" {i}"
        items.append(
            {
                "paper": {
                    "id": f"{2300 + i // 10000}.{i % 10000:05d}",
                    "authors": [{"name": f"Author {k}"} for k in range(rng.randint(1, 12))],
                    "publishedAt": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}"
                    "T10:00:00.000Z",
                    "title": title,
                    "summary": " ".join(rng.choice(WORDS) for _ in range(30)),
                    "upvotes": rng.randint(0, 50),
                },
                "title": title,
            }
        )
    return items


def timed(action: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of repeat runs."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--papers", type=int, default=10_000)
    options.add_argument("--repeat", type=int, default=5)
    args = options.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="paperfeed-pages-"))
    (folder / "listing.json").write_text(json.dumps(listing(args.papers, random.Random(14))))
    topics = "\n".join(f"[topics.{name}]\nquery = '{query}'\n" for name, query in TOPICS.items())
    (folder / "paperfeed.toml").write_text(
        f'[service]\nmax_body_bytes = 1000000000\n\n[[sources]]\nname = "synthetic"\n'
        f'kind = "hf-api"\npath = "listing.json"\n\n{topics}'
    )
    app = create_app(
        {
            "config_path": str(folder / "paperfeed.toml"),
            "database_url": f"sqlite:///{folder / 'bench.db'}",
            "scheduler": "off",
            "generation_check_seconds": 0,
        }
    )
    client, svc = app.test_client(), service(app)
    started = time.perf_counter()
    svc.refresher.run(force=True)
    print(f"{args.papers} papers stored in {time.perf_counter() - started:.1f} s")

    def get(url: str) -> Callable[[], object]:
        def fetch() -> object:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response.data

        return fetch

    def new_generation() -> object:
        svc.store.bump_generation()
        return client.get("/").data

    svc.cache.drop(lambda _key: True)  # no feed from the cache: the baseline builds it
    rows = [
        ("index", timed(get("/"), args.repeat)),
        ("  baseline: index on a new generation", timed(new_generation, args.repeat)),
    ]
    for name in TOPICS:
        size = svc.store.topic_size(name)
        rows.append((f"topic page {name} ({size} papers)", timed(get(f"/topics/{name}"), 5)))

        def uncached_feed(name: str = name) -> object:
            svc.store.bump_generation()
            return client.get(f"/feeds/{name}.rss?limit=25").data

        rows.append(("  baseline: its RSS feed of 25, uncached", timed(uncached_feed, 5)))
    for query in ("imagenet", '"medical imagenet vision"', "zzzz"):
        rows.append((f"search {query}", timed(get(f"/search?q={query}"), args.repeat)))
    for label, milliseconds in rows:
        print(f"{label:48s} {milliseconds:8.1f} ms")
    svc.store.dispose()


if __name__ == "__main__":
    main()
