"""One wall-clock deadline per fetch: a trickling body, a long Retry-After and a slow redirect
chain each end within fetch_deadline + 1 s, the source records why, and the refresh goes on
with the next source."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from werkzeug import Request, Response

from refresh.pipeline import RefreshReport
from tests.helpers import LISTINGS, parser_fixture, refresh, toml_sources

DEADLINE = 1.0


def service(deadline: float = DEADLINE) -> str:
    return (
        f"fetch_deadline = {deadline}\nretries = 3\nbackoff_seconds = 0.01\n"
        "connect_timeout = 5\nread_timeout = 5\n"
    )


@pytest.fixture
def app_reading(make_app, write_config):  # type: ignore[no-untyped-def]
    """An app reading url first, then the bundled listings (which must still be read)."""

    def build(url: str, deadline: float = DEADLINE):  # type: ignore[no-untyped-def]
        sources = toml_sources(
            {"name": "slow", "kind": "hf-api", "url": url},
            {"name": "samples", "kind": "hf-text", "path": str(LISTINGS / "*.txt")},
        )
        return make_app(write_config(sources=sources, service=service(deadline)))

    return build


def refresh_within(app, seconds: float) -> tuple[RefreshReport, float]:  # type: ignore[no-untyped-def]
    """Refresh in a thread and fail (instead of hanging the suite) when it takes too long."""
    done: list[RefreshReport] = []
    thread = threading.Thread(target=lambda: done.append(refresh(app)), daemon=True)  # type: ignore[arg-type]
    started = time.monotonic()
    thread.start()
    thread.join(seconds)
    elapsed = time.monotonic() - started
    assert not thread.is_alive(), f"the refresh was still running after {seconds:g} s"
    return done[0], elapsed


def assert_slow_source_failed_and_rest_read(report: RefreshReport, reason: str) -> None:
    outcomes = {s.name: s for s in report.sources}
    assert outcomes["slow"].status == "error"
    assert reason in (outcomes["slow"].error or ""), outcomes["slow"].error
    assert outcomes["samples"].status == "ok" and outcomes["samples"].new > 0
    assert outcomes["slow"].seconds < DEADLINE + 1, outcomes["slow"].seconds


@pytest.mark.slow
def test_a_trickling_body_ends_at_the_deadline(httpserver, app_reading) -> None:
    stop = threading.Event()

    def trickle(request: Request) -> Response:
        def one_byte_a_second() -> Iterator[bytes]:
            for _ in range(60):
                if stop.is_set():
                    return
                yield b" "
                time.sleep(0.5)

        return Response(one_byte_a_second(), content_type="application/json")

    httpserver.expect_request("/api").respond_with_handler(trickle)
    app = app_reading(httpserver.url_for("/api"))
    report, elapsed = refresh_within(app, DEADLINE + 4)
    stop.set()
    assert_slow_source_failed_and_rest_read(report, f"took longer than {DEADLINE:g} s")
    assert elapsed < DEADLINE + 1 + report.sources[1].seconds, elapsed


@pytest.mark.slow
def test_a_trickling_response_head_ends_at_the_deadline(app_reading) -> None:
    """The status line, then a header a byte at a time: no read ever times out."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not stop.wait(0.3):
                try:
                    conn.sendall(b"a")
                except OSError:
                    return

    threading.Thread(target=serve, daemon=True).start()
    app = app_reading(f"http://127.0.0.1:{listener.getsockname()[1]}/api")
    try:
        report, _ = refresh_within(app, DEADLINE + 4)
    finally:
        stop.set()
        listener.close()
    assert_slow_source_failed_and_rest_read(report, f"took longer than {DEADLINE:g} s")


@pytest.mark.slow
def test_a_long_retry_after_is_not_waited_for(httpserver, app_reading) -> None:
    calls: list[float] = []

    def busy(request: Request) -> Response:
        calls.append(time.monotonic())
        return Response("busy", status=503, headers={"Retry-After": "99999"})

    httpserver.expect_request("/api").respond_with_handler(busy)
    app = app_reading(httpserver.url_for("/api"))
    report, _ = refresh_within(app, DEADLINE + 4)
    assert_slow_source_failed_and_rest_read(report, f"would end past the {DEADLINE:g} s deadline")
    assert len(calls) == 1


@pytest.mark.slow
def test_retries_stop_at_the_deadline(httpserver, app_reading) -> None:
    def slow_503(request: Request) -> Response:
        time.sleep(0.8)
        return Response("busy", status=503, headers={"Retry-After": "0"})

    httpserver.expect_request("/api").respond_with_handler(slow_503)
    app = app_reading(httpserver.url_for("/api"))
    report, _ = refresh_within(app, DEADLINE + 4)
    assert report.sources[0].status == "error"
    assert report.sources[0].seconds < DEADLINE + 1, report.sources[0].seconds


@pytest.mark.slow
def test_a_slow_redirect_chain_ends_at_the_deadline(httpserver, app_reading) -> None:
    def hop(number: int) -> Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            time.sleep(0.4)
            return Response(status=302, headers={"Location": f"/hop/{number + 1}"})

        return answer

    for number in range(25):
        httpserver.expect_request(f"/hop/{number}").respond_with_handler(hop(number))
    httpserver.expect_request("/hop/25").respond_with_data(
        parser_fixture("cases/hf_daily_papers.json").read_bytes()
    )
    app = app_reading(httpserver.url_for("/hop/0"))
    report, _ = refresh_within(app, DEADLINE + 10)
    assert_slow_source_failed_and_rest_read(report, f"took longer than {DEADLINE:g} s")


def test_a_quick_redirect_is_followed(httpserver, app_reading) -> None:
    httpserver.expect_request("/old").respond_with_response(
        Response(status=301, headers={"Location": "/new"})
    )
    httpserver.expect_request("/new").respond_with_data(
        parser_fixture("cases/hf_daily_papers.json").read_bytes()
    )
    # A deadline a loaded machine cannot miss: this is about following, not about time.
    report, _ = refresh_within(app_reading(httpserver.url_for("/old"), deadline=10), 20)
    assert report.sources[0].status == "ok" and report.sources[0].new == 5
