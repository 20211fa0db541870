"""gunicorn settings for the Procfile's web process: $PORT, $WEB_CONCURRENCY, threads.

The master never imports the application (a reload loads new code in new workers); it runs
two short child processes instead. At start and at each reload (SIGHUP) it checks the config
file as a worker would load it and hands the checked text to the workers it starts, so a
reload with a broken file logs one line and keeps serving the last good config; and it
applies the migrations once, so replacement workers never touch the schema. A database that
is down at that moment is logged, not fatal: the workers serve what they can, and the
refresher migrates once the database is back.
"""

import json
import os
import subprocess
import sys

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


HERE = os.path.dirname(os.path.abspath(__file__))
# What a worker will do at boot, in a child process: load the config (the checked text),
# then build the app on it, which fails on what a worker would fail on (a database URL of
# an unknown kind, a logging level that does not exist...). Nothing is migrated or started.
_CHECK = """\
import json, os, sys
import settings
try:
    checked = settings.checked_config(binds=json.loads(sys.argv[1]))
    os.environ.update(checked, PAPERFEED_MASTER_MIGRATES="1")
    from app import create_app
    create_app()
except settings.ConfigError as error:
    sys.exit(str(error))
except Exception as error:
    sys.exit(f"the config cannot be served: {type(error).__name__}: {error}".splitlines()[0])
print(json.dumps(checked))
"""


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
    mistake = _adopt_checked_config(server)
    if mistake:
        server.log.error("paperfeed: %s; the workers keep the last good config", mistake)
    else:
        _migrate(server.log)


def post_worker_init(worker):
    """In each worker (never the master, even with --preload): fresh DB pool, then the timer."""
    from app import start_worker

    start_worker(worker.wsgi)


def worker_exit(server, worker):
    """A worker that stops (restart, HUP, shutdown) stops its search processes with it."""
    from app import stop_worker

    stop_worker(getattr(worker, "wsgi", None))


def _adopt_checked_config(server):
    """Check the config file in a child process; when it loads, the workers started from now
    on read the checked text (settings.PINNED_*). Returns what is wrong, else None."""
    binds = json.dumps(list(server.cfg.bind))
    checked = subprocess.run(
        [sys.executable, "-c", _CHECK, binds], env=_child_env(), capture_output=True, text=True
    )
    if checked.returncode != 0:
        return checked.stderr.strip() or f"checking the config failed ({checked.returncode})"
    os.environ.update(json.loads(checked.stdout))
    return None


def _migrate(log):
    migrated = subprocess.run(
        [sys.executable, "-m", "cli", "migrate"], env=_child_env(), capture_output=True, text=True
    )
    if migrated.returncode != 0:
        lines = (migrated.stderr or migrated.stdout).strip().splitlines() or ["no output"]
        log.error(
            "paperfeed: could not migrate the database now (%s); the workers start anyway "
            "and the refresher migrates when the database answers",
            lines[-1],
        )


def _child_env():
    """The master's environment, with paperfeed's modules first on the path; the child runs
    in the master's folder, which a relative DATABASE_URL is relative to."""
    path = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}
