"""Harvesting arXiv's OAI-PMH interface over a real local HTTP server: resumption tokens, a
503 with Retry-After in the middle, and a harvest killed in the middle that resumes from the
last token it committed; every record stored once with every field.

The pages are the real capture tests/parsing/data/real/arxiv_oai_2015-01-06_listrecords-
arxivraw.xml (six records) cut into three pages of two, with the tokens arXiv's form
("726959|3") added to the first two.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from lxml import etree
from werkzeug import Request, Response

import parsing
import store.papers as paper_writes
from refresh.fetch import Fetcher
from tests.helpers import parser_fixture, refresh, toml_sources

FAST = "retries = 2\nbackoff_seconds = 0.01\nconnect_timeout = 2\nread_timeout = 2\n"
CAPTURE = parser_fixture("real/arxiv_oai_2015-01-06_listrecords-arxivraw.xml").read_bytes()
OAI = "{http://www.openarchives.org/OAI/2.0/}"
TOKENS = ["726959|3", "726959|5"]  # page 1 gives the first, page 2 the second


def pages_of(capture: bytes, size: int) -> list[bytes]:
    """The capture cut into pages of size records; each but the last ends with the token of
    the next page, the last with an empty token (the list is complete), as arXiv answers."""
    root = etree.fromstring(capture)
    records = root.findall(f"{OAI}ListRecords/{OAI}record")
    pages = []
    for number, start in enumerate(range(0, len(records), size)):
        page = etree.fromstring(capture)
        listing = page.find(f"{OAI}ListRecords")
        for child in list(listing):
            listing.remove(child)
        for record in records[start : start + size]:
            listing.append(etree.fromstring(etree.tostring(record)))
        token = etree.SubElement(listing, f"{OAI}resumptionToken")
        token.set("cursor", str(start))
        token.set("completeListSize", str(len(records)))
        if start + size < len(records):
            token.text = TOKENS[number]
        pages.append(etree.tostring(page, xml_declaration=True, encoding="UTF-8"))
    return pages


PAGES = pages_of(CAPTURE, 2)


class Repository:
    """arXiv's OAI-PMH answers for the pages above; busy (503) when told to."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.busy_for: set[str] = set()  # tokens answered 503 once
        self.expired: set[str] = set()  # tokens answered badResumptionToken once

    def __call__(self, request: Request) -> Response:
        args = dict(request.args)
        self.requests.append(args)
        token = args.get("resumptionToken")
        if token in self.busy_for:
            self.busy_for.discard(token)
            return Response("Retry after 1 second", status=503, headers={"Retry-After": "1"})
        if token is None:
            assert args["verb"] == "ListRecords" and args["metadataPrefix"] == "arXivRaw"
            return Response(PAGES[0], content_type="text/xml")
        if token in self.expired or token not in TOKENS:
            self.expired.discard(token)
            return Response(
                parser_fixture("real/arxiv_oai_2015-06-23_error-badresumptiontoken.xml")
                .read_bytes()
                .replace(b'resumptionToken="3"', f'resumptionToken="{token}"'.encode()),
                content_type="text/xml",
            )
        return Response(PAGES[TOKENS.index(token) + 1], content_type="text/xml")


class Killed(BaseException):
    """What a SIGKILL is to the code it interrupts: nothing after it runs."""


class KilledAtFetch(Fetcher):
    """A fetcher whose process dies when asked for a page with the given token."""

    def __init__(self, inner: Fetcher, token: str) -> None:
        self.__dict__.update(inner.__dict__)
        self.token = token

    def fetch(self, location, **kwargs):  # type: ignore[no-untyped-def]
        if f"resumptionToken={self.token.replace('|', '%7C')}" in location:
            raise Killed
        return super().fetch(location, **kwargs)


@pytest.fixture
def harvest_app(httpserver, make_app, write_config):  # type: ignore[no-untyped-def]
    repository = Repository()
    httpserver.expect_request("/oai2").respond_with_handler(repository)
    source = {"name": "arxiv-oai", "kind": "oai", "url": httpserver.url_for("/oai2"), "set": "cs"}
    app = make_app(write_config(sources=toml_sources(source), service=FAST))
    yield app, repository
    app.extensions["paperfeed"].close()


def expected_papers() -> dict[str, parsing.Paper]:
    return {p.arxiv_id: p for p in parsing.parse("oai", CAPTURE).papers if p.arxiv_id}


def assert_stored_once_with_every_field(store) -> None:  # type: ignore[no-untyped-def]
    stored = list(store.iter_papers())
    assert sorted(p.arxiv_id for p in stored) == sorted(expected_papers())  # each once
    for paper in stored:
        want = expected_papers()[paper.arxiv_id]
        for name in ("title", "abstract", "authors", "categories", "published", "doi"):
            assert getattr(paper, name) == getattr(want, name), (paper.arxiv_id, name)
        assert paper.versions == want.versions and paper.license == want.license
    # Spot checks against the capture itself, read by eye.
    richard = next(p for p in stored if p.arxiv_id == "0704.0716")
    assert [(v.version, v.date) for v in richard.versions] == [
        (1, "2007-04-05T12:45:03+00:00"),
        (2, "2007-09-28T15:13:43+00:00"),
        (3, "2008-02-29T16:05:39+00:00"),
        (4, "2008-11-14T09:07:25+00:00"),
    ]
    assert richard.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    shetty = next(p for p in stored if p.arxiv_id == "0704.0471")
    assert shetty.authors == ("D.V. Shetty", "S.J. Yennello", "G.A. Souliotis")
    assert shetty.doi == "10.1103/physrevc.76.024606"  # the first of its two DOIs


def test_a_multi_page_harvest_follows_tokens_and_waits_out_a_503(harvest_app) -> None:
    app, repository = harvest_app
    repository.busy_for = {TOKENS[0]}  # page 2 answers 503 + Retry-After: 1 first
    report = refresh(app)
    outcome = report.sources[0]
    assert (outcome.status, outcome.papers, outcome.new) == ("ok", 6, 6)
    assert [r.get("resumptionToken") for r in repository.requests] == [
        None,
        TOKENS[0],  # 503
        TOKENS[0],
        TOKENS[1],
    ]
    first = repository.requests[0]
    yesterday = datetime.now(UTC).date() - timedelta(days=1)  # days = 1: the first harvest
    assert (first["set"], first["from"]) == ("cs", yesterday.isoformat())
    store = app.extensions["paperfeed"].store
    assert_stored_once_with_every_field(store)
    state = store.harvest_state("arxiv-oai")
    assert state.token is None and state.done == 6 and state.total == 6
    # The next harvest asks only for what changed since this one started (responseDate).
    assert state.next_from == date(2015, 1, 6)
    asked = len(repository.requests)
    refresh(app)
    assert repository.requests[asked]["from"] == "2015-01-06"
    assert "resumptionToken" not in repository.requests[asked]
    assert store.count_papers() == 6  # the same records again: merged, none twice


@pytest.mark.parametrize("where", ["between pages", "inside a page's write"])
def test_a_harvest_killed_in_the_middle_resumes_from_its_last_token(
    harvest_app, monkeypatch, where: str
) -> None:
    app, repository = harvest_app
    svc = app.extensions["paperfeed"]
    real_fetcher = svc.refresher.fetcher
    if where == "between pages":
        svc.refresher.fetcher = KilledAtFetch(real_fetcher, TOKENS[1])  # page 3 never comes
    else:
        real_write = paper_writes.write_checkpoint

        def dies_writing_page_two(conn, name, checkpoint):  # type: ignore[no-untyped-def]
            if checkpoint.harvest and checkpoint.harvest.token == TOKENS[1]:
                raise Killed  # page 2's papers are written, its transaction not committed
            real_write(conn, name, checkpoint)

        monkeypatch.setattr(paper_writes, "write_checkpoint", dies_writing_page_two)
    with pytest.raises(Killed):
        svc.refresher.run(force=True)
    committed = {"between pages": 4, "inside a page's write": 2}[where]
    assert svc.store.count_papers() == committed
    assert svc.store.harvest_state("arxiv-oai").token == TOKENS[committed // 2 - 1]
    monkeypatch.undo()
    svc.refresher.fetcher = real_fetcher
    svc.store.release_lease("refresh", svc.refresher.holder)  # the dead process's lease
    asked = len(repository.requests)
    report = refresh(app)
    assert report.sources[0].status == "ok"
    # It went on from the last committed token, not from the first page.
    resumed = [r.get("resumptionToken") for r in repository.requests[asked:]]
    assert resumed == TOKENS[committed // 2 - 1 :]
    assert_stored_once_with_every_field(svc.store)


def test_a_backfill_harvests_from_its_date_and_a_stale_token_starts_over(harvest_app) -> None:
    app, repository = harvest_app
    svc = app.extensions["paperfeed"]
    real_fetcher = svc.refresher.fetcher
    svc.refresher.fetcher = KilledAtFetch(real_fetcher, TOKENS[1])
    with pytest.raises(Killed):
        svc.refresher.run(force=True, since=date(2014, 10, 1))
    assert repository.requests[0]["from"] == "2014-10-01"
    svc.refresher.fetcher = real_fetcher
    svc.store.release_lease("refresh", svc.refresher.holder)
    # arXiv forgot the token meanwhile: the harvest starts again from its own from-date.
    repository.expired = {TOKENS[1]}
    report = svc.refresher.run(force=True, since=date(2014, 10, 1))
    assert report.sources[0].status == "ok"
    after_kill = [r.get("resumptionToken") or r["from"] for r in repository.requests[2:]]
    assert after_kill == [TOKENS[1], "2014-10-01", TOKENS[0], TOKENS[1]]
    assert svc.store.count_papers() == 6
    assert svc.store.harvest_state("arxiv-oai").next_from == date(2015, 1, 6)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"set": "cs.LG"}, "is not an arXiv OAI-PMH set"),
        ({"metadata_prefix": "oai_dc"}, "metadata_prefix = 'oai_dc' is not one of"),
        ({"categories": "cs.LG"}, "is not a list of arXiv categories"),
        ({"kind": "feed", "set": "cs"}, 'set only apply to kind = "oai"'),
    ],
)
def test_oai_keys_are_checked(write_config, keys, message) -> None:  # type: ignore[no-untyped-def]
    from settings import ConfigError, load_config

    source = {"name": "o", "kind": "oai", "url": "https://export.arxiv.org/oai2", **keys}
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(sources=toml_sources(source)))


def test_categories_narrow_a_set(harvest_app, make_app, write_config) -> None:  # type: ignore[no-untyped-def]
    app, repository = harvest_app
    url = app.extensions["paperfeed"].config.sources[0].url
    source = {"name": "nucl", "kind": "oai", "url": url, "set": "physics"}
    narrow = make_app(
        write_config(sources=toml_sources(source) + '\ncategories = ["nucl-th"]', service=FAST)
    )
    report = refresh(narrow)
    assert (report.sources[0].status, report.sources[0].papers) == ("ok", 2)
    stored = sorted(p.arxiv_id for p in narrow.extensions["paperfeed"].store.iter_papers())
    assert stored == ["0704.0471", "0704.1586"]  # the two records listed in nucl-th
    narrow.extensions["paperfeed"].close()


def test_the_backfill_command_loads_history_and_says_how_to_use_it(
    httpserver, write_config, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import run

    repository = Repository()
    httpserver.expect_request("/oai2").respond_with_handler(repository)
    source = {"name": "arxiv-oai", "kind": "oai", "url": httpserver.url_for("/oai2")}
    service = FAST + f"database_url = 'sqlite:///{tmp_path / 'cli.db'}'\n"
    config = str(write_config(sources=toml_sources(source), service=service))
    done = run("--config", config, "backfill", "arxiv-oai", "--since", "2014-10-01")
    assert done.returncode == 0, done.stderr
    assert "arxiv-oai: ok, 6 papers read, 6 new" in done.stdout
    assert "harvesting from 2014-10-01 (metadataPrefix=arXivRaw)" in done.stderr
    assert repository.requests[0]["from"] == "2014-10-01"
    wrong = run("--config", config, "backfill", "samples", "--since", "2014-10-01")
    assert wrong.returncode == 2 and "oai sources: arxiv-oai" in wrong.stderr
    assert run("--config", config, "backfill", "arxiv-oai", "--since", "last year").returncode == 2
    usage = run("backfill", "--help")
    assert 'kind = "oai"' in usage.stdout and "--since DATE" in usage.stdout
