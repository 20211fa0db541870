"""A listing goes from its source to the store as it is read, a batch at a time: a body of any
size is never held whole with its papers (the fetch spools a big one to a temporary file),
and a body cut off in transfer still stores nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import parsing.feed
from refresh import fetch as fetching
from refresh.pipeline import WRITE_BATCH, Refresher
from tests.helpers import refresh, synthetic_rss, toml_sources


def test_a_listing_is_stored_batch_by_batch_as_it_is_read(
    make_app, write_config, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    total = 4 * WRITE_BATCH + 123
    listing = tmp_path / "big.rss"
    listing.write_text(synthetic_rss(total))
    app = make_app(
        write_config(sources=toml_sources({"name": "big", "kind": "feed", "path": str(listing)}))
    )
    read, read_when_stored = [0], []
    entry_fields = parsing.feed.entry_fields

    def counting(entry):  # type: ignore[no-untyped-def]
        read[0] += 1
        return entry_fields(entry)

    store_papers = Refresher.store_papers

    def recording(self, source, papers, *args, **kwargs):  # type: ignore[no-untyped-def]
        read_when_stored.append((read[0], len(papers)))
        return store_papers(self, source, papers, *args, **kwargs)

    monkeypatch.setattr(parsing.feed, "entry_fields", counting)
    monkeypatch.setattr(Refresher, "store_papers", recording)
    report = refresh(app)
    assert (report.sources[0].status, report.sources[0].new) == ("ok", total)
    # Each batch was stored once its papers were read, before the parser went much further
    # (it reads the next paper only when the batch is full).
    assert [size for _, size in read_when_stored] == [WRITE_BATCH] * 4 + [123]
    stored = 0
    for was_read, size in read_when_stored:
        stored += size
        assert was_read <= stored + 1, read_when_stored
    assert app.extensions["paperfeed"].store.count_papers() == total
    app.extensions["paperfeed"].close()


def test_a_feed_cut_off_in_transfer_stores_nothing(make_app, write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    body = synthetic_rss(3 * WRITE_BATCH)
    listing = tmp_path / "cut.rss"
    listing.write_text(body[: len(body) * 2 // 3])  # whole items for two batches, then cut
    app = make_app(
        write_config(sources=toml_sources({"name": "cut", "kind": "feed", "path": str(listing)}))
    )
    outcome = refresh(app).sources[0]
    assert outcome.status == "error" and "truncated feed" in (outcome.error or "")
    assert app.extensions["paperfeed"].store.count_papers() == 0
    app.extensions["paperfeed"].close()


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_big_body_over_http_is_spooled_and_read_whole(
    httpserver, make_app, write_config, monkeypatch, encoding: str
) -> None:  # type: ignore[no-untyped-def]
    import gzip

    monkeypatch.setattr(fetching, "SPOOL_BYTES", 64 * 1024)  # this body goes to disk
    body = synthetic_rss(3000).encode()
    assert len(body) > 4 * fetching.SPOOL_BYTES
    sent = gzip.compress(body) if encoding == "gzip" else body
    headers = {"Content-Encoding": "gzip"} if encoding == "gzip" else {}
    httpserver.expect_request("/big.rss").respond_with_data(sent, headers=headers)
    url = httpserver.url_for("/big.rss")
    with fetching.Fetcher().fetch(url) as fetched:
        assert fetched.digest == hashlib.sha256(body).hexdigest()  # of the body, decoded
        assert fetched.body == body and fetched.open().read() == body  # read again: whole
    app = make_app(write_config(sources=toml_sources({"name": "big", "kind": "feed", "url": url})))
    assert refresh(app).sources[0].new == 3000
    app.extensions["paperfeed"].close()


def test_a_body_found_to_need_feedparser_midway_is_read_again_from_its_start(
    make_app, write_config, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import io

    import parsing

    body = synthetic_rss(3 * WRITE_BATCH)
    broken = body.replace("Synthetic paper 700 on", "Synthetic paper 700 & on")  # a bare &
    assert broken != body
    result = parsing.ParseResult()
    streamed = [p.identity for p in parsing.read("feed", io.BytesIO(broken.encode()), result)]
    whole = parsing.parse("feed", broken.encode())
    # The streamed reader handed over the items before the bare & (newest first: 1499..701),
    # then feedparser everything from the start, in the same order.
    assert len(streamed) == 799 + 1500 and result.read == 1500
    assert streamed[799:] == whole.identities() and streamed[:799] == whole.identities()[:799]
    listing = tmp_path / "broken.rss"
    listing.write_text(broken)
    app = make_app(
        write_config(sources=toml_sources({"name": "b", "kind": "feed", "path": str(listing)}))
    )
    outcome = refresh(app).sources[0]
    assert (outcome.status, outcome.papers, outcome.new) == ("ok", 1500, 1500)
    assert app.extensions["paperfeed"].store.count_papers() == 1500
    app.extensions["paperfeed"].close()


def test_batches_stored_before_a_body_turns_out_unreadable_are_published(
    make_app, write_config, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    body = synthetic_rss(3 * WRITE_BATCH).replace("paper 700 on", "paper 700 & on")
    listing = tmp_path / "bad.rss"
    listing.write_text(body)

    def unreadable(body: bytes) -> None:
        raise parsing.feed.ParseError("not a readable feed: (as feedparser might say)")

    monkeypatch.setattr(parsing.feed, "read_feed", unreadable)  # the fallback fails too
    source = {"name": "bad", "kind": "feed", "path": str(listing)}
    app = make_app(write_config(sources=toml_sources(source)))
    store = app.extensions["paperfeed"].store
    before = store.generation()
    outcome = refresh(app).sources[0]
    assert outcome.status == "error" and "not a readable feed" in (outcome.error or "")
    # The stream handed over 799 items before the bare &: one whole batch was committed,
    # and it is published (a new generation), not left unseen until another refresh.
    assert store.count_papers() == WRITE_BATCH
    assert store.generation() > before
    app.extensions["paperfeed"].close()
