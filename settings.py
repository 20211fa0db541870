"""Every setting, declared once: name, default, help. TOML file, then environment overrides.

Precedence, lowest first: the defaults below, the [service] table of the config file,
PAPERFEED_<NAME> environment variables (and the platform's DATABASE_URL, PORT,
ADMIN_TOKEN, LOG_FORMAT), then the dict a test passes to create_app().
"""

from __future__ import annotations

import difflib
import glob
import math
import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from topics.query import Query

# The parsers and the rule language are imported where a config is loaded, not here:
# `paperfeed --help` lists the settings and should not pay for them (about 1 s).

HERE = Path(__file__).resolve().parent
DEFAULT_CONFIG = HERE / "samples" / "paperfeed.toml"

# The serving master (gunicorn.conf.py) checks the config file before its workers read it
# and hands them the text it checked in these two variables: workers started by a reload
# whose file is broken keep serving the last good config instead of failing to boot.
PINNED_PATH = "PAPERFEED_CHECKED_CONFIG_PATH"
PINNED_TEXT = "PAPERFEED_CHECKED_CONFIG_TEXT"


def setting(default: Any, help: str, env: str | None = None, minimum: float | None = None) -> Any:
    """A field of Config that is a setting: its default, its help, a platform variable read
    besides PAPERFEED_<NAME>, and for numbers the smallest value that makes sense."""
    return field(default=default, metadata={"help": help, "env": env, "minimum": minimum})


class ConfigError(ValueError):
    """A config that cannot be used; says the file, the place in it, and what is wrong.

    problems holds every mistake found, so a user fixes them all in one go."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class SourceConfig:
    """One [[sources]] table. url is what may be shown: for a URL read from the environment
    (url_env = "NAME") it is "$NAME", and the URL itself is secret_url, which nothing shows
    (a token in a URL's path cannot be told from the path)."""

    name: str
    kind: str
    url: str | None = None
    path: str | None = None
    every_minutes: float | None = None
    enabled: bool = True
    days: int = 1
    url_env: str | None = None
    secret_url: str | None = field(default=None, repr=False)
    # Hours the same batch may be served before the source is stale; None: its kind's
    # default (refresh.health), 0: never stale.
    stale_hours: float | None = None
    # kind = "oai" (arXiv OAI-PMH): the set to harvest (None: all of arXiv) and the format.
    oai_set: str | None = None
    metadata_prefix: str = "arXivRaw"
    # Only records in one of these arXiv categories are stored (empty: every record).
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class TopicConfig:
    """One [topics.NAME] table; query is its rule with like/unlike/min_similarity in."""

    name: str
    title: str
    query: Query
    description: str = ""
    order: str = "newest"  # or "relevance": the feed's and page's default order
    # like = [...] / unlike = [...] of the table, before the reader's feedback (store)
    like: tuple[str, ...] = ()
    unlike: tuple[str, ...] = ()
    min_similarity: float | None = None
    rule: str | None = None  # query = '...' as written

    def with_feedback(self, given: Mapping[str, str]) -> Query:
        """The rule with the readers' "more / less like this" ({paper: like|unlike}) added
        to the table's like and unlike lists."""
        if not given:
            return self.query
        like = [*self.like, *(p for p, k in given.items() if k == "like" and p not in self.like)]
        unlike = [*self.unlike, *(p for p, k in given.items() if k == "unlike")]
        like = [p for p in like if given.get(p) != "unlike"]
        from topics.query import parse as parse_query
        from topics.query import with_min_similarity

        query = parse_query(topic_rule(self.rule, like, unlike))
        if self.min_similarity is not None:
            query = with_min_similarity(query, self.min_similarity)
        return query


@dataclass(frozen=True)
class EmailConfig:
    """The [email] table: mail each listed topic's digest of the last complete period by
    SMTP. The password is read from the environment variable password_env names, so no
    secret sits in the file; it is never shown (repr=False)."""

    host: str
    sender: str
    to: tuple[str, ...]
    topics: tuple[str, ...]
    period: str = "day"
    port: int = 587
    security: str = "starttls"  # starttls, ssl (SMTPS) or none (a local relay)
    username: str | None = None
    password_env: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Config:
    """Everything one running paperfeed is told: where the config came from, its sources
    and topics, and every setting (each declared once below, with its type and help)."""

    path: Path = DEFAULT_CONFIG
    sources: tuple[SourceConfig, ...] = ()
    topics: Mapping[str, TopicConfig] = field(default_factory=dict)
    email: EmailConfig | None = None  # None: no [email] table, or enabled = false

    database_url: str = setting(
        "sqlite:///paperfeed.db",
        "SQLAlchemy URL of the store; postgres:// URLs are accepted",
        env="DATABASE_URL",
    )
    refresh_minutes: float = setting(
        30.0, "minutes between refreshes of every source", minimum=0.01
    )
    feed_items: int = setting(50, "items in a feed when no ?limit= is given", minimum=1)
    max_feed_items: int = setting(500, "largest ?limit= a feed accepts", minimum=1)
    base_url: str = setting(
        "",
        "absolute URL the service is reached at (else taken from the request); serving on "
        "an address other than loopback needs it or allowed_hosts",
    )
    allowed_hosts: str = setting(
        "",
        "comma-separated hosts (with :port if not the default) links may name when base_url "
        "is unset; a request for another host gets links to the first",
    )
    scheduler: str = setting(
        "embedded",
        "embedded|web: refresh on a timer inside each serving process (a database lease "
        "lets one run at a time); off: only `paperfeed clock`, the CLI or the admin route",
    )
    cache_bytes: int = setting(
        64 * 1024 * 1024, "byte budget of the in-process feed cache", minimum=0
    )
    generation_check_seconds: float = setting(
        2.0, "how often a web process looks for a new store generation", minimum=0
    )
    connect_timeout: float = setting(5.0, "seconds to connect to a source", minimum=0.01)
    read_timeout: float = setting(
        20.0, "seconds a source may stay silent while sending", minimum=0.01
    )
    search_max_rows: int = setting(
        20_000,
        "papers one search may examine before it answers 422 'query too expensive' "
        "(a word found in the text index keeps it low; a range or regex alone scans)",
        minimum=1,
    )
    search_max_seconds: float = setting(
        2.0, "seconds one search may run before it answers 422 'query too expensive'", minimum=0.01
    )
    search_concurrency: int = setting(
        1,
        "uncached searches one process runs at once; more answer 503 with Retry-After, so "
        "cached feeds and /healthz keep their threads",
        minimum=1,
    )
    render_concurrency: int = setting(
        2,
        "uncached feed and page renders one process runs at once (readers of a feed being "
        "rendered wait for it); more answer 503 with Retry-After, so cached feeds and "
        "/healthz keep their threads",
        minimum=1,
    )
    search_in_processes: bool = setting(
        True,
        "run uncached searches in search_concurrency processes beside each web process "
        "(their own interpreters, lower CPU priority), so its threads keep serving cached "
        "feeds; false: in its own threads",
    )
    fetch_deadline: float = setting(
        60.0,
        "seconds one fetch may take in all: connect, redirects, retries and their waits, body",
        minimum=0.01,
    )
    max_body_bytes: int = setting(
        20 * 1024 * 1024, "largest listing body read from a source", minimum=1
    )
    retries: int = setting(
        3, "retries of a failed fetch (429 and 5xx, honouring Retry-After)", minimum=0
    )
    backoff_seconds: float = setting(
        1.0, "base of the exponential backoff between retries", minimum=0
    )
    arxiv_interval: float = setting(
        3.0, "minimum seconds between two requests to arXiv hosts", minimum=0
    )
    user_agent: str = setting(
        "paperfeed/0.1 (+https://github.com/paperfeed/paperfeed)", "User-Agent sent to sources"
    )
    lease_seconds: int = setting(
        120, "how long a refresher holds the lease between renewals", minimum=1
    )
    auto_migrate: bool = setting(
        True,
        "apply database migrations at start-up: once in the web server's master, never in "
        "its workers (the release phase does it on Heroku); the refresher catches up after "
        "an outage",
    )
    admin_token: str = setting(
        "", "bearer token for POST /admin/refresh; empty: route absent", env="ADMIN_TOKEN"
    )
    feedback_secret: str = setting(
        "",
        "key that signs the 'more / less like this' links of like topics (HMAC-SHA256); "
        "empty: no links. Changing it makes every link already handed out refuse",
    )
    log_format: str = setting("text", "text or json", env="LOG_FORMAT")
    log_level: str = setting("INFO", "logging level")


@dataclass(frozen=True)
class Setting:
    """One setting, as --help and the README list it."""

    name: str
    type: type
    default: Any
    help: str
    env: str | None
    minimum: float | None


_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}
SETTINGS = [
    Setting(
        f.name,
        _TYPES[str(f.type)],
        f.default,
        f.metadata["help"],
        f.metadata["env"],
        f.metadata["minimum"],
    )
    for f in fields(Config)
    if "help" in f.metadata
]
_BY_NAME = {s.name: s for s in SETTINGS}


_TOPIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


def _coerce(setting: Setting, value: Any, where: str) -> Any:
    try:
        if setting.type is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            if not isinstance(value, bool | int):
                raise ValueError(value)
            return bool(value)
        number = setting.type(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: {setting.name} = {value!r} is not a {setting.type.__name__}"
        ) from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ConfigError(f"{where}: {setting.name} = {value!r} is not a finite number")
    if setting.minimum is not None and number < setting.minimum:
        raise ConfigError(f"{where}: {setting.name} = {value!r} is below {setting.minimum:g}")
    return number


_TOP_LEVEL_KEYS = {"service", "sources", "topics", "email"}
_SOURCE_KEYS = {
    "name",
    "kind",
    "url",
    "url_env",
    "path",
    "every_minutes",
    "enabled",
    "days",
    "stale_hours",
    "set",
    "metadata_prefix",
    "categories",
}
_OAI_KEYS = {"set", "metadata_prefix", "categories"}
OAI_PREFIXES = ("arXivRaw", "arXiv")
# An OAI-PMH setSpec of arXiv: an archive group, archive or category (cs, physics:astro-ph,
# cs:cs:LG, math:math:AG).
_CATEGORY = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z][A-Za-z\-]*)?$")
_OAI_SET = re.compile(r"^[a-z][a-z\-]*(?::[a-z][a-z\-]*(?::[A-Za-z][A-Za-z\-]*)?)?$")
MAX_STALE_HOURS = 24 * 366  # a year: a longer cadence is a typo
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOPIC_KEYS = {"query", "title", "description", "like", "unlike", "min_similarity", "order"}


def load_config(
    path: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read the config file, apply environment and explicit overrides, compile every topic.

    Raises ConfigError listing every mistake found, not only the first."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    config_path = _config_path(overrides.pop("config_path", None) or path, environ)
    document = _read_toml(config_path, environ)
    problems: list[str] = []

    def collect(check: Any, *args: Any) -> Any:
        try:
            return check(*args)
        except ConfigError as error:
            problems.extend(error.problems)
            return None

    for key in sorted(set(document) - _TOP_LEVEL_KEYS):
        problems.append(
            f"{config_path}: unknown table or key {key!r}{_did_you_mean(key, _TOP_LEVEL_KEYS)}: "
            "use [service], [[sources]], [topics.NAME] and [email]"
        )
    values = {s.name: s.default for s in SETTINGS}
    service = document.get("service", {})
    for key, value in service.items():
        if key not in _BY_NAME:
            problems.append(
                f"{config_path}: [service] has unknown setting {key!r}"
                f"{_did_you_mean(key, _BY_NAME)}"
            )
            continue
        coerced = collect(_coerce, _BY_NAME[key], value, f"{config_path}: [service]")
        if coerced is not None:
            values[key] = coerced
    if isinstance(service.get("database_url"), str):
        values["database_url"] = sqlite_relative_to(values["database_url"], config_path.parent)
    problems += _mistyped_variables(environ)
    for setting in SETTINGS:
        for variable in (f"PAPERFEED_{setting.name.upper()}", setting.env):
            if variable and environ.get(variable):
                coerced = collect(_coerce, setting, environ[variable], f"${variable}")
                if coerced is not None:
                    values[setting.name] = coerced
    topics_override = overrides.pop("topics", None)
    sources_override = overrides.pop("sources", None)
    for key, value in overrides.items():
        if key not in _BY_NAME:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = _coerce(_BY_NAME[key], value, "override")
    if values["scheduler"] not in ("embedded", "web", "off"):
        problems.append(f"scheduler = {values['scheduler']!r}: use embedded, web or off")
    if values["feed_items"] > values["max_feed_items"]:
        problems.append(
            f"feed_items = {values['feed_items']} is more than max_feed_items = "
            f"{values['max_feed_items']}: a feed could not be served at its own default"
        )

    base = config_path.parent
    raw_sources = sources_override if sources_override is not None else document.get("sources", [])
    raw_topics = topics_override if topics_override is not None else document.get("topics", {})
    if not isinstance(raw_sources, list):
        problems.append(f"{config_path}: sources must be [[sources]] tables")
        raw_sources = []
    if not isinstance(raw_topics, dict):
        problems.append(f"{config_path}: topics must be [topics.NAME] tables")
        raw_topics = {}
    sources = [
        collect(_source, config_path, base, i, s, environ) for i, s in enumerate(raw_sources)
    ]
    topics = {n: collect(_topic, config_path, n, t) for n, t in raw_topics.items()}
    names = [s.get("name") for s in raw_sources if isinstance(s, dict)]
    for name in sorted({n for n in names if isinstance(n, str) and names.count(n) > 1}):
        problems.append(
            f"{config_path}: {names.count(name)} sources are named {name!r}: "
            "each source needs its own name (its state is kept under it)"
        )
    email = collect(
        _email, config_path, document.get("email"), set(raw_topics), values["base_url"], environ
    )
    if problems:
        # Say at once what the first refresh would trip on too, not after the rest is fixed.
        problems += _missing_paths(config_path, [s for s in sources if s is not None])
        raise ConfigError(*problems)
    return Config(
        path=config_path,
        sources=tuple(s for s in sources if s is not None),
        topics={n: t for n, t in topics.items() if t is not None},
        email=email,
        **values,
    )


# PAPERFEED_* variables that are not settings: the config file, what the serving master hands
# its workers, and the test suite's switches.
_OTHER_VARIABLES = {
    "PAPERFEED_CONFIG",
    PINNED_PATH,
    PINNED_TEXT,
    "PAPERFEED_MIGRATED",
    "PAPERFEED_MASTER_MIGRATES",
}


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _mistyped_variables(environ: Mapping[str, str]) -> list[str]:
    """PAPERFEED_* variables that are nearly a setting's: a typo would be ignored silently.
    Others (another program's, the test suite's) are left alone."""
    known = {f"PAPERFEED_{s.name.upper()}" for s in SETTINGS}
    return [
        f"${name} is not a setting; did you mean ${close[0]}?"
        for name in sorted(environ)
        if name.startswith("PAPERFEED_") and name not in known | _OTHER_VARIABLES
        for close in [difflib.get_close_matches(name, list(known), n=1, cutoff=0.85)]
        if close
    ]


def _config_path(path: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path:
    return Path(path or environ.get("PAPERFEED_CONFIG") or DEFAULT_CONFIG).resolve()


def checked_config(
    environ: Mapping[str, str] | None = None, binds: Iterable[str] = ()
) -> dict[str, str]:
    """The config file's path and text as PINNED_PATH / PINNED_TEXT, once the text loads as
    a worker would load it and may serve on binds (require_canonical_host); raises
    ConfigError saying what is wrong otherwise."""
    environ = dict(os.environ if environ is None else environ)
    for name in (PINNED_PATH, PINNED_TEXT):
        environ.pop(name, None)  # read the file as it is now, not the last good text
    path = _config_path(None, environ)
    text = _read_text(path)
    pinned = {PINNED_PATH: str(path), PINNED_TEXT: text}
    require_canonical_host(load_config(environ={**environ, **pinned}), binds)
    return pinned


def _read_toml(config_path: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """The parsed file (or the text the serving master checked of it), or a one-line
    ConfigError saying what is wrong and how to fix it."""
    import tomllib

    pinned = environ.get(PINNED_TEXT) if environ.get(PINNED_PATH) == str(config_path) else None
    text = pinned if pinned is not None else _read_text(config_path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{config_path}: not valid TOML: {error}") from None


def _read_text(config_path: Path) -> str:
    try:
        return config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{config_path}: no such config file (give --config PATH or set PAPERFEED_CONFIG)"
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"{config_path}: is a folder; give the TOML file in it "
            f"(e.g. {config_path / 'paperfeed.toml'})"
        ) from None
    except PermissionError:
        raise ConfigError(f"{config_path}: cannot be read (permission denied)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{config_path}: is not UTF-8 text; is it the right file?") from None


def sqlite_relative_to(url: str, folder: Path) -> str:
    """A relative SQLite path written in a config file means: next to that file."""
    match = re.match(r"^(sqlite(?:\+\w+)?:///)(.+)$", url)
    if not match or match.group(2).startswith(("/", ":memory:", "file:")):
        return url
    return match.group(1) + str(folder / match.group(2))


def require_canonical_host(config: Config, binds: Iterable[str]) -> None:
    """Refuse, in one line, to serve on an address other than loopback when neither base_url
    nor allowed_hosts is set: links, and so cache entries, would follow whatever Host or
    X-Forwarded-Host each client sends, and a new host per request makes every poll a
    render. On 127.0.0.1 (the laptop default) links come from the request as they are."""
    if config.base_url or config.allowed_hosts:
        return
    for bind in binds:
        if not _loopback(bind):
            raise ConfigError(
                f"refusing to serve on {bind} without base_url or allowed_hosts (links would "
                "follow any client's Host header): set PAPERFEED_BASE_URL=https://your.host "
                "(or PAPERFEED_ALLOWED_HOSTS), or bind 127.0.0.1 (HOST=127.0.0.1)"
            )


def _loopback(bind: str) -> bool:
    """A bind (host:port, [v6]:port, host, unix:path) only this machine reaches."""
    import ipaddress

    if bind.startswith("unix:"):
        return True
    host = bind.rpartition("]")[0].lstrip("[") if bind.startswith("[") else bind.split(":")[0]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve to anything
        return False


def verify(config: Config) -> list[str]:
    """What a valid config would still trip on at the first refresh: sources whose path
    matches no file, and a config with nothing to do."""
    problems = _missing_paths(config.path, config.sources)
    if not config.sources:
        problems.append(f"{config.path}: no [[sources]]: add one so there is something to read")
    if not config.topics:
        problems.append(f"{config.path}: no [topics.NAME]: add one so there is a feed to serve")
    return problems


def _missing_paths(config_path: Path, sources: Sequence[SourceConfig]) -> list[str]:
    return [
        f"{config_path}: source {source.name!r}: path {source.path} matches no file"
        for source in sources
        if source.path and not glob.glob(source.path)
    ]


def _source(
    config_path: Path, base: Path, index: int, raw: Any, environ: Mapping[str, str]
) -> SourceConfig:
    where = f"{config_path}: [[sources]] #{index + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: needs a name")
    where = f"{config_path}: source {name!r}"
    from parsing import KINDS

    kind = raw.get("kind")
    if kind not in KINDS:
        raise ConfigError(
            f"{where}: kind {kind!r} is not one of {', '.join(sorted(KINDS))}"
            f"{_did_you_mean(str(kind), KINDS)}"
        )
    _refuse_unknown_keys(where, raw, _SOURCE_KEYS)
    url, url_env, path = raw.get("url"), raw.get("url_env"), raw.get("path")
    if [bool(url), bool(url_env), bool(path)].count(True) != 1:
        raise ConfigError(f"{where}: give exactly one of url, url_env or path")
    if url and not (isinstance(url, str) and _is_http(url)):
        raise ConfigError(f"{where}: url must be http(s); use path for local files")
    secret_url = _url_from_environment(where, url_env, environ) if url_env else None
    oai_set, prefix, categories = _oai_keys(where, kind, raw, path)
    if path:
        if not isinstance(path, str) or "\x00" in path:
            raise ConfigError(f"{where}: path must be a file path (text without NUL bytes)")
        path = str((base / path).resolve()) if not os.path.isabs(path) else path
    return SourceConfig(
        name=name,
        kind=kind,
        url=f"${url_env}" if url_env else url,
        path=path,
        every_minutes=_every_minutes(where, raw.get("every_minutes")),
        enabled=_enabled(where, raw.get("enabled", True)),
        days=_days(where, raw.get("days", 1)),
        url_env=url_env or None,
        secret_url=secret_url,
        stale_hours=_stale_hours(where, raw.get("stale_hours")),
        oai_set=oai_set,
        metadata_prefix=prefix,
        categories=categories,
    )


def _refuse_unknown_keys(where: str, raw: Mapping[str, Any], known: Collection[str]) -> None:
    """A table's keys it does not know are a ConfigError naming them, with near misses."""
    unknown = set(raw) - set(known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown keys {', '.join(sorted(unknown))} "
            f"{_hints(unknown, known)}(known: {', '.join(sorted(known))})"
        )


def _hints(unknown: Iterable[str], known: Iterable[str]) -> str:
    """'did you mean' for each unknown key close to a known one, with a trailing space."""
    close = {k: difflib.get_close_matches(k, list(known), n=1, cutoff=0.75) for k in unknown}
    said = [f"{k!r} -> {c[0]!r}" for k, c in sorted(close.items()) if c]
    return f"(did you mean {', '.join(said)}?) " if said else ""


def _every_minutes(where: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}: every_minutes = {value!r} is not a number of minutes")
    if value <= 0:
        raise ConfigError(f"{where}: every_minutes = {value!r} must be more than 0")
    return float(value)


def _enabled(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: enabled = {value!r} must be true or false (no quotes)")
    return value


def _days(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 366:
        raise ConfigError(f"{where}: days = {value!r} must be a whole number from 1 to 366")
    return value


def _oai_keys(
    where: str, kind: str, raw: dict[str, Any], path: Any
) -> tuple[str | None, str, tuple[str, ...]]:
    """The set, metadata_prefix and categories of an oai source (keys no other kind takes)."""
    if kind != "oai":
        given = sorted(_OAI_KEYS & set(raw))
        if given:
            raise ConfigError(f'{where}: {", ".join(given)} only apply to kind = "oai"')
        return None, "arXivRaw", ()
    if path:
        raise ConfigError(f"{where}: an oai source harvests a URL (https://export.arxiv.org/oai2)")
    oai_set, prefix = raw.get("set"), raw.get("metadata_prefix", "arXivRaw")
    if oai_set is not None and not (isinstance(oai_set, str) and _OAI_SET.match(oai_set)):
        raise ConfigError(
            f"{where}: set = {oai_set!r} is not an arXiv OAI-PMH set "
            '(like "cs", "physics:astro-ph" or "cs:cs:LG")'
        )
    if prefix not in OAI_PREFIXES:
        raise ConfigError(
            f"{where}: metadata_prefix = {prefix!r} is not one of {', '.join(OAI_PREFIXES)}"
        )
    categories = raw.get("categories", [])
    if not isinstance(categories, list) or not all(
        isinstance(c, str) and _CATEGORY.match(c) for c in categories
    ):
        raise ConfigError(
            f"{where}: categories = {categories!r} is not a list of arXiv categories "
            '(like ["cs.LG", "stat.ML"])'
        )
    return oai_set, prefix, tuple(categories)


def _stale_hours(where: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}: stale_hours = {value!r} is not a number of hours")
    if not 0 <= value <= MAX_STALE_HOURS:
        raise ConfigError(
            f"{where}: stale_hours = {value!r} is not between 0 (never stale) and "
            f"{MAX_STALE_HOURS} (a year)"
        )
    return float(value)


def _is_http(url: str) -> bool:
    return re.match(r"^https?://", url) is not None


def _url_from_environment(where: str, name: object, environ: Mapping[str, str]) -> str:
    """The URL in the environment variable name, checked like a url; a message about it
    never quotes its value (a secret)."""
    if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
        raise ConfigError(f"{where}: url_env must name an environment variable, like FEED_URL")
    value = environ.get(name, "").strip()
    if not value:
        state = "is empty" if name in environ else "is not set"
        raise ConfigError(f"{where}: url_env: ${name} {state}; set it to the source's http(s) URL")
    if not _is_http(value):
        raise ConfigError(
            f"{where}: url_env: ${name} must hold an http(s) URL (its value is not shown)"
        )
    return value


def _topic(config_path: Path, name: str, raw: Any) -> TopicConfig:
    where = f"{config_path}: topic {name!r}"
    if not _TOPIC_NAME.match(name) or name == "search":
        raise ConfigError(
            f"{where}: a topic name is lower-case letters, digits, - and _ (and not 'search')"
        )
    if isinstance(raw, str):
        raw = {"query": raw}
    if not isinstance(raw, dict) or not (
        isinstance(raw.get("query"), str) or isinstance(raw.get("like"), list)
    ):
        raise ConfigError(f"{where}: needs query = '...' (or like = [paper ids])")
    _refuse_unknown_keys(where, raw, _TOPIC_KEYS)
    like, unlike = _ids(where, raw, "like"), _ids(where, raw, "unlike")
    order = raw.get("order", "newest")
    if order not in ("newest", "relevance"):
        raise ConfigError(f'{where}: order is "newest" or "relevance", not {order!r}')
    floor = raw.get("min_similarity")
    if floor is not None and (
        isinstance(floor, bool) or not isinstance(floor, int | float) or not 0 < floor <= 1
    ):
        raise ConfigError(f"{where}: min_similarity is a number above 0 and at most 1")
    text = topic_rule(raw.get("query"), like, unlike)
    from topics.query import QueryError, with_min_similarity
    from topics.query import parse as parse_query

    try:
        query = parse_query(text)
    except QueryError as error:
        column = f", column {error.column}" if error.column else ""
        raise ConfigError(f"{where}{column}: {error.message}\n{error.pointed(text)}") from None
    if floor is not None:
        query = with_min_similarity(query, float(floor))
    return TopicConfig(
        name=name,
        title=str(raw.get("title") or name),
        query=query,
        description=str(raw.get("description") or ""),
        order=order,
        like=like,
        unlike=unlike,
        min_similarity=None if floor is None else float(floor),
        rule=raw.get("query"),
    )


_EMAIL_KEYS = {
    "enabled",
    "host",
    "port",
    "security",
    "username",
    "password_env",
    "from",
    "to",
    "topics",
    "period",
}
_SECURITY = {"starttls": 587, "ssl": 465, "none": 25}  # and the port each uses by default
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


def _email(
    config_path: Path, raw: Any, topics: set[str], base_url: str, environ: Mapping[str, str]
) -> EmailConfig | None:
    """The [email] table, or None when it is absent or enabled = false."""
    if raw is None:
        return None
    where = f"{config_path}: [email]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table")
    _refuse_unknown_keys(where, raw, _EMAIL_KEYS)
    if not _enabled(where, raw.get("enabled", True)):
        return None
    problems = []
    host = raw.get("host")
    if not isinstance(host, str) or not host.strip():
        problems.append(f'{where}: needs host = "smtp.example.org"')
    security = raw.get("security", "starttls")
    if security not in _SECURITY:
        problems.append(
            f"{where}: security = {security!r} is not one of starttls, ssl, none"
            f"{_did_you_mean(str(security), _SECURITY)}"
        )
        security = "starttls"
    port = raw.get("port", _SECURITY[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        problems.append(f"{where}: port = {port!r} must be a whole number from 1 to 65535")
    sender = raw.get("from")
    if not isinstance(sender, str) or not _ADDRESS.match(sender.strip()):
        problems.append(f'{where}: needs from = "paperfeed@example.org" (one address)')
    to = raw.get("to")
    if isinstance(to, str):
        to = [to]
    if (
        not isinstance(to, list)
        or not to
        or not all(isinstance(a, str) and _ADDRESS.match(a.strip()) for a in to)
    ):
        problems.append(f'{where}: to is a list of addresses: to = ["you@example.org"]')
        to = []
    named = raw.get("topics")
    if not isinstance(named, list) or not named or not all(isinstance(t, str) for t in named):
        problems.append(f'{where}: topics is a list of topic names: topics = ["llm"]')
        named = []
    for name in named:
        if name not in topics:
            problems.append(
                f"{where}: topics: no topic {name!r}{_did_you_mean(name, topics)} "
                f"(topics: {', '.join(sorted(topics)) or 'none'})"
            )
    period = raw.get("period", "day")
    if period not in ("day", "week"):
        problems.append(f'{where}: period is "day" or "week", not {period!r}')
    username, password_env = raw.get("username"), raw.get("password_env")
    if username is not None and (not isinstance(username, str) or not username):
        problems.append(f"{where}: username must be a string")
    password = None
    if password_env is not None:
        if not isinstance(password_env, str) or not _VARIABLE_NAME.match(password_env):
            problems.append(
                f"{where}: password_env must name an environment variable, like SMTP_PASSWORD"
            )
        elif not environ.get(password_env):
            state = "is empty" if password_env in environ else "is not set"
            problems.append(f"{where}: password_env: ${password_env} {state}")
        else:
            password = environ[password_env]
    if bool(username) != bool(password_env):
        problems.append(f"{where}: give username and password_env together (or neither)")
    if not base_url:
        problems.append(
            f"{where}: needs base_url in [service] (or $PAPERFEED_BASE_URL): a mail's links "
            "must say where the service is"
        )
    if problems:
        raise ConfigError(*problems)
    return EmailConfig(
        host=str(host).strip(),
        sender=str(sender).strip(),
        to=tuple(a.strip() for a in to),
        topics=tuple(dict.fromkeys(named)),
        period=period,
        port=port,
        security=security,
        username=username,
        password_env=password_env,
        password=password,
    )


def topic_rule(query: str | None, like: Sequence[str], unlike: Sequence[str]) -> str:
    """A topic's rule with its like/unlike lists: `(query) OR like:(...)`, the papers the
    rule matches and those similar to the examples, then `AND unlike:(...)`."""

    def ids(found: Sequence[str]) -> str:
        return "(" + " ".join(f'"{i}"' for i in found) + ")"

    text = query or ""
    if like:
        text = f"({text}) OR like:{ids(like)}" if text else f"like:{ids(like)}"
    if unlike:
        text = f"({text}) AND unlike:{ids(unlike)}"
    return text


def _ids(where: str, raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    found = raw.get(key, [])
    if not isinstance(found, list) or not all(isinstance(i, str) and i.strip() for i in found):
        raise ConfigError(f'{where}: {key} is a list of paper ids: {key} = ["2401.01234"]')
    return tuple(i.strip() for i in found)


def describe_settings() -> str:
    """Every setting with its default and help, for --help and the README."""
    lines = []
    for s in SETTINGS:
        env = f"PAPERFEED_{s.name.upper()}" + (f" or {s.env}" if s.env else "")
        lines.append(f"  {s.name} (env {env}, default {s.default!r})\n      {s.help}")
    return "\n".join(lines)
