"""HTTP behaviour of feeds: caching headers, conditional requests, gzip, HEAD, limits."""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import replace
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime

import feedparser
import pytest
from werkzeug.test import EnvironBuilder

from parsing.model import make_paper
from tests.helpers import call_environ, refresh, serve_file, toml_sources


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("rss", "application/rss+xml; charset=utf-8"),
        ("atom", "application/atom+xml; charset=utf-8"),
        ("json", "application/feed+json; charset=utf-8"),
    ],
)
def test_content_types_and_caching_headers(loaded, fmt, content_type) -> None:
    response = loaded.get(f"/feeds/residual.{fmt}")
    assert response.headers["Content-Type"] == content_type
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert response.headers["Cache-Control"] == "public, max-age=1800"
    # No base_url here: the body's links come from the request's host, and Vary says so.
    assert response.headers["Vary"] == "Accept-Encoding, Host, X-Forwarded-Host, X-Forwarded-Proto"
    assert parsedate_to_datetime(response.headers["Last-Modified"])


@pytest.mark.parametrize(
    "header",
    [
        "{etag}",
        "W/{etag}",
        '"nope", {etag}',
        "*",
        "{etag_gz}",
    ],
)
def test_if_none_match_forms_give_304(loaded, header) -> None:
    etag = loaded.get("/feeds/residual.rss").headers["ETag"]
    value = header.format(etag=etag, etag_gz=etag[:-1] + '-gz"')
    response = loaded.get("/feeds/residual.rss", headers={"If-None-Match": value})
    assert response.status_code == 304 and response.data == b""


def test_a_stale_etag_gets_the_body(loaded) -> None:
    response = loaded.get("/feeds/residual.rss", headers={"If-None-Match": '"stale"'})
    assert response.status_code == 200 and response.data


def test_if_modified_since(loaded) -> None:
    last = parsedate_to_datetime(loaded.get("/feeds/vit.atom").headers["Last-Modified"])
    same = loaded.get("/feeds/vit.atom", headers={"If-Modified-Since": format_datetime(last, True)})
    assert same.status_code == 304
    older = format_datetime(last - timedelta(seconds=1), True)
    assert loaded.get("/feeds/vit.atom", headers={"If-Modified-Since": older}).status_code == 200
    assert (
        loaded.get("/feeds/vit.atom", headers={"If-Modified-Since": "garbage"}).status_code == 200
    )


def test_etag_wins_over_if_modified_since(loaded) -> None:
    last = loaded.get("/feeds/vit.rss").headers["Last-Modified"]
    response = loaded.get(
        "/feeds/vit.rss", headers={"If-None-Match": '"other"', "If-Modified-Since": last}
    )
    assert response.status_code == 200


def test_gzip_when_accepted_and_it_decompresses_to_the_same_body(loaded) -> None:
    plain = loaded.get("/feeds/residual.rss")
    zipped = loaded.get("/feeds/residual.rss", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert len(zipped.data) < len(plain.data) / 3
    assert zipped.headers["ETag"] != plain.headers["ETag"]  # a different representation
    refused = loaded.get("/feeds/residual.rss", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


def test_the_gzip_body_is_compressed_once(app, loaded, monkeypatch) -> None:
    loaded.get("/feeds/residual.rss", headers={"Accept-Encoding": "gzip"})
    calls = []
    monkeypatch.setattr(gzip, "compress", lambda *a, **k: calls.append(1) or b"")
    for _ in range(5):
        loaded.get("/feeds/residual.rss", headers={"Accept-Encoding": "gzip"})
    assert calls == []


def test_head_has_the_headers_and_no_body(loaded) -> None:
    get = loaded.get("/feeds/residual.atom")
    head = loaded.head("/feeds/residual.atom")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == get.headers["Content-Length"]


@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten", "1.5", ""])
def test_limit_outside_bounds_is_400(loaded, limit) -> None:
    response = loaded.get(f"/feeds/residual.rss?limit={limit}")
    assert response.status_code == 400
    assert "limit must be a whole number from 1 to 500" in response.get_json()["error"]


def test_limit_takes_ascii_digits_only(loaded) -> None:
    # "²" passes str.isdigit() and fails int(): it was a 500. "৩" and "٣" were read as 3.
    for limit in ["²", "৩", "1_0", " 5", "+5", "٣", "9" * 5000]:
        for path in ("/feeds/residual.rss", "/feeds/search.rss?q=vit&"):
            sep = "" if path.endswith("&") else "?"
            response = loaded.get(f"{path}{sep}limit={limit}")
            assert response.status_code == 400, (path, limit)
        # Pages are paged with ?page=, read by the same parser.
        for path in ("/topics/vit?", "/search?q=vit&"):
            assert loaded.get(f"{path}page={limit}").status_code == 400, (path, limit)


@pytest.mark.parametrize("path", ["/search", "/feeds/search.rss", "/feeds/vit.rss", "/"])
def test_a_query_string_whose_bytes_are_not_utf8_is_400(app, loaded, path) -> None:
    """Raw bytes that are not UTF-8 (a client that does not percent-encode) made werkzeug's
    request.args raise: a 500. Percent-encoded, werkzeug kept them as text (`%E9t%E9`, Latin-1
    "été", was searched as "e9t e9"). Both are a 400 that says so; UTF-8 either way is read."""
    for query in ("q=vit\xff", "q=%E9t%E9", "q=vit%FF"):
        environ = EnvironBuilder(path=path).get_environ()
        environ["QUERY_STRING"] = query  # a WSGI string: one character a byte
        status, _, body = call_environ(app.wsgi_app, environ)
        assert status == "400 BAD REQUEST", query
        assert "not UTF-8" in json.loads(body)["error"]
    for query in ("q=vit\u00c3\u00a9", "q=vit%C3%A9", "q=100%25", "q=a%ZZ"):  # "vité", 100%
        utf8 = EnvironBuilder(path=path).get_environ()
        utf8["QUERY_STRING"] = query
        assert call_environ(app.wsgi_app, utf8)[0] in ("200 OK", "302 FOUND"), query


def test_unknown_methods_are_405(loaded) -> None:
    assert loaded.post("/feeds/residual.rss").status_code == 405
    assert loaded.delete("/").status_code == 405


def test_no_query_and_no_render_when_nothing_changed(app, loaded, monkeypatch) -> None:
    svc = app.extensions["paperfeed"]
    loaded.get("/feeds/residual.rss")
    svc.config = replace(svc.config, generation_check_seconds=60)  # as in production
    svc.generation()
    monkeypatch.setattr(svc.store, "topic_items", lambda *a: pytest.fail("queried"))
    monkeypatch.setattr(svc.store, "generation", lambda: pytest.fail("generation read"))
    for _ in range(3):
        assert loaded.get("/feeds/residual.rss").status_code == 200


def test_a_new_generation_is_noticed_within_the_check_interval(app, loaded) -> None:
    svc = app.extensions["paperfeed"]
    before = loaded.get("/feeds/residual.json").get_json()
    newest = svc.store.topic_items("residual", 1)[0]
    sighting = make_paper(title=newest.title, arxiv_id=newest.arxiv_id, upvotes=999)
    svc.store.upsert([sighting], "hf", topics=svc.refresher.topics)
    after = loaded.get("/feeds/residual.json").get_json()  # generation_check_seconds = 0 here
    assert after != before
    assert after["items"][0]["_paperfeed"]["upvotes"] == 999


def test_a_change_re_renders_only_the_feeds_that_hold_it(app, loaded) -> None:
    svc = app.extensions["paperfeed"]
    holders = {name for name in svc.config.topics if svc.store.topic_items(name, 500)}
    vit_ids = {p.id for p in svc.store.topic_items("vit", 500)}
    paper = next(p for p in svc.store.topic_items("residual", 500) if p.id not in vit_ids)
    for name in holders:
        assert loaded.get(f"/feeds/{name}.rss").status_code == 200  # cached now
    before = svc.store.topic_generations()
    sighting = make_paper(title=paper.title, arxiv_id=paper.arxiv_id, upvotes=12345)
    svc.store.upsert([sighting], "hf", topics=svc.refresher.topics)
    svc.store.bump_generation()  # as a refresh does: search feeds may change
    after = svc.store.topic_generations()
    assert after["residual"] > before["residual"]
    assert after["vit"] == before["vit"]
    misses = svc.cache.misses
    assert b"12345" not in loaded.get("/feeds/vit.rss").data
    assert svc.cache.misses == misses  # vit's body was kept
    assert loaded.get("/feeds/residual.rss").status_code == 200
    assert svc.cache.misses == misses + 1  # residual's was rebuilt


def test_feed_self_links_use_base_url_or_forwarded_headers(make_app) -> None:
    app = make_app(base_url="https://papers.example.org")
    refresh(app)
    rss = app.test_client().get("/feeds/vit.rss").get_data(as_text=True)
    assert 'href="https://papers.example.org/feeds/vit.rss" rel="self"' in rss
    plain = make_app()
    refresh(plain)
    forwarded = plain.test_client().get(
        "/feeds/vit.atom",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "feeds.example.com"},
    )
    parsed = feedparser.parse(forwarded.data)
    assert any(
        link.href == "https://feeds.example.com/feeds/vit.atom" for link in parsed.feed.links
    )


def test_every_format_has_what_a_reader_shows(make_app, httpserver, write_config) -> None:

    serve_file(httpserver, "/api", "hf_daily_papers.json")
    app = make_app(
        write_config(
            sources=toml_sources(
                {"name": "hf", "kind": "hf-api", "url": httpserver.url_for("/api")}
            ),
            topics="[topics.all]\ntitle = 'Everything'\nquery = '*'\n",
        )
    )
    refresh(app)
    client = app.test_client()
    rss = feedparser.parse(client.get("/feeds/all.rss").data)
    atom = feedparser.parse(client.get("/feeds/all.atom").data)
    feed = json.loads(client.get("/feeds/all.json").data)
    assert rss.feed.ttl == "30" and rss.feed.title == "Everything — paperfeed"
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    for parsed in (rss, atom):
        entry = next(e for e in parsed.entries if "Poincar" in e.title)
        assert entry.title == "Poincaré Embeddings <b>for</b> Hyperbolic Vision & Language"
        assert entry.link == "https://huggingface.co/papers/2310.12345"
        # The item is the paper within this feed; the paper's own URN is its dc:identifier.
        assert entry.id == "urn:arxiv:2310.12345#all"
        assert entry.dc_identifier == "urn:arxiv:2310.12345"
        assert "Upvotes: 0" in entry.description and "Comments: 1" in entry.description
        assert "Ana Núñez" in " ".join(a.get("name", "") for a in entry.authors)
    raw_atom = client.get("/feeds/all.atom").get_data(as_text=True)
    assert "<b>for</b>" not in raw_atom  # escaped, never markup
    item = next(i for i in feed["items"] if i["_paperfeed"]["urn"] == "urn:arxiv:2310.12345")
    assert item["id"] == "urn:arxiv:2310.12345#all"
    assert item["_paperfeed"]["upvotes"] == 0 and item["authors"][0]["name"] == "Ana Núñez"
    assert all(e.get("author") for e in atom.entries)  # Atom requires an author


def test_opml_lists_every_topic(loaded) -> None:
    response = loaded.get("/opml")
    assert response.headers["Content-Type"].startswith("text/x-opml")
    from xml.etree import ElementTree

    outlines = ElementTree.fromstring(response.data).findall(".//outline")
    assert {o.get("xmlUrl").rsplit("/", 1)[-1] for o in outlines} == {
        "residual.rss",
        "imagenet-not-medical.rss",
        "vit.rss",
        "hot.rss",
    }


def test_topic_page_marks_the_matched_words(loaded) -> None:
    page = loaded.get("/topics/residual").get_data(as_text=True)
    # A phrase is marked as one phrase, never word by word.
    assert re.search(r"<mark>residual connections?</mark>", page, re.IGNORECASE)
    assert not re.search(r"<mark>residual</mark>", page, re.IGNORECASE)
    assert '<link rel="alternate" type="application/rss+xml"' in page
