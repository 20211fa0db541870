"""The web app plus comparison endpoints, for bench/serve.py and bench/slow_clients.py only.

/bench/constant   the topic feed's bytes from a Flask view: the Flask floor
/bench/raw        the same bytes from a raw WSGI callable ahead of Flask: the server's floor
/bench/naive/T    the topic feed queried and rendered on every request: the naive baseline
/nofast/...       the same app without the WSGI fast path (cached feeds through Flask routing)

Served by gunicorn (`gunicorn --config gunicorn.conf.py bench.serve_app:app`) or by granian
with the Procfile's settings (bench/serve_worker.py).
"""

from __future__ import annotations

import os
from typing import Any

from flask import Response
from werkzeug.middleware.proxy_fix import ProxyFix

from app import create_app
from feeds import render
from web.feed_routes import base_url
from web.service import service

app = create_app()
_svc = service(app)
_topic = os.environ.get("BENCH_TOPIC", "residual")
_constant: list[bytes] = []

# The twin: create_app wraps Flask in RepeatAnswers(ProxyFix(RequestLimits(FastFeeds(...))));
# keep ProxyFix, drop the fast path.
_twin = create_app()
_twin.wsgi_app = ProxyFix(  # type: ignore[method-assign]
    _twin.wsgi_app.app.app.app.app,  # type: ignore[attr-defined]
    x_for=1,
    x_proto=1,
    x_host=1,
)


class _NoFastFirst:
    """/nofast/... to the twin, mounted there as werkzeug's DispatcherMiddleware would; the
    rest to the app. A prefix test, as cheap as _RawFirst's, so the other paths measure the
    production chain rather than the dispatch."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/nofast") and (len(path) == 7 or path[7] == "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/nofast"
            environ["PATH_INFO"] = path[7:]
            return _twin(environ, start_response)
        return self.inner(environ, start_response)


app.wsgi_app = _NoFastFirst(app.wsgi_app)  # type: ignore[method-assign]


def _feed_bytes() -> bytes:
    if not _constant:  # the topic feed's bytes, fetched once
        _constant.append(app.test_client().get(f"/feeds/{_topic}.rss").data)
    return _constant[0]


class _RawFirst:
    """/bench/raw answered by a bare WSGI callable, before Flask sees the request."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/bench/raw":
            body = _feed_bytes()
            start_response(
                "200 OK",
                [
                    ("Content-Type", "application/rss+xml; charset=utf-8"),
                    ("Content-Length", str(len(body))),
                ],
            )
            return [body]
        return self.inner(environ, start_response)


app.wsgi_app = _RawFirst(app.wsgi_app)  # type: ignore[method-assign]


@app.route("/bench/constant")
def constant() -> Response:
    return Response(_feed_bytes(), content_type="application/rss+xml; charset=utf-8")


@app.route("/bench/naive/<name>.rss")
def naive(name: str) -> Response:
    topic = _svc.config.topics[name]
    page = base_url()
    info = render.FeedInfo(
        name,
        topic.title,
        topic.query.text,
        f"{page}/feeds/{name}.rss",
        f"{page}/topics/{name}",
        int(_svc.config.refresh_minutes),
    )
    items = _svc.store.topic_items(name, int(_svc.config.feed_items))
    return Response(
        render.render("rss", info, items), content_type="application/rss+xml; charset=utf-8"
    )
