"""The Flask application factory; `app` is what gunicorn serves (Procfile: web)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from settings import load_config


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the config file plus the given overrides (tests pass a dict).

    It never fails on its database: a worker that cannot boot would take gunicorn's master
    down with it (cached feeds and /healthz with them), so a database that is down now is
    logged and answered 503 until it is back. With auto_migrate it applies the migrations
    first, unless a gunicorn master does that for its workers (gunicorn.conf.py).
    """
    from logs import setup_logging
    from web import feed_routes, ops, pages
    from web.fastpath import FastFeeds
    from web.headers import add_response_headers
    from web.service import Service

    settings = load_config(overrides=config)
    if config is None:
        setup_logging(settings.log_format, settings.log_level)
    app = Flask(__name__, template_folder="web/templates", static_folder=None)
    # Behind a router (Heroku, Render, nginx) the scheme and host come from X-Forwarded-*.
    svc = Service.build(settings)
    app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
        FastFeeds(app.wsgi_app, svc), x_for=1, x_proto=1, x_host=1
    )
    if settings.auto_migrate and not os.environ.get("PAPERFEED_MASTER_MIGRATES"):
        _upgrade_or_log(svc.store.engine)
    app.extensions["paperfeed"] = svc
    app.register_blueprint(feed_routes.bp)
    app.register_blueprint(pages.pages)
    app.register_blueprint(ops.bp)
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

    svc = app.extensions["paperfeed"]
    if svc.config.scheduler in ("embedded", "web") and svc.scheduler is None:
        svc.scheduler = schedule(svc.refresher)


_app: Flask | None = None


def __getattr__(name: str) -> Any:
    """`app:app` for gunicorn, built on first access so that importing create_app is cheap."""
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(name)
