"""Uncached renders are capped like searches: a flood of cache misses (a new Host per
request, new limits, pages) takes at most render_concurrency threads and is answered 503
with Retry-After beyond them, while cached feeds and /healthz keep answering; readers of a
feed being rendered wait for that one render."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from tests.helpers import refresh, wait_for
from web import service as web_service
from web.cache import CachedFeed


class HeldRenders:
    """Every render (a topic's items read from the store) waits in here until released;
    counts how many ran and how many were inside at once."""

    def __init__(self, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        self.release = threading.Event()
        self.inside = self.most = self.calls = 0
        self._lock = threading.Lock()
        original = store.topic_items

        def held(*args, **kwargs):  # type: ignore[no-untyped-def]
            with self._lock:
                self.calls += 1
                self.inside += 1
                self.most = max(self.most, self.inside)
            try:
                self.release.wait(10)
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.inside -= 1

        monkeypatch.setattr(store, "topic_items", held)


@contextmanager
def requests_in_threads(app, requests: list[tuple[str, dict[str, str]]]) -> Iterator[list[object]]:  # type: ignore[no-untyped-def]
    """Send each (path, headers) from a thread of its own; the block sees the responses
    (None until answered), and they are all answered when it ends."""
    answers: list[object] = [None] * len(requests)

    def send(index: int, path: str, headers: dict[str, str]) -> None:
        answers[index] = app.test_client().get(path, headers=headers)

    threads = [
        threading.Thread(target=send, args=(i, path, headers))
        for i, (path, headers) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    try:
        yield answers
    finally:
        for thread in threads:
            thread.join(15)


@pytest.fixture
def short_queue(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The one reader allowed to queue for a render slot gives up soon: the flood tests
    count the 503s, and the queued reader's is one of them."""
    monkeypatch.setattr(web_service, "SLOT_QUEUE_SECONDS", 0.2)


def test_a_new_host_per_request_cannot_take_every_thread(app, monkeypatch, short_queue) -> None:
    """Before: neither base_url nor allowed_hosts set, each Host a render of its own, with
    no cap: 12 hosts, 12 renders at once (cached-feed throughput fell to 0.02x)."""
    client = app.test_client()
    cached = client.get("/feeds/vit.rss", headers={"Host": "laptop:8000"})
    assert cached.status_code == 200
    svc = app.extensions["paperfeed"]
    renders = HeldRenders(svc.store, monkeypatch)
    flood = [
        (path, {"Host": f"h{n}.example", "X-Forwarded-Host": f"x{n}.example"})
        for n in range(12)
        for path in (
            ["/feeds/residual.rss", "/topics/residual"] if n % 4 == 0 else ["/feeds/residual.atom"]
        )
    ]
    with requests_in_threads(app, flood) as answers:
        wait_for(lambda: sum(a is not None for a in answers) == len(flood) - 2, 10, "503s")
        assert renders.inside == renders.most == svc.config.render_concurrency == 2
        busy = [a for a in answers if a is not None]
        assert {a.status_code for a in busy} == {503}  # type: ignore[attr-defined]
        assert {a.headers["Retry-After"] for a in busy} == {"2"}  # type: ignore[attr-defined]
        assert busy[0].get_json()["error"].startswith("too many renders at once")  # type: ignore[attr-defined]
        # The threads that are left serve what is cached.
        again = client.get("/feeds/vit.rss", headers={"Host": "laptop:8000"})
        assert again.status_code == 200 and again.data == cached.data
        assert client.get("/healthz").status_code == 200
        renders.release.set()
    assert renders.most == 2
    assert sorted(a.status_code for a in answers).count(200) == 2  # type: ignore[attr-defined]


def test_readers_of_a_feed_being_rendered_wait_for_its_one_render(app, monkeypatch) -> None:
    """Right after a new generation every poll of a feed misses at once: one renders, the
    others wait for its body (before: one render each, and with the cap, 503s)."""
    renders = HeldRenders(app.extensions["paperfeed"].store, monkeypatch)
    readers = [("/feeds/residual.rss", {"Host": "papers.example"})] * 6
    with requests_in_threads(app, readers) as answers:
        wait_for(lambda: renders.inside == 1, 10, "the first render")
        time.sleep(0.2)  # the others are waiting, none rendering
        assert renders.calls == 1 and all(a is None for a in answers)
        renders.release.set()
    assert renders.calls == 1
    assert {a.status_code for a in answers} == {200}  # type: ignore[attr-defined]
    assert len({a.data for a in answers}) == 1  # type: ignore[attr-defined]


def test_a_render_that_fails_lets_the_next_reader_render(app, monkeypatch) -> None:
    store = app.extensions["paperfeed"].store
    original = store.topic_items
    failures = iter([RuntimeError("the render broke")])

    def once_broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        error = next(failures, None)
        if error is not None:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "topic_items", once_broken)
    app.testing = False  # a 500, as a real server answers it
    client = app.test_client()
    assert client.get("/feeds/residual.rss").status_code == 500
    assert client.get("/feeds/residual.rss").status_code == 200  # no slot or wait was left


@pytest.mark.parametrize("many", [1, 3])
def test_render_concurrency_is_a_setting(make_app, monkeypatch, short_queue, many: int) -> None:
    app = make_app(render_concurrency=many)
    renders = HeldRenders(app.extensions["paperfeed"].store, monkeypatch)
    flood = [(f"/feeds/residual.rss?limit={n + 1}", {}) for n in range(6)]
    with requests_in_threads(app, flood) as answers:
        wait_for(lambda: sum(a is not None for a in answers) == 6 - many, 10, "503s")
        assert renders.inside == many
        renders.release.set()
    assert renders.most == many


def test_while_every_slot_renders_a_feed_of_the_generation_before_is_served(
    app, monkeypatch, short_queue
) -> None:
    """A refresh changes many feeds at once: while the slots are taken, a feed rendered
    before it answers with its last body (200, its own ETag) rather than 503; a feed never
    rendered answers 503."""
    client = app.test_client()
    before = client.get("/feeds/residual.rss")
    assert before.status_code == 200 and "<item>" not in before.get_data(as_text=True)
    refresh(app)  # the residual topic gains papers: a new generation of its feed
    renders = HeldRenders(app.extensions["paperfeed"].store, monkeypatch)
    others = [(f"/feeds/vit.rss?limit={n}", {}) for n in (1, 2)]
    with requests_in_threads(app, others):
        wait_for(lambda: renders.inside == 2, 10, "two renders holding the slots")
        kept = client.get("/feeds/residual.rss")
        assert kept.status_code == 200
        assert kept.data == before.data and kept.headers["ETag"] == before.headers["ETag"]
        assert client.get("/feeds/vit.json").status_code == 503
        renders.release.set()
    now = client.get("/feeds/residual.rss")
    assert now.status_code == 200 and "<item>" in now.get_data(as_text=True)


def test_with_allowed_hosts_a_flood_of_hosts_costs_one_render(make_app, monkeypatch) -> None:
    """A host that is not allowed is answered from the first allowed host's cache entry:
    40 hosts, one render (a lookup each), every link naming the allowed host."""
    app = make_app(allowed_hosts="papers.example")
    renders = HeldRenders(app.extensions["paperfeed"].store, monkeypatch)
    renders.release.set()
    client = app.test_client()
    bodies = {
        client.get(
            "/feeds/residual.rss", headers={"Host": f"h{n}.example", "X-Forwarded-Host": f"x{n}"}
        ).data
        for n in range(40)
    }
    assert renders.calls == 1 and len(bodies) == 1
    assert b"http://papers.example/feeds/residual.rss" in bodies.pop()


def test_a_body_rendered_across_a_new_generation_still_serves_when_slots_are_full(
    app, monkeypatch
) -> None:
    """A render that ends after the next generation arrived used to drop the kept body
    of the generation before and leave its own under a stale key: with every slot taken,
    the next reader got 503 (1 of 32,000 requests under load with refreshes)."""
    svc = app.extensions["paperfeed"]
    svc.generation()
    before = svc.topic_generation("residual")
    newer = {**svc.store.topic_generations(), "residual": before + 1}

    def render_while_the_generation_moves() -> CachedFeed:
        monkeypatch.setattr(svc.store, "topic_generations", lambda: newer)
        svc._read_generation(time.monotonic())
        return CachedFeed.build(b"<rss>generation before</rss>", datetime.now(UTC), 0)

    key = ("topic", "residual", "rss", 50, "h", False, before)
    first = svc.feed(key, render_while_the_generation_moves)
    assert svc.topic_generation("residual") == before + 1

    held = [svc._renders.acquire(blocking=False) for _ in range(svc.config.render_concurrency)]
    assert all(held)
    try:
        current = ("topic", "residual", "rss", 50, "h", False, before + 1)
        assert svc.feed(current, lambda: pytest.fail("every render slot is taken")) is first
    finally:
        for _ in held:
            svc._renders.release()


def test_one_reader_of_a_feed_with_nothing_to_fall_back_on_queues_for_a_slot(
    app, monkeypatch
) -> None:
    """A fresh worker polled for three feeds at once rendered two and answered the third
    503: now one such reader waits for a slot (briefly); a second one is still told 503."""
    renders = HeldRenders(app.extensions["paperfeed"].store, monkeypatch)
    feeds = ["/feeds/residual.rss", "/feeds/residual.atom", "/feeds/vit.rss", "/feeds/vit.atom"]
    with requests_in_threads(app, [(path, {}) for path in feeds]) as answers:
        wait_for(lambda: sum(a is not None for a in answers) == 1, 10, "one 503")
        assert renders.inside == 2
        assert [a.status_code for a in answers if a is not None] == [503]  # type: ignore[attr-defined]
        renders.release.set()
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 503]  # type: ignore[attr-defined]
