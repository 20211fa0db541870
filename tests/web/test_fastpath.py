"""Repeated answers (web.fastpath.RepeatAnswers) are the answers the fast path gives anew.

Two apps read the same store: `plain` is called through ProxyFix(RequestLimits(FastFeeds(...)))
(the chain without repeated answers), `ours` as a server calls it. Every request goes to
plain once and to ours three times (the first finds the answer, the others repeat it): the
status, the headers in their order, the body, the feed-request counter and the cache hits
must move alike, and the repeats must really be repeats (FastFeeds._answer not called)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from tests.helpers import WsgiReply as Reply
from tests.helpers import call_environ, refresh
from web.fastpath import KNOWN_ANSWERS, FastFeeds, RepeatAnswers


def call(wsgi: Any, path: str, method: str = "GET", **headers: str) -> Reply:
    """The reply of wsgi to a request; headers by name (Https="1": over https, Port: the
    server's port; each changes that alone)."""
    https, port = headers.pop("Https", None), headers.pop("Port", None)
    environ = EnvironBuilder(path=path, method=method, headers=headers).get_environ()
    if https:
        environ["wsgi.url_scheme"] = "https"
    if port:
        environ["SERVER_PORT"] = port
    return call_environ(wsgi, environ)


def counted(app: Any) -> tuple[dict[tuple[str, str], float], int]:
    """The feed-request counter by (format, status), and the cache's hits."""
    svc = app.extensions["paperfeed"]
    series = {
        (s.labels["format"], s.labels["status"]): s.value
        for metric in svc.metrics.feed_requests.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    }
    return series, svc.cache.hits


def moved(before: tuple[dict[Any, float], int], after: tuple[dict[Any, float], int]) -> Any:
    counts = {k: v - before[0].get(k, 0) for k, v in after[0].items() if v != before[0].get(k)}
    return counts, after[1] - before[1]


class Pair:
    """plain and ours on the same store, asked the same requests."""

    def __init__(self, ours: Any, plain: Any) -> None:
        self.ours, self.plain = ours, plain
        front = ours.wsgi_app
        assert isinstance(front, RepeatAnswers)
        self.fast: FastFeeds = front.feeds
        self.plain_chain = plain.wsgi_app.app  # ProxyFix(RequestLimits(FastFeeds(flask)))
        self.repeats = 0

    def same(self, path: str, method: str = "GET", repeated: bool = True, **headers: str) -> Reply:
        """The reply, after checking that ours gives plain's, counted alike: three times when
        repeated (the answer cached in both), else once (it may be rendered, in each)."""
        start = counted(self.plain)
        expected = call(self.plain_chain, path, method, **headers)
        expected_counts = moved(start, counted(self.plain))
        for attempt in range(3 if repeated else 1):
            start = counted(self.ours)
            if attempt and repeated:
                with self._no_new_answers():
                    got = call(self.ours.wsgi_app, path, method, **headers)
            else:
                got = call(self.ours.wsgi_app, path, method, **headers)
            assert got == expected, (path, headers, attempt)
            assert moved(start, counted(self.ours)) == expected_counts, (path, headers, attempt)
        return expected

    @contextlib.contextmanager
    def _no_new_answers(self) -> Iterator[None]:
        """Fail when FastFeeds works an answer out anew (the repeat was not one)."""

        def answer(environ: Any) -> Any:
            raise AssertionError(f"answered anew: {environ['PATH_INFO']}")

        self.fast._answer = answer  # type: ignore[method-assign]
        self.repeats += 1
        try:
            yield
        finally:
            del self.fast._answer


@pytest.fixture
def pair(loaded, app, make_app) -> Iterator[Pair]:  # type: ignore[no-untyped-def]
    plain = make_app()  # the same store
    yield Pair(app, plain)
    plain.extensions["paperfeed"].close()


def test_cached_topic_feeds_repeat_the_same_answers(pair: Pair) -> None:
    first = pair.same("/feeds/residual.rss", repeated=False)  # rendered by Flask in both
    assert first[0] == "200 OK" and b"<item>" in first[2]
    assert pair.same("/feeds/residual.rss") == first  # now cached: the fast path's
    etag, date = dict(first[1])["ETag"], dict(first[1])["Last-Modified"]
    assert pair.same("/feeds/residual.rss", If_None_Match=etag)[0] == "304 Not Modified"
    assert pair.same("/feeds/residual.rss", If_Modified_Since=date)[0] == "304 Not Modified"
    assert pair.same("/feeds/residual.rss", If_None_Match='"other"')[0] == "200 OK"
    gzipped = pair.same("/feeds/residual.rss", Accept_Encoding="gzip")
    assert dict(gzipped[1])["Content-Encoding"] == "gzip"
    gz_etag = dict(gzipped[1])["ETag"]
    pair.same("/feeds/residual.rss", Accept_Encoding="gzip", If_None_Match=gz_etag)
    pair.same("/feeds/residual.rss", Accept_Encoding="gzip;q=0")
    head = pair.same("/feeds/residual.rss", method="HEAD")
    assert head[0] == "200 OK" and head[2] == b""
    pair.same("/feeds/residual.rss", method="HEAD", If_None_Match=etag)
    assert pair.repeats == 2 * 9


def test_the_base_url_of_links_comes_from_the_same_headers(pair: Pair) -> None:
    pair.same("/feeds/vit.rss", repeated=False)
    bodies = set()
    for headers in (
        {},
        {"X_Forwarded_Host": "feeds.example.org"},
        {"X_Forwarded_Host": "feeds.example.org", "X_Forwarded_Proto": "https"},
        {"X_Forwarded_Host": "a.example, feeds.example.org"},
        {"X_Forwarded_Proto": "https"},
        {"X_Forwarded_Proto": "javascript"},
        {"Https": "1"},
        {"Https": "1", "X_Forwarded_Proto": "http"},
        {"Host": "other.example:8080"},
        {"Host": "other.example:8080", "X_Forwarded_Host": "bad host"},
        {"Host": "bad host"},  # links name the server instead
        {"Host": "bad host", "Port": "8081"},
    ):
        pair.same("/feeds/vit.rss", repeated=False, **headers)  # each host renders once
        bodies.add(pair.same("/feeds/vit.rss", **headers)[2])
    assert b"https://feeds.example.org/feeds/vit.rss" in b"".join(bodies)
    assert len(bodies) == 7  # localhost, feeds.example.org: by http, https; other.example; :8081


def test_search_feeds_and_parameters_repeat_the_same_answers(pair: Pair) -> None:
    for path in ("/feeds/search.rss?q=vit", "/feeds/vit.atom?limit=5", "/feeds/vit.json"):
        pair.same(path, repeated=False)
        reply = pair.same(path)
        assert reply[0] == "200 OK"
        pair.same(path, If_None_Match=dict(reply[1])["ETag"])
    # Not cached, or not feeds: never repeated, answered as before.
    pair.same("/feeds/vit.atom?limit=6", repeated=False)
    assert pair.same("/feeds/nope.rss", repeated=False)[0].startswith("404")
    assert pair.same("/feeds/vit.rss?limit=0", repeated=False)[0].startswith("400")


def test_a_new_generation_is_seen_by_the_next_request(app, make_app) -> None:  # type: ignore[no-untyped-def]
    plain = make_app()
    try:
        pair = Pair(app, plain)
        pair.same("/feeds/residual.rss", repeated=False)
        empty = pair.same("/feeds/residual.rss")
        assert b"<item>" not in empty[2]
        refresh(app)  # the residual topic gains papers: a new generation of its feed
        now = pair.same("/feeds/residual.rss", repeated=False)
        assert b"<item>" in now[2] and dict(now[1])["ETag"] != dict(empty[1])["ETag"]
        assert pair.same("/feeds/residual.rss") == now
    finally:
        plain.extensions["paperfeed"].close()


def test_fixed_base_url_and_allowed_hosts(loaded, make_app) -> None:  # type: ignore[no-untyped-def]
    for settings in ({"base_url": "https://papers.example"}, {"allowed_hosts": "a.example"}):
        ours, plain = make_app(**settings), make_app(**settings)
        try:
            pair = Pair(ours, plain)
            pair.same("/feeds/vit.rss", repeated=False)
            for host in ("a.example", "b.example"):
                pair.same("/feeds/vit.rss", X_Forwarded_Host=host)
        finally:
            ours.extensions["paperfeed"].close()
            plain.extensions["paperfeed"].close()


def test_a_body_evicted_from_the_cache_is_not_repeated(pair: Pair) -> None:
    pair.same("/feeds/vit.rss", repeated=False)
    pair.same("/feeds/vit.rss")
    for app in (pair.ours, pair.plain):
        svc = app.extensions["paperfeed"]
        for key in [k for k in svc.cache._entries if k[0] == "topic"]:
            svc.cache.forget(key)
    pair.same("/feeds/vit.rss", repeated=False)  # rendered again by Flask in both


def test_a_request_with_a_body_is_refused_as_before(pair: Pair) -> None:
    pair.same("/feeds/vit.rss", repeated=False)
    pair.same("/feeds/vit.rss")
    for length, status in (("99999999", "413 REQUEST ENTITY TOO LARGE"), ("0", "200 OK")):
        environ = EnvironBuilder(path="/feeds/vit.rss").get_environ()
        environ["CONTENT_LENGTH"] = length
        assert call_environ(pair.ours.wsgi_app, environ)[0] == status


def test_known_answers_are_bounded(pair: Pair) -> None:
    pair.same("/feeds/vit.rss", repeated=False)
    for n in range(KNOWN_ANSWERS + 10):
        call(pair.ours.wsgi_app, f"/feeds/vit.rss?n={n}")
        assert len(pair.fast.known) <= KNOWN_ANSWERS
    call(pair.ours.wsgi_app, "/feeds/vit.rss?n=" + "x" * 5000)  # too long to keep
    assert not any(len(shape[1] or "") > 5000 for shape in pair.fast.known)


def test_a_query_string_is_read_as_the_route_reads_it(loaded, app) -> None:  # type: ignore[no-untyped-def]
    """Raw bytes are UTF-8, as Flask's request.args reads them: the fast path read a raw
    `é` as `Ã©` (and `?q=vit%FF` as `vit\\ufffd`, now refused ahead of it), and answered
    (then repeated) the feed cached for another search."""
    route = app.wsgi_app.feeds.app  # Flask alone, no fast path

    def ask(wsgi: Any, query: str) -> Reply:
        environ = EnvironBuilder(path="/feeds/search.rss").get_environ()
        environ["QUERY_STRING"] = query  # as a server gives it: the raw bytes as Latin-1
        return call_environ(wsgi, environ)

    assert ask(app.wsgi_app, "q=vit%FF")[0] == "400 BAD REQUEST"  # not UTF-8: web.limits
    other, query = "q=vit%C3%83%C2%A9", "q=vit\xc3\xa9"  # "vitÃ©"; raw "vité"
    ask(app.wsgi_app, other)  # cached
    ask(app.wsgi_app, other)  # kept as a known answer
    for _ in range(2):  # answered, then repeated
        assert ask(app.wsgi_app, query)[2] == ask(route, query)[2]
    assert ask(app.wsgi_app, "q=vit\xff")[0] == "400 BAD REQUEST"  # not UTF-8: web.limits
