"""Every setting, declared once: name, default, help. TOML file, then environment overrides.

Precedence, lowest first: the defaults below, the [service] table of the config file,
PAPERFEED_<NAME> environment variables (and the platform's DATABASE_URL, PORT,
ADMIN_TOKEN, LOG_FORMAT), then the dict a test passes to create_app().
"""

from __future__ import annotations

import glob
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feeds.query import Query, QueryError
from feeds.query import parse as parse_query
from parsing import KINDS

HERE = Path(__file__).resolve().parent
DEFAULT_CONFIG = HERE / "samples" / "paperfeed.toml"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    env: str | None = None  # a platform variable read besides PAPERFEED_<NAME>


SETTINGS = [
    Setting(
        "database_url",
        "sqlite:///paperfeed.db",
        "SQLAlchemy URL of the store; postgres:// URLs are accepted",
        env="DATABASE_URL",
    ),
    Setting("refresh_minutes", 30.0, "minutes between refreshes of every source"),
    Setting("feed_items", 50, "items in a feed when no ?limit= is given"),
    Setting("max_feed_items", 500, "largest ?limit= a feed accepts"),
    Setting("base_url", "", "absolute URL the service is reached at (else taken from requests)"),
    Setting(
        "scheduler",
        "embedded",
        "embedded|web: refresh on a timer inside each serving process (a database lease "
        "lets one run at a time); off: only `paperfeed clock`, the CLI or the admin route",
    ),
    Setting("cache_bytes", 64 * 1024 * 1024, "byte budget of the in-process feed cache"),
    Setting(
        "generation_check_seconds", 2.0, "how often a web process looks for a new store generation"
    ),
    Setting("connect_timeout", 5.0, "seconds to connect to a source"),
    Setting("read_timeout", 20.0, "seconds a source may stay silent while sending"),
    Setting(
        "fetch_deadline", 60.0, "seconds one fetch may take in all (checked while the body is read)"
    ),
    Setting("max_body_bytes", 20 * 1024 * 1024, "largest listing body read from a source"),
    Setting("retries", 3, "retries of a failed fetch (429 and 5xx, honouring Retry-After)"),
    Setting("backoff_seconds", 1.0, "base of the exponential backoff between retries"),
    Setting("arxiv_interval", 3.0, "minimum seconds between two requests to arXiv hosts"),
    Setting(
        "user_agent",
        "paperfeed/0.1 (+https://github.com/paperfeed/paperfeed)",
        "User-Agent sent to sources",
    ),
    Setting("lease_seconds", 120, "how long a refresher holds the lease between renewals"),
    Setting(
        "auto_migrate",
        True,
        "apply database migrations at start-up (the release phase does it on Heroku)",
    ),
    Setting(
        "admin_token",
        "",
        "bearer token for POST /admin/refresh; empty: route absent",
        env="ADMIN_TOKEN",
    ),
    Setting("log_format", "text", "text or json", env="LOG_FORMAT"),
    Setting("log_level", "INFO", "logging level"),
]
_BY_NAME = {s.name: s for s in SETTINGS}


class ConfigError(ValueError):
    """A config that cannot be used; says the file, the place in it, and what is wrong."""


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    url: str | None = None
    path: str | None = None
    every_minutes: float | None = None
    enabled: bool = True
    days: int = 1

    def locations(self) -> list[str]:
        """The URLs or local files this source reads, in order."""
        if self.path:
            return sorted(glob.glob(self.path)) or [self.path]
        assert self.url is not None
        if self.kind == "hf-api" and (self.days > 1 or "{date}" in self.url):
            from datetime import UTC, datetime, timedelta

            today = datetime.now(UTC).date()
            dates = [(today - timedelta(days=k)).isoformat() for k in range(self.days)]
            if "{date}" in self.url:
                return [self.url.replace("{date}", d) for d in dates]
            joiner = "&" if "?" in self.url else "?"
            return [f"{self.url}{joiner}date={d}" for d in dates]
        return [self.url]


@dataclass(frozen=True)
class TopicConfig:
    name: str
    title: str
    query: Query
    description: str = ""


@dataclass
class Config:
    path: Path
    values: dict[str, Any]
    sources: list[SourceConfig] = field(default_factory=list)
    topics: dict[str, TopicConfig] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None


_TOPIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


def _coerce(setting: Setting, value: Any, where: str) -> Any:
    default = setting.default
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: {setting.name} = {value!r} is not a {type(default).__name__}"
        ) from None


def load_config(
    path: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read the config file, apply environment and explicit overrides, compile every topic."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    config_path = Path(
        overrides.pop("config_path", None)
        or path
        or environ.get("PAPERFEED_CONFIG")
        or DEFAULT_CONFIG
    ).resolve()
    try:
        document = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: no such config file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{config_path}: not valid TOML: {error}") from None

    values = {s.name: s.default for s in SETTINGS}
    service = document.get("service", {})
    for key, value in service.items():
        if key not in _BY_NAME:
            raise ConfigError(f"{config_path}: [service] has unknown setting {key!r}")
        values[key] = _coerce(_BY_NAME[key], value, f"{config_path}: [service]")
    for setting in SETTINGS:
        for variable in (f"PAPERFEED_{setting.name.upper()}", setting.env):
            if variable and environ.get(variable):
                values[setting.name] = _coerce(setting, environ[variable], f"${variable}")
    topics_override = overrides.pop("topics", None)
    sources_override = overrides.pop("sources", None)
    for key, value in overrides.items():
        if key not in _BY_NAME:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = _coerce(_BY_NAME[key], value, "override")
    if values["scheduler"] not in ("embedded", "web", "off"):
        raise ConfigError(f"scheduler = {values['scheduler']!r}: use embedded, web or off")

    base = config_path.parent
    raw_sources = sources_override if sources_override is not None else document.get("sources", [])
    raw_topics = topics_override if topics_override is not None else document.get("topics", {})
    return Config(
        path=config_path,
        values=values,
        sources=[_source(config_path, base, i, s) for i, s in enumerate(raw_sources)],
        topics={n: _topic(config_path, n, t) for n, t in raw_topics.items()},
    )


def _source(config_path: Path, base: Path, index: int, raw: Any) -> SourceConfig:
    where = f"{config_path}: [[sources]] #{index + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: needs a name")
    where = f"{config_path}: source {name!r}"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(sorted(KINDS))}")
    unknown = set(raw) - {"name", "kind", "url", "path", "every_minutes", "enabled", "days"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    url, path = raw.get("url"), raw.get("path")
    if bool(url) == bool(path):
        raise ConfigError(f"{where}: give exactly one of url or path")
    if url and not re.match(r"^https?://", url):
        raise ConfigError(f"{where}: url must be http(s); use path for local files")
    if path:
        path = str((base / path).resolve()) if not os.path.isabs(path) else path
    return SourceConfig(
        name=name,
        kind=kind,
        url=url,
        path=path,
        every_minutes=float(raw["every_minutes"]) if raw.get("every_minutes") else None,
        enabled=bool(raw.get("enabled", True)),
        days=max(1, int(raw.get("days", 1))),
    )


def _topic(config_path: Path, name: str, raw: Any) -> TopicConfig:
    where = f"{config_path}: topic {name!r}"
    if not _TOPIC_NAME.match(name) or name == "search":
        raise ConfigError(
            f"{where}: a topic name is lower-case letters, digits, - and _ (and not 'search')"
        )
    if isinstance(raw, str):
        raw = {"query": raw}
    if not isinstance(raw, dict) or not isinstance(raw.get("query"), str):
        raise ConfigError(f"{where}: needs query = '...'")
    try:
        query = parse_query(raw["query"])
    except QueryError as error:
        column = f", column {error.column}" if error.column else ""
        raise ConfigError(
            f"{where}{column}: {error.message}\n    {raw['query']}\n    "
            + (" " * ((error.column or 1) - 1))
            + "^"
        ) from None
    return TopicConfig(
        name=name,
        title=str(raw.get("title") or name),
        query=query,
        description=str(raw.get("description") or ""),
    )


def describe_settings() -> str:
    """Every setting with its default and help, for --help and the README."""
    lines = []
    for s in SETTINGS:
        env = f"PAPERFEED_{s.name.upper()}" + (f" or {s.env}" if s.env else "")
        lines.append(f"  {s.name} (env {env}, default {s.default!r})\n      {s.help}")
    return "\n".join(lines)
