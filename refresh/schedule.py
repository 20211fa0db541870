"""The refresh timer: a BackgroundScheduler inside serving processes (scheduler =
embedded|web) or a BlockingScheduler in the `clock` process."""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from refresh.pipeline import Refresher
from settings import Config

log = logging.getLogger("paperfeed.refresh")


def tick_minutes(config: Config) -> float:
    """How often the scheduler wakes: often enough for the most frequent source."""
    intervals = [config.refresh_minutes] + [
        s.every_minutes for s in config.sources if s.every_minutes and s.enabled
    ]
    return max(0.05, min(intervals))


def schedule(refresher: Refresher, *, blocking: bool = False, first_run_now: bool = True) -> Any:
    """Start (or, when blocking, run) an APScheduler that refreshes on a timer."""
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=UTC)
    minutes = tick_minutes(refresher.config)

    def run_safely() -> None:
        try:
            refresher.run()
        except Exception:  # keep the scheduler alive through a database outage
            log.exception("refresh failed")

    def tick() -> None:
        # A daemon thread, so that a worker told to stop is not held up by a slow upstream;
        # an interrupted refresh loses nothing (each source is one transaction) and its
        # lease expires. The refresher's own lock keeps runs from overlapping.
        threading.Thread(target=run_safely, name="refresh", daemon=True).start()

    scheduler.add_job(
        tick,
        "interval",
        minutes=minutes,
        id="refresh",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(minutes * 30)),
        jitter=max(0, int(minutes * 6)),  # a tenth of the interval spreads many workers
        next_run_time=datetime.now(UTC) if first_run_now else None,
    )
    log.info("scheduler started: refresh every %g minutes (pid %s)", minutes, os.getpid())
    scheduler.start()
    return scheduler
