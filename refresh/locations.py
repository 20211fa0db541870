"""The URLs or local files one source reads, in order."""

from __future__ import annotations

import glob
from datetime import UTC, date, datetime, timedelta

from settings import SourceConfig


class SecretLocation(str):
    """A location whose URL came from the environment (a source's url_env): the string is
    what may be shown ("$NAME", "$NAME?date=2024-11-28"), target is the URL the fetcher
    reads. Everything that shows, logs or stores a location (its validators too) holds the
    string only."""

    target: str

    def __new__(cls, shown: str, target: str) -> SecretLocation:
        location = super().__new__(cls, shown)
        location.target = target
        return location


def locations(source: SourceConfig, today: date | None = None) -> list[str]:
    """Glob a local path; expand an hf-api URL into one URL per day it follows."""
    if source.path:
        return sorted(glob.glob(source.path)) or [source.path]
    assert source.url is not None
    days = _days(source, source.secret_url or source.url, today)
    if source.secret_url is None:
        return [_on_day(source.url, day) for day in days] if days else [source.url]
    if not days:
        return [SecretLocation(source.url, source.secret_url)]
    return [SecretLocation(_on_day(source.url, d), _on_day(source.secret_url, d)) for d in days]


def _days(source: SourceConfig, url: str, today: date | None) -> list[str]:
    """The days an hf-api source follows, newest first; none for any other source."""
    if source.kind != "hf-api" or (source.days <= 1 and "{date}" not in url):
        return []
    today = today or datetime.now(UTC).date()
    return [(today - timedelta(days=k)).isoformat() for k in range(source.days)]


def _on_day(url: str, day: str) -> str:
    if "{date}" in url:
        return url.replace("{date}", day)
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}date={day}"
