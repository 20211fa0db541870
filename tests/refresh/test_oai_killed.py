"""A real `paperfeed backfill` process, SIGKILLed again and again in the middle of a harvest of
many pages (a 503 with Retry-After among them), resumes from the last token it committed and in
the end stores every record once, with every field.

The repository is a real local HTTP server. Its pages repeat the records of the real capture
tests/parsing/data/real/arxiv_oai_2015-01-06_listrecords-arxivraw.xml under new arXiv ids
(titles and DOIs made distinct too, so no two records are one paper), RECORDS_A_PAGE to a page,
with tokens of arXiv's form ("726959|<cursor>").
"""

from __future__ import annotations

import random
import re
import signal
import sqlite3
import subprocess
import threading
import time
from functools import partial
from pathlib import Path

import pytest
from lxml import etree
from werkzeug import Request, Response

import parsing
from tests.helpers import PAPERFEED, parser_fixture, toml_sources, wait_for

pytestmark = pytest.mark.slow

OAI = "{http://www.openarchives.org/OAI/2.0/}"
RAW = "{http://arxiv.org/OAI/arXivRaw/}"
CAPTURE = parser_fixture("real/arxiv_oai_2015-01-06_listrecords-arxivraw.xml").read_bytes()
PAGES, RECORDS_A_PAGE = 24, 50
BUSY_PAGE = 9  # answers 503 + Retry-After: 1 the first time it is asked for


def arxiv_id(number: int) -> str:
    return f"1501.{number:05d}"


def build_pages() -> list[bytes]:
    """PAGES pages of RECORDS_A_PAGE records each, the capture's records renumbered."""
    root = etree.fromstring(CAPTURE)
    originals = root.findall(f"{OAI}ListRecords/{OAI}record")
    total = PAGES * RECORDS_A_PAGE
    pages = []
    for page_number in range(PAGES):
        page = etree.fromstring(CAPTURE)
        listing = page.find(f"{OAI}ListRecords")
        for child in list(listing):
            listing.remove(child)
        for offset in range(RECORDS_A_PAGE):
            number = page_number * RECORDS_A_PAGE + offset
            record = etree.fromstring(etree.tostring(originals[number % len(originals)]))
            record.find(f"{OAI}header/{OAI}identifier").text = f"oai:arXiv.org:{arxiv_id(number)}"
            raw = record.find(f"{OAI}metadata/{RAW}arXivRaw")
            raw.find(f"{RAW}id").text = arxiv_id(number)
            title = raw.find(f"{RAW}title")
            title.text = f"{title.text} (record {number})"
            doi = raw.find(f"{RAW}doi")
            if doi is not None:
                doi.text = f"10.5555/record.{number}"
            listing.append(record)
        token = etree.SubElement(listing, f"{OAI}resumptionToken")
        token.set("cursor", str(page_number * RECORDS_A_PAGE))
        token.set("completeListSize", str(total))
        if page_number + 1 < PAGES:
            token.text = f"726959|{(page_number + 1) * RECORDS_A_PAGE}"
        pages.append(etree.tostring(page, xml_declaration=True, encoding="UTF-8"))
    return pages


class Repository:
    """The pages above, each answered after a short pause (so a kill lands mid-harvest)."""

    def __init__(self, pages: list[bytes]) -> None:
        self.pages = pages
        self.lock = threading.Lock()
        self.asked: list[str | None] = []  # the resumption token of each request, in order
        self.busy = True

    def __call__(self, request: Request) -> Response:
        token = request.args.get("resumptionToken")
        with self.lock:
            self.asked.append(token)
        number = 0 if token is None else int(token.split("|")[1]) // RECORDS_A_PAGE
        if number == BUSY_PAGE and self.busy:
            self.busy = False
            return Response("busy", status=503, headers={"Retry-After": "1"})
        time.sleep(0.1)
        return Response(self.pages[number], content_type="text/xml")

    def served(self) -> int:
        with self.lock:
            return len(self.asked)


def asked_or_exited(repository: Repository, until: int, process: subprocess.Popen[bytes]) -> bool:
    return repository.served() >= until or process.poll() is not None


def stored_ids(database: Path) -> list[str]:
    if not database.exists():
        return []
    with sqlite3.connect(database, timeout=30) as conn:
        try:
            return [row[0] for row in conn.execute("SELECT arxiv_id FROM papers")]
        except sqlite3.OperationalError:  # not migrated yet
            return []


def test_a_backfill_killed_again_and_again_resumes_and_stores_every_record_once(
    httpserver, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    pages = build_pages()
    repository = Repository(pages)
    httpserver.expect_request("/oai2").respond_with_handler(repository)
    source = {"name": "arxiv-oai", "kind": "oai", "url": httpserver.url_for("/oai2")}
    config = tmp_path / "paperfeed.toml"
    config.write_text(
        "[service]\ndatabase_url = 'sqlite:///store.db'\nretries = 2\nbackoff_seconds = 0.1\n\n"
        + toml_sources(source)
    )
    database = tmp_path / "store.db"
    command = [PAPERFEED, "--config", str(config), "backfill", "arxiv-oai", "--since", "2014-10-01"]
    chance = random.Random(22)
    counts, firsts = [], []
    for _ in range(4):
        asked_before = repository.served()
        process = subprocess.Popen(
            command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        until = asked_before + chance.randint(3, 5)
        wait_for(partial(asked_or_exited, repository, until, process), 60, "more pages asked")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        counts.append(len(stored_ids(database)))
        firsts.append(repository.asked[asked_before])
    assert counts == sorted(counts) and counts[-1] > 0, f"a kill lost stored records: {counts}"
    # After the first kill every run went on from a token it had committed, not from the start.
    assert all(token is not None for token in firsts[1:]), firsts
    assert counts[-1] < PAGES * RECORDS_A_PAGE, "the kills came too late to test anything"

    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.search(r"arxiv-oai: ok, \d+ papers read", done.stdout), done.stdout
    assert repository.busy is False  # the 503 was met (and waited out) on the way
    ids = stored_ids(database)
    assert len(ids) == len(set(ids)) == PAGES * RECORDS_A_PAGE
    assert set(ids) == {arxiv_id(n) for n in range(PAGES * RECORDS_A_PAGE)}

    # Every field as the parser reads the page it came from (a sample from every page).
    from app import open_store

    store = open_store(f"sqlite:///{database}")
    try:
        stored = {p.arxiv_id: p for p in store.iter_papers()}
        for number, page in enumerate(pages):
            want = parsing.parse("oai", page).papers[number % RECORDS_A_PAGE]
            got = stored[want.arxiv_id]
            for name in ("title", "abstract", "authors", "categories", "published", "doi"):
                assert getattr(got, name) == getattr(want, name), (want.arxiv_id, name)
            assert (got.versions, got.license) == (want.versions, want.license)
    finally:
        store.dispose()
