"""Rules at work: ad-hoc feeds, explain and preview, re-matching when a rule changes."""

from __future__ import annotations

import time

import feedparser
import pytest

from store import SearchReader
from tests.helpers import (
    DEFAULT_TOPICS,
    one_search_held,
    parser_fixture,
    refresh,
    run,
    serve_file,
    toml_sources,
)
from web import params


def test_search_feed_returns_matching_items_with_the_matched_line(app, client) -> None:
    refresh(app)
    response = client.get('/feeds/search.atom?q=title:"residual connections"')
    assert response.status_code == 200
    parsed = feedparser.parse(response.data)
    assert parsed.bozo == 0 and parsed.entries
    for entry in parsed.entries:
        assert "residual connection" in entry.title.lower()
        assert "Matched: residual connections (title)" in entry.content[0].value
    json_feed = client.get("/feeds/search.json?q=vit&limit=3").get_json()
    assert len(json_feed["items"]) == 3


def test_search_results_are_cached_per_normalised_query_and_generation(app, client) -> None:
    refresh(app)
    cache = app.extensions["paperfeed"].cache
    client.get("/feeds/search.rss?q=ResNets")
    misses = cache.misses
    client.get("/feeds/search.rss?q=ResNets")
    assert cache.misses == misses


def test_a_bad_query_answers_400_saying_what_and_where(app, client) -> None:
    for query in ["resnet AND", "x" * 200_000, "(" * 3000, "a OR " * 199 + "a", "resnet~2"]:
        response = client.get("/feeds/search.rss", query_string={"q": query})
        assert response.status_code == 400
        body = response.get_json()
        assert body["error"] and "column" in body
    assert client.get("/feeds/search.rss").status_code == 400  # no q at all


def test_explain_and_preview_commands(tmp_path, write_config) -> None:
    config = write_config()
    db = f"sqlite:///{tmp_path / 'x.db'}"
    run("--config", str(config), "--database-url", db, "refresh", cwd=tmp_path)
    preview = run(
        "--config",
        str(config),
        "--database-url",
        db,
        "preview",
        '"hyper connections"',
        cwd=tmp_path,
    )
    assert preview.returncode == 0
    assert "Hyper-Connections" in preview.stdout
    assert "hyper connections (title)" in preview.stdout
    assert "of 431 stored papers match" in preview.stdout
    explained = run(
        "--config", str(config), "--database-url", db, "explain", "residual", cwd=tmp_path
    )
    assert "means: title or abstract contains the phrase 'residual connection'" in explained.stdout
    bad = run("--config", str(config), "preview", "resnet AND", cwd=tmp_path)
    assert bad.returncode == 2 and "column 11" in bad.stderr


def test_explain_a_paper_by_id(make_app, write_config, httpserver) -> None:

    serve_file(httpserver, "/api", "hf_daily_papers.json")
    config = write_config(
        sources=toml_sources({"name": "hf", "kind": "hf-api", "url": httpserver.url_for("/api")})
    )
    app = make_app(config)
    refresh(app)
    db = app.extensions["paperfeed"].store.url
    result = run(
        "--config",
        str(config),
        "--database-url",
        db,
        "explain",
        "poincare AND author:nunez",
        "2310.12345",
        cwd=config.parent,
    )
    assert result.returncode == 0
    assert "matched: poincare (title), nunez (author)" in result.stdout


def test_changing_a_rule_rematches_every_paper_without_a_manual_step(make_app, write_config):
    app = make_app(write_config())
    refresh(app)
    client = app.test_client()
    before = feedparser.parse(client.get("/feeds/vit.rss?limit=500").data).entries
    changed = DEFAULT_TOPICS.replace(
        """query = 'vit OR "vision transformer"'""", "query = 'diffusion'"
    )
    assert changed != DEFAULT_TOPICS
    app2 = make_app(write_config(topics=changed))
    report = refresh(app2)
    assert report.memberships_changed > 0
    after = feedparser.parse(app2.test_client().get("/feeds/vit.rss?limit=500").data).entries
    assert after and {e.id for e in after} != {e.id for e in before}
    assert all("diffusion" in (e.title + e.description).lower() for e in after)


# ---- what a search may cost ---------------------------------------------------------------


def test_a_catastrophic_regex_is_refused_at_once(app, client) -> None:
    refresh(app)
    started = time.perf_counter()
    response = client.get("/feeds/search.rss", query_string={"q": "/(.?){1000}zzq/"})
    assert time.perf_counter() - started < 3
    assert response.status_code == 400
    assert "too complex" in response.get_json()["error"]
    assert client.get("/feeds/search.rss", query_string={"q": "/transf.rmer/"}).status_code == 200


def test_a_search_past_its_budget_answers_422_query_too_expensive(make_app) -> None:
    app = make_app(search_max_rows=100)
    refresh(app)
    client = app.test_client()
    # A range alone cannot use the text index: it scans 431 papers for none.
    response = client.get("/feeds/search.rss", query_string={"q": "upvotes:>=100000"})
    assert response.status_code == 422
    assert response.get_json()["error"].startswith("query too expensive: ")
    assert client.get("/search", query_string={"q": "upvotes:>=100000"}).status_code == 422
    # Anchored by a word, the same range examines only that word's papers.
    anchored = client.get("/feeds/search.rss", query_string={"q": "diffusion AND upvotes:>=0"})
    assert anchored.status_code == 200
    # A scan that finds its answer early is cheap: the newest 50 of everything.
    assert client.get("/feeds/search.json?q=*").status_code == 200
    app.extensions["paperfeed"].store.dispose()


def test_busy_search_slots_answer_503_while_cached_feeds_still_serve(make_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app = make_app(search_concurrency=1)
    refresh(app)
    svc = app.extensions["paperfeed"]
    client = app.test_client()
    assert client.get("/feeds/residual.rss").status_code == 200  # now cached
    with one_search_held(app, SearchReader, "candidates", monkeypatch):
        busy = client.get("/feeds/search.rss?q=diffusion")
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
        assert client.get("/search?q=diffusion").status_code == 503
        assert client.get("/feeds/residual.rss").status_code == 200
        assert client.get("/healthz").status_code == 200
    assert client.get("/feeds/search.rss?q=diffusion").status_code == 200
    svc.store.dispose()


def test_while_busy_cached_searches_answer_and_new_ones_are_refused_unparsed(
    make_app, monkeypatch
) -> None:
    app = make_app()
    refresh(app)
    svc, client = app.extensions["paperfeed"], app.test_client()
    cached = client.get("/feeds/search.rss?q=diffusion")
    assert cached.status_code == 200
    monkeypatch.setattr(svc, "search_slot_free", lambda: False)
    assert client.get("/feeds/search.rss?q=").status_code == 400  # what is wrong, from Flask
    monkeypatch.setattr(params.searchbox, "read", lambda text: pytest.fail(f"parsed {text!r}"))
    again = client.get("/feeds/search.rss?q=diffusion")
    assert again.status_code == 200 and again.data == cached.data
    busy = client.get("/feeds/search.rss?q=vit&limit=5")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
    assert busy.get_json()["error"].startswith("too many searches at once")
    svc.close()


def test_the_search_box_finds_a_pasted_title_an_arxiv_id_a_link_and_a_doi(
    make_app, write_config
) -> None:  # type: ignore[no-untyped-def]
    real = parser_fixture("real/hf_api_2024-10-11.json")
    nature = parser_fixture("real/feed_nature_2024-07-18.rss")
    config = write_config(
        sources=toml_sources(
            {"name": "hf", "kind": "hf-api", "path": str(real)},
            {"name": "nature", "kind": "feed", "path": str(nature)},
        )
    )
    app = make_app(config)
    refresh(app)
    client = app.test_client()
    title = "MathCoder2: Better Math Reasoning from Continued Pretraining on Model-translated"
    for pasted, wanted in [
        (title, "MathCoder2"),
        ("2410.08196", "MathCoder2"),
        ("arXiv:2410.08196v1", "MathCoder2"),
        ("https://arxiv.org/abs/2410.08196", "MathCoder2"),
        ("https://arxiv.org/pdf/2410.08196v2", "MathCoder2"),
        ("10.1038/s41586-024-07811-4", "Catalysis of an SN2 pathway"),
        ("https://doi.org/10.1038/S41586-024-07811-4", "Catalysis of an SN2 pathway"),
    ]:
        feed = client.get("/feeds/search.json", query_string={"q": pasted})
        assert feed.status_code == 200, (pasted, feed.get_json())
        items = feed.get_json()["items"]
        assert len(items) == 1 and items[0]["title"].startswith(wanted), pasted
        page = client.get("/search", query_string={"q": pasted})
        assert page.status_code == 200 and wanted in page.get_data(as_text=True), pasted
    page = client.get("/search", query_string={"q": title}).get_data(as_text=True)
    assert "Hint, column 1: &#39;MathCoder2:&#39; is not a field" in page
    page = client.get("/search", query_string={"q": "2410.08196"}).get_data(as_text=True)
    assert "read as id:&#34;2410.08196&#34;: the paper is arXiv:2410.08196" in page
    # A rule in the config stays strict: an unknown field is a mistake there.
    assert client.get("/feeds/search.json", query_string={"q": "id:banana"}).status_code == 400
    app.extensions["paperfeed"].close()
