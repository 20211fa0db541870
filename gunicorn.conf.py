"""gunicorn settings: the documented alternative to the Procfile's granian (server.py), with
the same $PORT, $WEB_CONCURRENCY and reload rule:

    gunicorn --config gunicorn.conf.py app:app

The master never imports the application (a reload loads new code in new workers); it runs
two short child processes instead. At start and at each reload (SIGHUP) it checks the config
file as a worker would load it and hands the checked text to the workers it starts, so a
reload with a broken file logs one line and keeps serving the last good config; and it
applies the migrations once, so replacement workers never touch the schema. A database that
is down at that moment is logged, not fatal: the workers serve what they can, and the
refresher migrates once the database is back.
"""

import os
import sys

from server import adopt_checked_config, bind_of, migrate, reload_config

bind = bind_of(os.environ.get("HOST", "0.0.0.0").strip("[]"), int(os.environ.get("PORT", "8000")))
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads let one worker keep serving cached feeds while another request waits on the database.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 60
graceful_timeout = 20
keepalive = 5
forwarded_allow_ips = "*"  # the platform's router sets X-Forwarded-*; ProxyFix reads them
accesslog = os.environ.get("ACCESS_LOG") or None
# gunicorn's default format with "-" for %(u)s: the Basic-auth user name is half a credential.
access_log_format = '%(h)s %(l)s - %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'


def on_starting(server):
    """In the master, before binding: a broken config stops start-up, with its message, and
    so does an address other than loopback with neither base_url nor allowed_hosts (the
    Procfile binds 0.0.0.0): every client's Host header would make its own links."""
    mistake = _adopt_checked_config(server)
    if mistake:
        sys.exit(f"paperfeed: {mistake}")
    if os.environ.pop("PAPERFEED_MIGRATED", None) != "1":  # paperfeed serve has just done it
        _migrate(server.log)
    os.environ["PAPERFEED_MASTER_MIGRATES"] = "1"  # so workers do not (app.create_app)


def on_reload(server):
    """SIGHUP: workers start on the new config only if it loads; the schema follows the code."""
    reload_config(list(server.cfg.bind), server.log)


def post_worker_init(worker):
    """In each worker (never the master, even with --preload): fresh DB pool, then the timer."""
    from app import start_worker

    start_worker(worker.wsgi)


def worker_exit(server, worker):
    """A worker that stops (restart, HUP, shutdown) stops its search processes with it."""
    from app import stop_worker

    stop_worker(getattr(worker, "wsgi", None))


def _adopt_checked_config(server):
    """Check the config file in a child process (server.py, as granian's master does)."""
    return adopt_checked_config(list(server.cfg.bind))


def _migrate(log):
    migrate(log)
