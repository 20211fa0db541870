"""The Procfile's web process: granian serving app:app over WSGI, $PORT, $WEB_CONCURRENCY.

granian reads request heads and idle keep-alive connections in its own (Rust) event loop, so
clients that send half a head and stall hold no Python thread (BENCHMARKS.md, slow clients),
and it serves the same app several times faster than gunicorn's gthread worker.

The master imports the application's modules but never builds it: its workers are forked
from it and each builds its own (create_app: a database pool, search processes and refresh
timer of its own). Like
gunicorn.conf.py, it runs two short child processes instead: at start and at each reload
(SIGHUP) it checks the config file as a worker would load it and hands the checked text to
the workers it starts, so a reload with a broken file logs one line and keeps serving the last
good config; and it applies the migrations once, so replacement workers never touch the
schema. A database that is down at that moment is logged, not fatal.

    python -m server          (or `paperfeed serve`, which checks the port and store first)
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

HERE = os.path.dirname(os.path.abspath(__file__))
log = logging.getLogger("paperfeed.server")

# Bounds on what one client may send: a request head larger than this is refused by the
# server (gunicorn's defaults allow about as much), one whose head has not arrived whole
# within HEAD_SECONDS is dropped (slow-header clients), and a body larger than MAX_BODY_BYTES
# is answered 413 (web/limits.py; nothing here takes a body beyond a few bytes).
MAX_HEAD_BYTES = 64 * 1024
HEAD_SECONDS = 10
# Python threads per worker for the app ($WEB_THREADS): a cached feed takes microseconds of
# one, and a request waiting on the database holds one. granian's default (half its backlog,
# 512 for one worker) would let a database stall pile up hundreds of threads; this is the
# most it calls reasonable for the machine's cores.
THREADS = 2 * (os.cpu_count() or 1) + 1
# Seconds a stopping worker has to finish its requests (gunicorn.conf.py's graceful_timeout).
GRACEFUL_SECONDS = 20
# Longest a reload waits for a new worker to serve before it stops the old one anyway.
READY_SECONDS = 60

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


def adopt_checked_config(binds: list[str]) -> str | None:
    """Check the config file in a child process; when it loads, the workers started from now
    on read the checked text (settings.PINNED_*). Returns what is wrong, else None."""
    checked = subprocess.run(
        [sys.executable, "-c", _CHECK, json.dumps(binds)],
        env=_child_env(),
        capture_output=True,
        text=True,
    )
    if checked.returncode != 0:
        return checked.stderr.strip() or f"checking the config failed ({checked.returncode})"
    os.environ.update(json.loads(checked.stdout))
    return None


def migrate(logger: Any) -> None:
    """Apply the migrations in a child process; a failure is logged, never fatal."""
    migrated = subprocess.run(
        [sys.executable, "-m", "cli", "migrate"], env=_child_env(), capture_output=True, text=True
    )
    if migrated.returncode != 0:
        lines = (migrated.stderr or migrated.stdout).strip().splitlines() or ["no output"]
        logger.error(
            "paperfeed: could not migrate the database now (%s); the workers start anyway "
            "and the refresher migrates when the database answers",
            lines[-1],
        )


def reload_config(binds: list[str], logger: Any) -> None:
    """SIGHUP: workers start on the new config only if it loads; the schema follows the code."""
    mistake = adopt_checked_config(binds)
    if mistake:
        logger.error("paperfeed: %s; the workers keep the last good config", one_line(mistake))
    else:
        migrate(logger)


def one_line(mistake: str) -> str:
    """A config mistake as one log line: file, topic, column and what, each of several
    mistakes in turn; the rule and the caret under it (lines indented 4) stay out."""
    return "; ".join(line.strip() for line in mistake.splitlines() if not line.startswith("    "))


def _child_env() -> dict[str, str]:
    """The master's environment, with paperfeed's modules first on the path; the child runs
    in the master's folder, which a relative DATABASE_URL is relative to."""
    path = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def bind_of(host: str, port: int) -> str:
    """host:port as gunicorn writes it ([v6]:port), for settings.require_canonical_host."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# ---- in each worker ----------------------------------------------------------------------

_worker_app: Flask | None = None


def load_worker_app(ready: Any = None) -> Flask:
    """granian's target loader, run in each worker after the fork: the app with its own
    database pool and refresh timer, and an access log without credentials; then ready is
    set, so a reload stops the old worker only once this one serves."""
    global _worker_app
    # Until granian installs its own, the master's handlers came along with the fork: a
    # SIGTERM that arrives while the app is built would set the master's flag and be lost.
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    from app import create_app, start_worker

    logging.getLogger("granian.access").addFilter(_redact_access)
    _worker_app = create_app()
    start_worker(_worker_app)
    if ready is not None:
        ready.set()
    return _worker_app


def _serve_worker(*args: Any, **kwargs: Any) -> None:
    """granian's WSGI worker, then what a stopping worker owes: its search processes and
    database connections closed (gunicorn.conf.py's worker_exit)."""
    from granian.server.mp import MPServer

    from app import stop_worker

    try:
        MPServer._spawn_wsgi_worker(*args, **kwargs)
    finally:
        stop_worker(_worker_app)


def _redact_access(record: logging.LogRecord) -> bool:
    """The logged path with its query, credential-like parameters hidden (refresh.redact)."""
    if isinstance(record.args, dict) and record.args.get("query_string"):
        from refresh.redact import redact_url

        fields = dict(record.args)
        fields["path"] = redact_url(f"{fields['path']}?{fields['query_string']}")
        record.args = fields
    return True


ACCESS_FORMAT = '%(addr)s - [%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms'


# What create_app imports. The master imports these (it builds nothing: no pool, no thread,
# nothing a fork could copy half-way), so each worker starts in a fraction of a second
# instead of importing them again: on a busy machine that took 10 to 25 s per worker. New
# code therefore needs a restart; SIGHUP reloads the config.
PRELOAD = ("flask", "app", "web.feed_routes", "web.pages", "web.ops", "refresh.schedule")


def _server_class() -> Any:
    from granian.server.mp import MPServer

    class Server(MPServer):  # type: ignore[misc]
        """granian's server, whose reload waits for each new worker to load the app (up to
        READY_SECONDS) before it stops the old one, instead of a fixed 3.5 s: on a busy
        machine a worker takes longer than that to import and build the app, and a
        one-worker service would answer nothing meanwhile."""

        def _spawn_worker(self, idx: Any, target: Any, callback_loader: Any) -> Any:  # type: ignore[override]
            ready = multiprocessing.Event()
            worker = super()._spawn_worker(idx, target, functools.partial(callback_loader, ready))
            worker.ready = ready  # type: ignore[attr-defined]
            return worker

        def _respawn_workers(
            self, workers: Any, spawn_target: Any, target_loader: Any, delay: float = 0
        ) -> None:
            for idx in workers:
                if delay:  # a reload, not a crashed worker: start its successor first
                    self.respawned_wrks[idx] = time.monotonic()
                    successor = self._spawn_worker(idx, spawn_target, target_loader)
                    successor.start()
                    successor.ready.wait(READY_SECONDS)
                    old = self.wrks[idx]
                    self.wrks[idx] = successor
                    old.terminate()
                    old.join(self.workers_kill_timeout)
                    if old.is_alive():
                        old.kill()
                        old.join()
                    self._metrics.incr_spawn(1)
                else:
                    super()._respawn_workers([idx], spawn_target, target_loader, delay)

    return Server


def main(loader: Any = load_worker_app) -> None:
    """Serve; loader(ready) builds a worker's app (bench/serve_app.py passes its own)."""
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # Importing the app (PRELOAD) registers alembic's plugins, each an INFO line: noise.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "8000"))
    binds = [bind_of(host, port)]
    mistake = adopt_checked_config(binds)
    if mistake:
        sys.exit(f"paperfeed: {mistake}")
    if os.environ.pop("PAPERFEED_MIGRATED", None) != "1":  # paperfeed serve has just done it
        migrate(log)
    os.environ["PAPERFEED_MASTER_MIGRATES"] = "1"  # so workers do not (app.create_app)
    for module in PRELOAD:
        importlib.import_module(module)
    server = _server_class()(
        "app:app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=int(os.environ.get("WEB_CONCURRENCY", "2")),
        blocking_threads=int(os.environ.get("WEB_THREADS", THREADS)),
        http1_settings=HTTP1Settings(
            header_read_timeout=HEAD_SECONDS * 1000, max_buffer_size=MAX_HEAD_BYTES
        ),
        log_access=bool(os.environ.get("ACCESS_LOG")),
        log_access_format=ACCESS_FORMAT,
        respawn_failed_workers=True,  # a worker killed (OOM, SIGKILL) is replaced
        workers_kill_timeout=GRACEFUL_SECONDS,
    )
    server.on_reload(lambda: reload_config(binds, log))
    server.serve(spawn_target=_serve_worker, target_loader=loader, wrap_loader=False)


if __name__ == "__main__":
    main()
