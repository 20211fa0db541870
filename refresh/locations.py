"""The URLs or local files one source reads, in order."""

from __future__ import annotations

import glob
from datetime import UTC, date, datetime, timedelta

from settings import SourceConfig


def locations(source: SourceConfig, today: date | None = None) -> list[str]:
    """Glob a local path; expand an hf-api URL into one URL per day it follows."""
    if source.path:
        return sorted(glob.glob(source.path)) or [source.path]
    assert source.url is not None
    if source.kind == "hf-api" and (source.days > 1 or "{date}" in source.url):
        today = today or datetime.now(UTC).date()
        dates = [(today - timedelta(days=k)).isoformat() for k in range(source.days)]
        if "{date}" in source.url:
            return [source.url.replace("{date}", d) for d in dates]
        joiner = "&" if "?" in source.url else "?"
        return [f"{source.url}{joiner}date={d}" for d in dates]
    return [source.url]
