"""A record never aborts a refresh, on SQLite and PostgreSQL: values out of range are dropped
at the parser boundary, a record the store still refuses is the only one lost, and an
unexpected error costs its source only and shows in /status and /metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import parsing
from parsing.model import Paper
from tests.helpers import parser_fixture, toml_sources

OUT_OF_RANGE = [
    {"paper": {"id": "2501.00001", "title": "Upvotes Too Many", "upvotes": 1e20}},
    {"paper": {"id": "2501.00002", "title": "Upvotes Past Int32", "upvotes": 2**31}},
    {"paper": {"id": "2501.00003", "title": "Far Future", "publishedAt": "9999-12-31T23:59:59Z"}},
    {"paper": {"id": "2501.00004", "title": "Negative Comments"}, "numComments": -1},
    {
        "paper": {
            "id": "2501.00005",
            "title": "Long Link",
            "githubRepo": "https://x.io/" + "a" * 3000,
        }
    },
    {
        "paper": {
            "id": "2501.00006",
            "title": "Fine",
            "upvotes": 3,
            "publishedAt": "2025-01-02T00:00:00Z",
        }
    },
    {"paper": {"id": "x" * 5000, "title": "Over-long id"}},
]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, database_url: str) -> str:  # type: ignore[no-untyped-def]
    return database_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def app_on(make_app, write_config, database: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """An app on the parametrized database reading the given local files, one source each."""

    def build(**files: tuple[str, bytes]):  # type: ignore[no-untyped-def]
        sources = []
        for name, (kind, body) in files.items():
            path = tmp_path / f"{name}.body"
            path.write_bytes(body)
            sources.append({"name": name, "kind": kind, "path": str(path)})
        app = make_app(write_config(sources=toml_sources(*sources)), database_url=database)
        return app, app.extensions["paperfeed"]

    return build


def test_values_out_of_every_range_are_dropped_and_the_rest_is_stored(app_on) -> None:
    app, svc = app_on(hf=("hf-api", json.dumps(OUT_OF_RANGE).encode()))
    (outcome,) = svc.refresher.run(force=True).sources
    assert (outcome.status, outcome.papers, outcome.skipped) == ("ok", 6, 1)
    assert outcome.dropped == 5
    stored = {p.title: p for p in svc.store.iter_papers()}
    assert stored["Upvotes Too Many"].upvotes is None
    assert stored["Far Future"].published is None
    assert stored["Long Link"].links == ()
    assert stored["Fine"].upvotes == 3 and stored["Fine"].published.year == 2025
    status = app.test_client().get("/status").get_json()["sources"]["hf"]
    assert status["failing"] is False and status["skipped_records"] == 1
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'paperfeed_fields_dropped_total{source="hf"} 5.0' in metrics
    svc.store.dispose()


def test_a_record_the_store_refuses_costs_that_record_only(app_on, monkeypatch) -> None:
    good = [Paper(title=f"Good Paper {n}", arxiv_id=f"2501.0001{n}") for n in range(3)]
    # A record that bypassed validation (a parser bug): no database holds a 70-bit count.
    bad = Paper(title="Unstorable", arxiv_id="2501.00020", upvotes=2**70)
    monkeypatch.setattr(
        parsing, "parse", lambda kind, body: parsing.ParseResult([good[0], bad, *good[1:]])
    )
    app, svc = app_on(one=("hf-api", b"[]"), two=("hf-api", b"[]"))
    report = svc.refresher.run(force=True)
    assert [(s.status, s.new, s.skipped) for s in report.sources] == [("ok", 3, 1), ("ok", 0, 1)]
    assert sorted(p.title for p in svc.store.iter_papers()) == [p.title for p in good]
    assert app.test_client().get("/status").get_json()["sources"]["two"]["failing"] is False
    svc.store.dispose()


def test_an_unexpected_error_costs_its_source_only(app_on, monkeypatch) -> None:
    paper = parsing.model.make_paper(title="A Paper", arxiv_id="2501.00030")
    monkeypatch.setattr(parsing, "parse", lambda kind, body: parsing.ParseResult([paper]))
    app, svc = app_on(broken=("hf-api", b"[]"), fine=("hf-api", b"[]"))
    original = svc.store.upsert

    def upsert(batch, source, *args, **kwargs):  # type: ignore[no-untyped-def]
        if source == "broken":
            raise RuntimeError("a bug in matching")
        return original(batch, source, *args, **kwargs)

    monkeypatch.setattr(svc.store, "upsert", upsert)
    report = svc.refresher.run(force=True)
    assert [s.status for s in report.sources] == ["error", "ok"]
    assert svc.store.count_papers() == 1
    status = app.test_client().get("/status").get_json()["sources"]
    assert status["broken"]["failing"] is True
    assert "RuntimeError: a bug in matching" in status["broken"]["last_error"]
    assert status["fine"]["failing"] is False
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'paperfeed_refreshes_total{outcome="error",source="broken"} 1.0' in metrics
    svc.store.dispose()


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("arxiv-rss", parser_fixture("real/arxiv_rss_2024-11-28_error-bad-archive.xml")),
        ("arxiv-api", parser_fixture("real/arxiv_api_2026_error-id-abc.atom")),
        ("hf-text", b"<!DOCTYPE html><html><body>Access denied</body></html>"),
    ],
)
def test_an_error_answer_is_a_failing_source_not_an_empty_day(
    app_on, kind: str, body: Path | bytes
) -> None:
    raw = body.read_bytes() if isinstance(body, Path) else body
    app, svc = app_on(upstream=(kind, raw))
    (outcome,) = svc.refresher.run(force=True).sources
    assert outcome.status == "error"
    assert app.test_client().get("/status").get_json()["sources"]["upstream"]["failing"] is True
    svc.store.dispose()
