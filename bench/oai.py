"""Benchmark: an arXiv OAI-PMH harvest of synthetic arXivRaw pages served by a local HTTP
server, into a fresh store; what it costs per record in time and on disk.

The pages look like arXiv's (a thousand records each, a resumption token at the end; records
with 2-8 authors, 1-3 versions, an abstract of about 1,200 characters, comments, a license,
DOI and journal-ref on some). No pacing: arXiv's own (one request every 3 s, arxiv_interval)
comes on top and is added in the README's estimate.

  python bench/oai.py [--records 20000] [--page 1000] [--database-url URL] [--topics 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from werkzeug import Request, Response  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import make_refresher, open_store  # noqa: E402
from migrations import upgrade  # noqa: E402
from parsing.oai import parse_page  # noqa: E402
from settings import load_config  # noqa: E402

WORDS = [
    "learning",
    "model",
    "network",
    "training",
    "data",
    "attention",
    "transformer",
    "diffusion",
    "graph",
    "policy",
    "reinforcement",
    "language",
    "vision",
    "representation",
    "optimization",
    "gradient",
    "stochastic",
    "bound",
    "convergence",
    "generalization",
    "benchmark",
    "robust",
    "adversarial",
    "causal",
    "inference",
    "bayesian",
    "kernel",
]
RAW = 'xmlns="http://arxiv.org/OAI/arXivRaw/"'


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def record(n: int, rng: random.Random) -> str:
    versions = "".join(
        f'<version version="v{v}"><date>Mon, {1 + v} Jan 2025 1{v}:00:00 GMT</date>'
        f"<size>{rng.randint(100, 900)}kb</size><source_type>D</source_type></version>"
        for v in range(1, rng.randint(1, 3) + 1)
    )
    authors = ", ".join(
        f"{rng.choice('ABCDEFGH')}. Author{rng.randint(1, 99999)}" for _ in range(rng.randint(2, 8))
    )
    extra = ""
    if n % 3 == 0:
        extra += f"<journal-ref>J. Synth. {n % 97}:{n},2025</journal-ref>"
        extra += f"<doi>10.1234/synth.{n}</doi>"
    return (
        f"<record><header><identifier>oai:arXiv.org:2501.{n:05d}</identifier>"
        f"<datestamp>2025-01-{1 + n % 28:02d}</datestamp><setSpec>cs</setSpec></header>"
        f"<metadata><arXivRaw {RAW}><id>2501.{n:05d}</id><submitter>A. Author</submitter>"
        f"{versions}<title>{words(rng, 10).capitalize()} {n}</title><authors>{authors}</authors>"
        f"<categories>cs.LG {rng.choice(['stat.ML', 'cs.AI', 'cs.CV', 'cs.CL'])}</categories>"
        f"<comments>{rng.randint(5, 40)} pages, {rng.randint(1, 12)} figures</comments>{extra}"
        "<license>http://creativecommons.org/licenses/by/4.0/</license>"
        f"<abstract>{words(rng, 150)}</abstract></arXivRaw></metadata></record>"
    )


def make_pages(records: int, size: int) -> list[bytes]:
    rng = random.Random(22)
    pages = []
    for start in range(0, records, size):
        last = start + size >= records
        token = "" if last else f"synth|{start + size}"
        body = "".join(record(n, rng) for n in range(start + 1, min(start + size, records) + 1))
        pages.append(
            (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
                "<responseDate>2026-01-02T00:00:00Z</responseDate>"
                f'<ListRecords>{body}<resumptionToken cursor="{start}" '
                f'completeListSize="{records}">{token}</resumptionToken></ListRecords></OAI-PMH>'
            ).encode()
        )
    return pages


def serve(pages: list[bytes], per_page: int) -> tuple[str, object]:
    """A local OAI-PMH repository answering the pages by their tokens."""

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        token = Request(environ).args.get("resumptionToken")
        index = 0 if token is None else int(token.split("|")[1]) // per_page
        return Response(pages[index], content_type="text/xml")(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/oai2", server


def database_bytes(url: str, folder: Path) -> int:
    if url.startswith("sqlite"):
        return sum(p.stat().st_size for p in folder.glob("store.db*"))
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
    engine.dispose()
    return int(size or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--topics", type=int, default=5)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    pages = make_pages(args.records, args.page)
    started = time.process_time()
    for body in pages:
        parse_page(body)
    parse_cpu = time.process_time() - started
    url, server = serve(pages, args.page)
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        database = args.database_url or f"sqlite:///{folder / 'store.db'}"
        topics = "\n".join(
            f"[topics.t{n}]\nquery = '{WORDS[n % len(WORDS)]} AND {WORDS[-1 - n % len(WORDS)]}'"
            for n in range(args.topics)
        )
        config_path = folder / "paperfeed.toml"
        config_path.write_text(
            f"[service]\ndatabase_url = '{database}'\n\n[[sources]]\nname = 'oai'\n"
            f"kind = 'oai'\nurl = '{url}'\nset = 'cs'\n\n{topics}\n"
        )
        config = load_config(config_path, environ={})
        store = open_store(config.database_url)
        upgrade(store.engine)
        before = database_bytes(database, folder)
        refresher = make_refresher(config, store)
        started, cpu = time.perf_counter(), time.process_time()
        report = refresher.run(force=True, since=None)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        if store.is_sqlite:
            with store.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        after = database_bytes(database, folder)
        stored = store.count_papers()
        store.dispose()
    server.shutdown()  # type: ignore[attr-defined]
    outcome = report.sources[0]
    result = {
        "records": args.records,
        "pages": len(pages),
        "page_bytes": sum(map(len, pages)) // len(pages),
        "database": "sqlite" if database.startswith("sqlite") else "postgresql",
        "topics": args.topics,
        "status": outcome.status,
        "stored": stored,
        "harvest_seconds": round(seconds, 2),
        "records_per_second": round(args.records / seconds),
        # CPU seconds of this process (the harvest, and parsing alone): less shaken by
        # other load on the machine than wall time.
        "harvest_cpu_seconds": round(cpu, 2),
        "parse_cpu_seconds": round(parse_cpu, 2),
        "load_average": os.getloadavg()[0],
        "bytes_per_paper": round((after - before) / max(stored, 1)),
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
