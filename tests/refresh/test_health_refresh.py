"""Source health through real refreshes (a temporary SQLite store, sources served over HTTP
or read from files), as /status, the home page, /metrics and `paperfeed refresh` show it.
Each of the four first cases read as "ok" before."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from werkzeug import Request, Response

from refresh import pipeline
from tests.helpers import LISTINGS, parser_fixture, refresh, run, toml_sources

FAST = "retries = 0\nconnect_timeout = 2\nread_timeout = 2\n"
REFUSED = json.dumps([{"paper": {"title": f"No id {n}"}} for n in range(30)]).encode()


@pytest.fixture
def app_with(make_app, write_config):  # type: ignore[no-untyped-def]
    """An app reading the given sources; closed (its connections too) after the test."""
    apps = []

    def build(*sources: dict[str, object], **settings: object):  # type: ignore[no-untyped-def]
        config = write_config(sources=toml_sources(*sources), service=FAST)
        apps.append(make_app(config, **settings))
        return apps[-1]

    yield build
    for app in apps:
        app.extensions["paperfeed"].close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, database_url: str) -> str:  # type: ignore[no-untyped-def]
    return database_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The refresher's clock: it reads the last moment appended (now, until one is)."""
    moments = [datetime.now(UTC)]

    class Fixed(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Fixed:
            return moments[-1].astimezone(tz)  # type: ignore[return-value]

    monkeypatch.setattr(pipeline, "datetime", Fixed)
    return moments


def serve(httpserver, path: str, bodies: list[bytes], etag: bool = False) -> str:  # type: ignore[no-untyped-def]
    """Serve bodies[-1] at path (a test appends the next day's); with an ETag per body and
    304 when the reader has it, as a server with validators does."""

    def handler(request: Request) -> Response:
        tag = f'"{len(bodies)}"' if etag else None
        if tag and request.headers.get("If-None-Match") == tag:
            return Response(status=304)
        return Response(bodies[-1], headers={"ETag": tag} if tag else {})

    httpserver.expect_request(path).respond_with_handler(handler)
    return str(httpserver.url_for(path))


def status(app) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    return app.test_client().get("/status").get_json()["sources"]  # type: ignore[no-any-return]


def ny(day: int, hour: int) -> datetime:
    """February 2027 in New York: Thursday the 4th, Friday the 5th, ..., Monday the 8th."""
    return datetime(2027, 2, day, hour, tzinfo=ZoneInfo("America/New_York"))


def test_an_hf_text_source_given_json_is_suspect_and_stores_nothing(
    app_with, tmp_path: Path
) -> None:
    listing = tmp_path / "listing.txt"
    listing.write_bytes(parser_fixture("real/hf_api_2024-10-11.json").read_bytes())
    app = app_with({"name": "text", "kind": "hf-text", "path": str(listing)})
    for _ in range(2):  # the same file again: read and judged again, not a quiet 304
        (outcome,) = refresh(app).sources
        assert (outcome.status, outcome.health) == ("ok", "suspect")
        source = status(app)["text"]
        assert (source["health"], source["failing"]) == ("suspect", False)
        assert (
            source["health_reason"] == "a JSON document, not a text listing (is the kind hf-api?)"
        )
    # Before: 22 papers titled '"title": "DART: Denoising ...' were stored.
    assert app.extensions["paperfeed"].store.count_papers() == 0
    page = app.test_client().get("/").get_data(as_text=True)
    assert '<span class="warning">suspect: a JSON document, not a text listing' in page
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'paperfeed_source_health{source="text",state="suspect"} 1.0' in metrics
    assert 'paperfeed_source_health{source="text",state="ok"} 0.0' in metrics
    # The right body heals it.
    listing.write_bytes(next(LISTINGS.glob("*.txt")).read_bytes())
    (outcome,) = refresh(app).sources
    assert outcome.health is None and outcome.new > 0
    assert (status(app)["text"]["health"], status(app)["text"]["health_reason"]) == ("ok", None)


def test_an_hf_api_day_whose_every_record_is_refused_is_suspect(httpserver, app_with) -> None:
    bodies = [REFUSED]
    url = serve(httpserver, "/api/daily_papers", bodies)
    app = app_with({"name": "hf", "kind": "hf-api", "url": url})
    refresh(app)
    source = status(app)["hf"]
    assert (source["health"], source["skipped_records"], source["failing"]) == (
        "suspect",
        30,
        False,
    )
    assert source["health_reason"] == (
        "every one of its 30 records was refused (first: entry 0: no arXiv id in paper.id None)"
    )
    # A quiet day (`[]`) is not suspect.
    bodies.append(b"[]")
    refresh(app)
    assert (status(app)["hf"]["health"], status(app)["hf"]["health_reason"]) == ("ok", None)


@pytest.mark.parametrize(
    "validators",
    # Each refresh stores 250 papers again; the 304 case checks the same judgement cheaply.
    [pytest.param(False, id="200-again", marks=pytest.mark.slow), pytest.param(True, id="304")],
)
def test_the_same_arxiv_batch_day_after_day_is_stale(
    httpserver, app_with, clock: list[datetime], validators: bool, database: str
) -> None:
    bodies = [parser_fixture("real/arxiv_rss_2024-11-28_part1.xml").read_bytes()]
    url = serve(httpserver, "/rss/cs", bodies, etag=validators)
    app = app_with({"name": "arxiv", "kind": "arxiv-rss", "url": url}, database_url=database)
    seen = []
    # Thursday's batch first read on Friday, then served again all weekend and on Monday.
    for moment in (ny(5, 1), ny(6, 12), ny(7, 23), ny(8, 3)):
        clock.append(moment)
        refresh(app)
        seen.append(status(app)["arxiv"])
    assert [s["health"] for s in seen] == ["ok", "ok", "ok", "stale"]
    assert [s["failing"] for s in seen] == [False] * 4
    assert seen[-1]["health_reason"] == (
        "the same batch since 2027-02-05 06:00 UTC; a new one was due by 2027-02-08 07:30 UTC "
        "(arXiv announces Sunday to Thursday at 20:00 New York time)"
    )
    # Monday's batch arrives: ok again.
    bodies.append(parser_fixture("cases/arxiv_rss.xml").read_bytes())
    clock.append(ny(8, 4))
    (outcome,) = refresh(app).sources
    assert outcome.health is None and status(app)["arxiv"]["health"] == "ok"


def test_an_arxiv_api_source_given_the_rss_listing_is_suspect(httpserver, app_with) -> None:
    # The weekend RSS channel (no items) read as the API: before, a quiet day.
    url = serve(
        httpserver,
        "/api/query",
        [parser_fixture("real/arxiv_rss_2024-11-28_empty-test.xml").read_bytes()],
    )
    app = app_with({"name": "api", "kind": "arxiv-api", "url": url})
    refresh(app)
    source = status(app)["api"]
    assert (source["health"], source["failing"]) == ("suspect", False)
    assert source["health_reason"] == (
        "an RSS feed, where the arXiv API answers Atom (is the kind arxiv-rss?)"
    )


def test_a_quiet_arxiv_channel_stays_ok_day_after_day(httpserver, app_with, clock) -> None:
    url = serve(
        httpserver,
        "/rss/test",
        [parser_fixture("real/arxiv_rss_2024-11-28_empty-test.xml").read_bytes()],
    )
    app = app_with({"name": "quiet", "kind": "arxiv-rss", "url": url})
    for day in range(4, 12):
        clock.append(ny(day, 12))
        refresh(app)
        assert status(app)["quiet"]["health"] == "ok"


@pytest.mark.parametrize(
    ("kind", "capture"),
    [
        ("hf-api", "hf_api_2024-10-11.json"),
        ("hf-api", "hf_api_2025-07-22.json"),
        ("arxiv-rss", "arxiv_rss_2024-11-28_part1.xml"),
        ("arxiv-rss", "arxiv_rss_2024-11-28_empty-test.xml"),
        ("arxiv-api", "arxiv_api_2018-02-05_einstein.atom"),
        ("arxiv-api", "arxiv_api_2026_id-astro-ph-0601001.atom"),
        ("arxiv-api", "arxiv_api_2026_id-list-2.atom"),
        ("arxiv-api", "arxiv_api_2026_empty.atom"),
        ("feed", "feed_nature_2024-07-18.rss"),
    ],
)
def test_every_real_capture_refreshes_healthy(httpserver, app_with, kind, capture) -> None:
    url = serve(httpserver, "/listing", [parser_fixture(f"real/{capture}").read_bytes()], etag=True)
    app = app_with({"name": "real", "kind": kind, "url": url})
    for _ in range(2):  # read, then 304
        (outcome,) = refresh(app).sources
        assert outcome.status in ("ok", "not_modified") and outcome.health is None
        assert (status(app)["real"]["health"], status(app)["real"]["health_reason"]) == ("ok", None)


def test_a_failing_source_keeps_the_health_its_last_body_gave(httpserver, app_with) -> None:
    answers: list[Callable[[], Response]] = [lambda: Response(REFUSED)]
    httpserver.expect_request("/api").respond_with_handler(lambda request: answers[-1]())
    app = app_with({"name": "hf", "kind": "hf-api", "url": httpserver.url_for("/api")})
    refresh(app)
    answers.append(lambda: Response("down", status=500))
    refresh(app)
    source = status(app)["hf"]
    assert source["failing"] is True and source["health"] == "suspect"


def test_paperfeed_refresh_prints_the_health_on_the_source_line(
    tmp_path: Path, write_config
) -> None:
    listing = tmp_path / "listing.txt"
    listing.write_bytes(parser_fixture("real/hf_api_2025-07-22.json").read_bytes())
    config = write_config(
        sources=toml_sources({"name": "text", "kind": "hf-text", "path": str(listing)})
    )
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    result = run("--config", str(config), "--database-url", db, "refresh", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "text: ok, 0 new, 0 changed — suspect: a JSON document, not a text listing "
        "(is the kind hf-api?)"
    ) in result.stdout
