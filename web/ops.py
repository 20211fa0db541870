"""Operations routes: /healthz (liveness), /readyz (readiness), /status, /metrics and
POST /admin/refresh; and the answer to a request the database failed."""

from __future__ import annotations

import hashlib
import hmac
import logging
from concurrent.futures import TimeoutError as NotYet
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request

from refresh.pipeline import LEASE, RefreshReport
from refresh.redact import redact_text, redact_url
from refresh.schedule import tick_minutes
from store import StoreError, limit_statements
from topics.analysis import STEMS
from web.errors import json_error
from web.service import Service, SharedCall, service

bp = Blueprint("ops", __name__)
log = logging.getLogger("paperfeed.web")
# Seconds /readyz waits for the database to answer; past it the answer is 503 (a load
# balancer's health check gives up after a few seconds, and must get an answer).
READY_WAIT_SECONDS = 2.0
# Seconds POST /admin/refresh?wait=1 waits for the refresh; past it 202 "still running"
# (before the router's own timeout, 30 s on Heroku).
ADMIN_WAIT_SECONDS = 25.0
# Seconds a statement of a web request may run on PostgreSQL (refreshes are not bounded).
WEB_STATEMENT_SECONDS = 10.0


@bp.before_app_request
def _bound_statements() -> None:
    limit_statements(WEB_STATEMENT_SECONDS)


@bp.teardown_app_request
def _unbound_statements(_error: BaseException | None) -> None:
    limit_statements(0)  # what the thread runs next may be a refresh (tests, the CLI)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


@bp.route("/healthz")
def healthz() -> Response:
    """Liveness: the process answers. It never touches the database, so a database outage
    does not get every worker restarted (they keep serving cached feeds)."""
    return jsonify({"ok": True})


@bp.route("/readyz")
def readyz() -> Response:
    """Readiness, for a load balancer: 503 while the database cannot be reached, does not
    answer within READY_WAIT_SECONDS, or is not the store this process opened (its SQLite
    file deleted or replaced, its tables gone). One check runs at a time, in a thread of
    its own: health checks arriving meanwhile wait for the same one."""
    svc = service()
    check, _ = svc.readiness.start()
    try:
        check.result(timeout=READY_WAIT_SECONDS)
    except NotYet:
        error: Exception = TimeoutError(f"no answer within {READY_WAIT_SECONDS:g} s")
    except StoreError as failed:
        error = failed
    else:
        svc.database.succeeded()
        return jsonify({"ready": True})
    svc.database.failed(error, "checking readiness")
    reason = svc.database.last_error or "not ready"  # its first line, without credentials
    return json_error(
        503, reason, {"ready": False, "reason": reason, "database": svc.database.as_json()}
    )


def database_unavailable(error: Exception) -> Response:
    """A request that needed the database while it was unreachable: 503, try again later."""
    svc = service()
    svc.database.failed(error, f"answering {request.path}")
    return json_error(
        503, "database unavailable", {"database": svc.database.as_json()}, retry_after=30
    )


for _unavailable in StoreError:
    bp.app_errorhandler(_unavailable)(database_unavailable)


@bp.route("/status")
def status() -> Response:
    svc = service()
    states = svc.store.source_states()
    now = datetime.now(UTC)
    sources: dict[str, Any] = {}
    for source in svc.config.sources:
        state = states.get(source.name)
        every = source.every_minutes or svc.config.refresh_minutes
        last_attempt = state.last_attempt if state else None
        sources[source.name] = {
            "kind": source.kind,
            "enabled": source.enabled,
            "location": redact_url(source.url) if source.url else source.path,
            "last_refresh": _iso(last_attempt),
            "last_success": _iso(state.last_success if state else None),
            "last_error": redact_text(state.last_error) if state and state.last_error else None,
            "last_error_at": _iso(state.last_error_at if state else None),
            "failing": bool(state and state.failing),
            "papers_seen": state.papers_seen if state else 0,
            "skipped_records": state.skipped if state else 0,
            # Beyond failing: suspect (the body read as nothing useful) or stale (the same
            # batch past the listing's cadence), with why.
            "health": (state.health if state else None) or "ok",
            "health_reason": state.health_reason if state else None,
            "next_run": _iso(last_attempt + timedelta(minutes=every)) if last_attempt else None,
        }
    last_change = svc.store.last_change()
    return jsonify(
        {
            "papers": svc.store.count_papers(),
            "topics": len(svc.config.topics),
            "generation": svc.store.generation(),
            "last_change": _iso(last_change),
            "data_age_seconds": int((now - last_change).total_seconds()) if last_change else None,
            "refresh_minutes": svc.config.refresh_minutes,
            "scheduler": svc.config.scheduler,
            "scheduler_tick_minutes": tick_minutes(svc.config),
            "lease": _lease(svc),
            "store": {"created": _iso(svc.store.created_at())},
            "database": svc.database.as_json(),
            "refresh_failure": _failure(svc),
            "recent_refreshes": [
                {
                    "holder": holder_id(r["holder"]),
                    "started": _iso(r["started"]),
                    "finished": _iso(r["finished"]),
                    "sources": r["sources"],
                    "new_papers": r["new_papers"],
                }
                for r in svc.store.recent_runs(5)
            ],
            "sources": sources,
        }
    )


def _lease(svc: Service) -> dict[str, Any] | None:
    """The refresh lease in /status: None when free; held (by whom as an opaque id, the
    same in recent_refreshes: /status is public, a host name and pid are not; until when);
    or stuck since it ran out (its holder stopped, or stopped inside a transaction that
    keeps the lease row locked: refreshes answer busy until that transaction ends)."""
    lease = svc.store.lease_state(LEASE)
    if lease is None or lease.released:
        return None
    if not lease.stuck():
        return {
            "state": "held",
            "held": True,
            "id": holder_id(lease.holder),
            "expires": _iso(lease.expires_at),
        }
    reason = (
        "a transaction of its holder keeps the lease row locked (the process is paused, "
        "or its write does not end): refreshes answer busy until it ends"
        if lease.locked
        else "it ran out and was neither released nor taken over (its holder stopped)"
    )
    return {
        "state": "stuck",
        "held": True,
        "id": holder_id(lease.holder),
        "since": _iso(lease.expires_at),
        "reason": reason,
    }


def holder_id(holder: str) -> str:
    """A short id of a lease holder (host:pid:random) that tells nothing of its host."""
    return hashlib.sha256(holder.encode()).hexdigest()[:8]


def _failure(svc: Service) -> dict[str, Any] | None:
    """This process's last refresh, when it failed as a whole (sources failing alone are in
    "sources")."""
    failure = svc.refresher.last_failure
    return {"at": _iso(failure[0]), "error": failure[1]} if failure else None


@bp.route("/metrics")
def metrics() -> Response:
    svc = service()
    try:
        svc.metrics.papers.set(svc.store.count_papers())
        svc.metrics.set_source_health(svc.config.sources, svc.store.source_states())
    except StoreError as error:  # the other metrics still tell what this process sees
        svc.database.failed(error, "counting papers for /metrics")
    svc.metrics.cache_hits.set(svc.cache.hits)
    svc.metrics.cache_misses.set(svc.cache.misses)
    svc.metrics.cache_bytes.set(svc.cache.used)
    svc.metrics.stem_cache_bytes.set(STEMS.bytes)
    return Response(
        svc.metrics.exposition(), content_type="text/plain; version=0.0.4; charset=utf-8"
    )


@bp.route("/admin/refresh", methods=["POST"])
def admin_refresh() -> Response:
    svc = service()
    token = svc.config.admin_token
    if not token:
        abort(404)  # no token configured: the route does not exist
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {token}"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return Response(
            "unauthorized\n",
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
            content_type="text/plain",
        )
    holder = svc.store.lease_holder(LEASE)
    if holder is not None or svc.refresher.busy:
        return _busy(holder[0] if holder else svc.refresher.holder)
    # In a thread of its own, so that the wait (?wait=1) is bounded and the refresh's
    # statements are not (a request's are: WEB_STATEMENT_SECONDS).
    refresh, _ = SharedCall(lambda: _refresh(svc), "admin-refresh").start()
    if request.args.get("wait") not in ("1", "true"):
        return _json({"started": True}, 202)
    try:
        report = refresh.result(timeout=ADMIN_WAIT_SECONDS)
    except NotYet:
        return _json({"started": True, "still_running": True, "waited": ADMIN_WAIT_SECONDS}, 202)
    if not report.ran:
        return _busy(report.holder)
    sources = {s.name: {"status": s.status, "new": s.new, "error": s.error} for s in report.sources}
    return _json({"ran": True, "generation": report.generation, "sources": sources}, 200)


def _json(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _busy(holder: str | None) -> Response:
    return json_error(409, "a refresh is already running", {"holder": holder})


def _refresh(svc: Service) -> RefreshReport:
    try:
        report = svc.refresher.run(force=True)
    except Exception:  # /status shows it too (refresh_failure); no caller may be waiting
        log.exception("refresh asked by POST /admin/refresh failed")
        raise
    svc.invalidate()
    return report
