"""The composition root: how a paperfeed process is put together, whichever way it runs.

Config -> Store -> Refresher -> Service is built here only: create_app (gunicorn's workers,
tests), the `paperfeed` command (cli.py), the web server's workers (server.py: granian, the
Procfile's web; gunicorn.conf.py, its alternative) and the search processes (which open their
store with open_store). `app` is what the web server serves.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from settings import Config, load_config
from store import Store

if TYPE_CHECKING:  # the CLI and the search processes import this module without Flask
    from flask import Flask
    from sqlalchemy.engine import Engine

    from refresh.pipeline import Refresher
    from web.service import Service


def open_store(database_url: str) -> Store:
    """The one place a Store is opened: web workers, search processes, the CLI."""
    return Store(database_url)


def make_refresher(config: Config, store: Store, **hooks: Any) -> Refresher:
    """The refresher of a store; hooks: progress and steps (the CLI), on_outcome (metrics)."""
    from refresh.pipeline import Refresher

    return Refresher(config, store, **hooks)


def make_service(config: Config) -> Service:
    """Everything one web process shares between requests, built on config."""
    from web.cache import FeedCache
    from web.metrics import Metrics
    from web.search_pool import SearchPool
    from web.service import Service, search_slots

    store = open_store(config.database_url)
    metrics = Metrics()
    refresher = make_refresher(config, store, on_outcome=metrics.observe_refresh)
    pool = None
    if config.search_in_processes:
        pool = SearchPool(functools.partial(open_store, config.database_url), search_slots(config))
    cache = FeedCache(config.cache_bytes)
    return Service(config, store, refresher, cache, metrics, search_pool=pool)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the config file plus the given overrides (tests pass a dict).

    It never fails on its database: a worker that cannot boot would take gunicorn's master
    down with it (cached feeds and /healthz with them), so a database that is down now is
    logged and answered 503 until it is back. With auto_migrate it applies the migrations
    first, unless a gunicorn master does that for its workers (gunicorn.conf.py).
    """
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from logs import setup_logging
    from web import feed_routes, feedback, ops, pages, paper_pages
    from web.fastpath import FastFeeds, RepeatAnswers
    from web.headers import add_response_headers
    from web.limits import RequestLimits
    from web.service import EXTENSION

    settings = load_config(overrides=config)
    if config is None:
        setup_logging(settings.log_format, settings.log_level)
    app = Flask(__name__, template_folder="web/templates", static_folder=None)
    svc = make_service(settings)
    # Behind a router (Heroku, Render, nginx) the scheme and host come from X-Forwarded-*.
    # A repeated request for a cached feed is answered ahead of it (web.fastpath).
    fast = FastFeeds(app.wsgi_app, svc)
    app.wsgi_app = RepeatAnswers(  # type: ignore[method-assign]
        ProxyFix(RequestLimits(fast), x_for=1, x_proto=1, x_host=1), fast
    )
    if settings.auto_migrate and not os.environ.get("PAPERFEED_MASTER_MIGRATES"):
        _upgrade_or_log(svc.store.engine)
    app.extensions[EXTENSION] = svc
    app.register_blueprint(feed_routes.bp)
    app.register_blueprint(pages.pages)
    app.register_blueprint(paper_pages.papers)
    app.register_blueprint(ops.bp)
    app.register_blueprint(feedback.bp)
    app.after_request(add_response_headers)
    return app


def _upgrade_or_log(engine: Engine) -> None:
    from migrations import upgrade
    from refresh.pipeline import first_line
    from store import StoreError

    try:
        upgrade(engine)
    except StoreError as error:
        logging.getLogger("paperfeed.web").error(
            "could not migrate the database now (%s); serving what can be served, and the "
            "refresher migrates when the database answers",
            first_line(error),
        )


def start_scheduler(app: Flask) -> None:
    """Start the in-process refresh timer when the config asks for one (not in `off` mode)."""
    from refresh.schedule import schedule
    from web.service import service

    svc = service(app)
    if svc.config.scheduler in ("embedded", "web") and svc.scheduler is None:
        svc.scheduler = schedule(svc.refresher)


def start_worker(app: Flask) -> None:
    """In a web worker (granian's target loader, gunicorn's post_worker_init): a database
    pool of its own, never one inherited through a fork, then the refresh timer."""
    from web.service import service

    service(app).store.engine.dispose(close=False)
    start_scheduler(app)


def stop_worker(app: Flask | None) -> None:
    """A worker that stops (restart, HUP, shutdown) stops its search processes with it;
    app None: it never loaded."""
    from web.service import EXTENSION, service

    if EXTENSION in getattr(app, "extensions", {}):
        service(app).close()  # type: ignore[arg-type]


_app: Flask | None = None


def __getattr__(name: str) -> Any:
    """`app:app` for gunicorn, built on first access so that importing create_app is cheap."""
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(name)
