"""Real sources over a real local HTTP server: conditional GET, retries, timeouts, size cap,
failures that keep the last good feed, and one item per paper across every source."""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from werkzeug import Request, Response

from tests.helpers import (
    LISTINGS,
    free_port,
    parser_fixture,
    refresh,
    serve_file,
    synthetic_rss,
    toml_sources,
)

FAST = "retries = 2\nbackoff_seconds = 0.01\nconnect_timeout = 2\nread_timeout = 1\n"


@pytest.fixture
def app_with(make_app, write_config):  # type: ignore[no-untyped-def]
    """An app reading the given sources (dicts of [[sources]] keys)."""

    def build(*sources: dict[str, object], service: str = FAST):  # type: ignore[no-untyped-def]
        return make_app(write_config(sources=toml_sources(*sources), service=service))

    return build


def test_second_refresh_is_conditional_gets_304_and_writes_nothing(httpserver, app_with) -> None:
    seen = serve_file(httpserver, "/api/daily_papers", "hf_daily_papers.json")
    app = app_with({"name": "hf", "kind": "hf-api", "url": httpserver.url_for("/api/daily_papers")})
    first = refresh(app)
    assert first.sources[0].status == "ok" and first.sources[0].new == 5
    store = app.extensions["paperfeed"].store
    generation = store.generation()
    second = refresh(app)
    assert second.sources[0].status == "not_modified" and second.sources[0].new == 0
    assert seen[1].headers["If-None-Match"] == '"v1"'
    assert seen[1].headers["If-Modified-Since"] == "Tue, 12 Mar 2024 00:00:00 GMT"
    assert seen[1].headers["User-Agent"].startswith("paperfeed/")
    assert store.generation() == generation


def test_503_then_200_is_retried_and_succeeds(httpserver, app_with) -> None:
    calls = []

    def flaky(request: Request) -> Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response("busy", status=503, headers={"Retry-After": "1"})
        return Response(parser_fixture("cases/arxiv_api.atom").read_bytes())

    httpserver.expect_request("/api/query").respond_with_handler(flaky)
    app = app_with({"name": "arxiv", "kind": "arxiv-api", "url": httpserver.url_for("/api/query")})
    report = refresh(app)
    assert report.sources[0].status == "ok" and report.sources[0].new == 3
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.9  # Retry-After: 1 was honoured


def test_a_hung_server_times_out_within_the_read_timeout(httpserver, app_with) -> None:
    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(10)  # the test server has one thread: let it go when the test is done
        return Response("too late")

    httpserver.expect_request("/slow").respond_with_handler(hang)
    app = app_with({"name": "slow", "kind": "feed", "url": httpserver.url_for("/slow")})
    started = time.monotonic()
    report = refresh(app)
    elapsed = time.monotonic() - started
    assert report.sources[0].status == "error"
    assert "timed out" in (report.sources[0].error or "")
    release.set()
    assert elapsed < 3.0  # read_timeout = 1 s, a read timeout is not retried


@pytest.mark.parametrize("encoding", ["identity", "gzip", "chunked"])
def test_an_oversized_body_is_cut_off_and_reported(httpserver, app_with, encoding: str) -> None:
    body = parser_fixture("cases/hf_daily_papers.json").read_bytes() * 4
    if encoding == "gzip":
        response = Response(gzip.compress(body), headers={"Content-Encoding": "gzip"})
    elif encoding == "chunked":
        response = Response(iter([body[i : i + 1000] for i in range(0, len(body), 1000)]))
    else:
        response = Response(body)
    httpserver.expect_request("/big").respond_with_response(response)
    app = app_with(
        {"name": "big", "kind": "hf-api", "url": httpserver.url_for("/big")},
        service=FAST + "max_body_bytes = 10000\n",
    )
    report = refresh(app)
    assert report.sources[0].status == "error"
    assert "10000-byte cap" in (report.sources[0].error or "")
    status = app.test_client().get("/status").get_json()["sources"]["big"]
    assert status["failing"] and "cap" in status["last_error"]


def _deflate(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(wbits=wbits)
    return packer.compress(data) + packer.flush()


FEED = synthetic_rss(40).encode()
WHOLE = gzip.compress(FEED)


@pytest.mark.parametrize(
    ("encoding", "sent", "says"),
    [
        ("gzip", WHOLE, None),
        ("gzip", WHOLE + b"trailing junk after the stream", None),  # ignored, as browsers do
        ("gzip", gzip.compress(FEED[:999]) + gzip.compress(FEED[999:]), None),  # two members
        ("deflate", _deflate(FEED, 15), None),  # zlib-wrapped (RFC 9110)
        ("deflate", _deflate(FEED, -15), None),  # bare, as some servers send it
        ("gzip", WHOLE[: len(WHOLE) * 2 // 3], "ends before its stream does"),
        ("gzip", WHOLE[: len(WHOLE) * 2 // 3] + b"\x00garbage" * 1000, "the gzip body"),
        ("gzip", b"\x1f\x8bnot gzip at all", "the gzip body is corrupt"),
    ],
)
def test_compressed_bodies_are_decoded_whole_or_refused(
    httpserver, app_with, encoding: str, sent: bytes, says: str | None
) -> None:
    """A gzip body cut off mid-transfer and followed by other bytes decoded (by urllib3)
    into junk that was stored as papers; now a stream must end where it says it does."""
    response = Response(sent, headers={"Content-Encoding": encoding})
    httpserver.expect_request("/feed").respond_with_response(response)
    app = app_with({"name": "z", "kind": "feed", "url": httpserver.url_for("/feed")})
    outcome = refresh(app).sources[0]
    store = app.extensions["paperfeed"].store
    if says is None:
        assert (outcome.status, outcome.new) == ("ok", 40), outcome.error
    else:
        assert outcome.status == "error" and says in (outcome.error or ""), outcome.error
        assert store.count_papers() == 0


def test_a_dead_upstream_leaves_the_last_good_feed_served(httpserver, app_with) -> None:
    state = {"up": True}

    def upstream(request: Request) -> Response:
        if state["up"]:
            return Response(parser_fixture("cases/hf_daily_papers.json").read_bytes())
        return Response("<html>oops</html>", status=500)

    httpserver.expect_request("/api").respond_with_handler(upstream)
    app = app_with({"name": "hf", "kind": "hf-api", "url": httpserver.url_for("/api")})
    client = app.test_client()
    refresh(app)
    before = client.get("/feeds/residual.rss").data
    assert len(feedparser.parse(before).entries) == 1  # Hyper-Connections
    state["up"] = False
    report = refresh(app)
    assert report.sources[0].status == "error" and "HTTP 500" in (report.sources[0].error or "")
    assert client.get("/feeds/residual.rss").data == before
    status = client.get("/status").get_json()
    assert status["sources"]["hf"]["failing"] and status["papers"] == 5
    assert status["sources"]["hf"]["last_success"] is not None


def test_a_partial_answer_never_removes_items(httpserver, app_with) -> None:
    full = parser_fixture("cases/arxiv_rss.xml").read_text()
    state = {"body": full}
    httpserver.expect_request("/rss").respond_with_handler(lambda r: Response(state["body"]))
    app = app_with({"name": "rss", "kind": "arxiv-rss", "url": httpserver.url_for("/rss")})
    refresh(app)
    # The next listing has only one of the three items: the other two stay.
    start = full.index("<item>")
    state["body"] = full[:start] + full[full.index("<item>", start + 1) :]
    refresh(app)
    assert app.extensions["paperfeed"].store.count_papers() == 3


def test_hf_api_follows_the_last_n_days(httpserver, app_with) -> None:
    seen = serve_file(httpserver, "/api/daily_papers", "hf_daily_papers.json")
    app = app_with(
        {
            "name": "hf",
            "kind": "hf-api",
            "url": httpserver.url_for("/api/daily_papers"),
            "days": 3,
        }
    )
    refresh(app)
    dates = [r.args.get("date") for r in seen]
    assert len(dates) == 3 and len(set(dates)) == 3 and all(dates)


def test_every_source_together_gives_one_item_per_paper(httpserver, app_with) -> None:
    sources = [{"name": "samples", "kind": "hf-text", "path": str(LISTINGS / "*.txt")}]
    for name, kind in [
        ("hf_daily_papers.json", "hf-api"),
        ("hf_papers_page.html", "hf-page"),
        ("arxiv_api.atom", "arxiv-api"),
        ("arxiv_rss.xml", "arxiv-rss"),
    ]:
        serve_file(httpserver, f"/{name}", name)
        sources.append({"name": kind, "kind": kind, "url": httpserver.url_for(f"/{name}")})
    app = app_with(*sources)
    client = app.test_client()
    refresh(app)
    assert client.get("/status").get_json()["papers"] == 434
    for topic in ("residual", "imagenet-not-medical", "vit", "hot"):
        for fmt in ("rss", "atom", "json"):
            body = client.get(f"/feeds/{topic}.{fmt}?limit=500").data
            parsed = feedparser.parse(body) if fmt != "json" else None
            if parsed is not None:
                ids = [e.id for e in parsed.entries]
                titles = [e.title.lower() for e in parsed.entries]
            else:
                import json

                items = json.loads(body)["items"]
                ids, titles = [i["id"] for i in items], [i["title"].lower() for i in items]
            assert len(ids) == len(set(ids)), (topic, fmt)
            assert len(titles) == len(set(titles)), (topic, fmt)
    # Hyper-Connections: seen by title in the samples, then by arXiv id on Hugging Face.
    hyper = app.extensions["paperfeed"].store.find_paper("2402.01234")
    assert hyper is not None and hyper.guid.startswith("urn:paperfeed:title:")
    assert set(hyper.sources) == {"samples", "hf-api", "hf-page"}
    assert hyper.upvotes == 128


def test_guid_published_before_a_merge_is_the_guid_after_it(
    httpserver, make_app, write_config
) -> None:
    serve_file(httpserver, "/api", "hf_daily_papers.json")
    sources = toml_sources(
        {"name": "samples", "kind": "hf-text", "path": str(LISTINGS / "001_*.txt")},
        {"name": "hf", "kind": "hf-api", "url": httpserver.url_for("/api"), "enabled": False},
    )
    path = write_config(sources=sources, service=FAST)
    app = make_app(path)
    refresh(app)
    client = app.test_client()

    def guid_of(title: str) -> str:
        entries = feedparser.parse(client.get("/feeds/residual.rss?limit=500").data).entries
        return next(e.id for e in entries if e.title == title)

    published = guid_of("Hyper-Connections")
    path.write_text(path.read_text().replace("enabled = false", "enabled = true"))
    app2 = make_app(path)
    refresh(app2)
    client = app2.test_client()
    assert guid_of("Hyper-Connections") == published
    merged = app2.extensions["paperfeed"].store.find_paper("2402.01234")
    assert merged is not None and f"{merged.guid}#residual" == published


def test_a_replace_announcement_updates_the_known_paper(httpserver, app_with) -> None:
    serve_file(httpserver, "/api", "arxiv_api.atom")
    serve_file(httpserver, "/rss", "arxiv_rss.xml")
    app = app_with(
        {"name": "api", "kind": "arxiv-api", "url": httpserver.url_for("/api")},
        {"name": "rss", "kind": "arxiv-rss", "url": httpserver.url_for("/rss")},
    )
    refresh(app)
    store = app.extensions["paperfeed"].store
    assert store.count_papers() == 5
    paper = store.find_paper("1603.05027")
    assert paper is not None and paper.guid == "urn:arxiv:1603.05027"
    assert "replaced (new version) listing" in paper.abstract  # the longer abstract won
    assert set(paper.sources) == {"api", "rss"}


def test_local_paths_and_only_http_urls_are_read(tmp_path: Path) -> None:
    from refresh.fetch import Fetcher, FetchError

    fetcher = Fetcher()
    target = tmp_path / "x.txt"
    target.write_text("hello")
    with fetcher.fetch(str(target)) as first:
        assert first.body == b"hello"
    assert fetcher.fetch(str(target), etag=first.etag).not_modified
    for bad in ("ftp://example.org/x", "gopher://x", "javascript:alert(1)"):
        with pytest.raises(FetchError, match="only http"):
            fetcher.fetch(bad)
    with pytest.raises(FetchError):
        fetcher.fetch(str(tmp_path / "missing.txt"))
    with fetcher.fetch(str(target)) as read:
        target.write_text("rewritten in place, longer than before")
        assert read.body == b"hello"  # what was hashed is what is parsed
        assert read.digest == hashlib.sha256(b"hello").hexdigest()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    with pytest.raises(FetchError, match="not a regular file"):
        fetcher.fetch(str(fifo))
    with pytest.raises(FetchError, match="not a regular file"):
        fetcher.fetch("/dev/zero")  # would never end
    with pytest.raises(FetchError, match="null byte"):
        fetcher.fetch(str(tmp_path / "a\x00b.xml"))


def test_requests_to_arxiv_hosts_are_spaced_out() -> None:
    import responses

    from refresh.fetch import Fetcher

    fetcher = Fetcher(arxiv_interval=0.5)
    with responses.RequestsMock() as mock:
        mock.get("https://export.arxiv.org/api/query", body=b"<feed/>")
        mock.get("https://huggingface.co/api/daily_papers", body=b"[]")
        started = time.monotonic()
        fetcher.fetch("https://export.arxiv.org/api/query").close()
        fetcher.fetch("https://huggingface.co/api/daily_papers").close()  # not paced
        assert time.monotonic() - started < 0.4
        fetcher.fetch("https://export.arxiv.org/api/query").close()
        assert time.monotonic() - started >= 0.5


@pytest.mark.parametrize(
    ("where", "says"),
    [("refused", "connection refused"), ("unresolvable", "host name not found")],
)
def test_connection_errors_fail_at_once_without_retries(where: str, says: str) -> None:
    """The README retries 429 and 5xx only: a refused connection or a name that does not
    resolve (offline, a typo) fails on the first attempt with one line, not after backoff
    (3 retries of a 2 s backoff would wait 0 + 4 + 8 s)."""
    from refresh.fetch import Fetcher, FetchError

    url = (
        f"http://127.0.0.1:{free_port()}/feed"
        if where == "refused"
        else "http://nonexistent.invalid/feed"
    )
    fetcher = Fetcher(retries=3, backoff=2.0, connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"took {elapsed:.1f} s: retried with backoff"
    message = str(caught.value)
    assert message == f"{url}: could not connect ({says})", message


def test_a_source_is_due_again_a_whole_interval_after_it_was_read(
    make_app, write_config, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """first_seen is kept in whole seconds (the index's order); when the source was read is
    not, or the due check would come up to a second early (two refreshes 2 s apart with an
    interval of 3 s, seen in CI)."""
    listing = tmp_path / "l.rss"
    listing.write_text(synthetic_rss(3))
    source = {"name": "s", "kind": "feed", "path": str(listing), "every_minutes": 1}
    app = make_app(write_config(sources=toml_sources(source)))
    svc = app.extensions["paperfeed"]
    while not 100_000 <= datetime.now(UTC).microsecond <= 400_000:  # mid-second
        time.sleep(0.01)
    before = datetime.now(UTC)
    refresh(app)
    read_at = svc.store.source_state("s").last_attempt
    assert read_at >= before  # not the whole second before it
    config = svc.refresher.config
    (due,) = [s for s in config.sources if s.name == "s"]
    assert not svc.refresher.is_due(due)
    assert read_at + timedelta(minutes=0.9) > datetime.now(UTC)
    app.extensions["paperfeed"].close()
