"""gunicorn settings for the Procfile's web process: $PORT, $WEB_CONCURRENCY, threads."""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
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
    """Before binding: an address other than loopback needs base_url or allowed_hosts (the
    Procfile binds 0.0.0.0), else every client's Host header would make its own links."""
    from settings import ConfigError, load_config, require_canonical_host

    try:
        config = load_config()
    except ConfigError:
        return  # a broken config: the workers say what is wrong with it
    try:
        require_canonical_host(config, server.cfg.bind)
    except ConfigError as error:
        raise SystemExit(f"paperfeed: {error}") from None


def post_worker_init(worker):
    """In each worker (never the master, even with --preload): fresh DB pool, then the timer."""
    from app import start_scheduler

    flask_app = worker.wsgi
    flask_app.extensions["paperfeed"].store.engine.dispose(close=False)
    start_scheduler(flask_app)


def worker_exit(server, worker):
    """A worker that stops (restart, HUP, shutdown) stops its search processes with it."""
    svc = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("paperfeed")
    if svc is not None:  # None: the app never loaded
        svc.close()
