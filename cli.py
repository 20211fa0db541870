"""The `paperfeed` command: serve, refresh, backfill, check, preview, explain, migrate, clock.

It builds what it runs through the composition root (app.py), as the web process does;
here it only turns what goes wrong into a message that says how to fix it."""

from __future__ import annotations

import argparse
import difflib
import inspect
import os
import re
import socket
import sys
import textwrap
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from settings import (
    DEFAULT_CONFIG,
    Config,
    ConfigError,
    describe_settings,
    load_config,
    require_canonical_host,
    verify,
)

# Everything else (SQLAlchemy, the store, the parsers, the rule language) is imported by the
# command that needs it: `paperfeed --help` and a mistyped command answer at once.
if TYPE_CHECKING:
    from progress import ProgressBars
    from store import Store, StoredPaper
    from topics.query import Query

HERE = Path(__file__).resolve().parent

DESCRIPTION = """\
paperfeed turns research-paper listings (Hugging Face Daily Papers, arXiv, any RSS/Atom
feed) into one RSS / Atom / JSON feed per topic. A topic is a keyword rule in Lucene
query syntax, kept in a TOML config file.

Quick start (no set-up: SQLite file, bundled sample listings, works offline):
  paperfeed serve            then open http://127.0.0.1:8000/
"""

EPILOG = f"""\
config file: --config PATH, else $PAPERFEED_CONFIG, else the bundled
  {DEFAULT_CONFIG}
settings ([service] table of the config file; environment variables override it):
{describe_settings()}
"""


class UsageError(Exception):
    """An expected failure: says what went wrong and how to fix it; shown without a traceback."""


def _config(args: argparse.Namespace) -> Config:
    overrides: dict[str, Any] = {}
    if args.database_url:
        overrides["database_url"] = args.database_url
    return load_config(args.config, overrides=overrides)


def _shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)[:100]


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _engine_store(config: Config) -> Store:
    """A Store on the configured URL, or a UsageError when the URL cannot be one."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from app import open_store

    url = config.database_url
    try:
        store = open_store(url)
    except (ArgumentError, NoSuchModuleError, ValueError, ImportError) as error:
        raise UsageError(
            f"database URL {_shown_url(url)!r} cannot be used ({_first_line(error)}); "
            "write sqlite:///path/to/file.db or postgresql://user:password@host/dbname"
        ) from error
    database = store.engine.url.database
    if store.is_sqlite and database and database != ":memory:":
        folder = Path(database).parent
        if not folder.is_dir():
            raise UsageError(
                f"the SQLite file {database} is in a folder that does not exist ({folder}); "
                "create the folder or change DATABASE_URL (or database_url in the config)"
            )
    return store


def _store(config: Config, steps: ProgressBars | None = None) -> Store:
    """The store, reachable and migrated (when auto_migrate), or a UsageError saying why not."""
    store = _engine_store(config)
    with _database_errors(config.database_url):
        with store.engine.connect():
            pass
        if config.auto_migrate:
            _migrate(store, steps)
    return store


def _migrate(store: Store, steps: ProgressBars | None) -> None:
    """Migrate, then index the papers the index lacks (a migration may have emptied it)."""
    from migrations import upgrade

    upgrade(store.engine, steps=steps)
    store.fill_index(steps)


@contextmanager
def _database_errors(url: str) -> Iterator[None]:
    from sqlalchemy.exc import InterfaceError, OperationalError

    try:
        yield
    except (OperationalError, InterfaceError) as error:
        raise UsageError(
            f"cannot use the database {_shown_url(url)}: {_first_line(error)}; "
            "check DATABASE_URL (or --database-url) and that the server is running"
        ) from error


def _check_port(host: str, port: int) -> None:
    """Fail before the server starts (and before saying 'serving') when the port is taken."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise UsageError(
                f"cannot listen on {host}:{port}: {error.strerror}; "
                "stop the other program or choose another port (--port N)"
            ) from error


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the web service under granian with the Procfile's settings (server.py).

    --host, --port and --workers win over $HOST, $PORT and $WEB_CONCURRENCY when given."""
    config = _config(args)  # fail here, with a clear message, before the server starts
    env = dict(os.environ)
    env["PAPERFEED_MIGRATED"] = "1"  # just now: the server's master need not (server.py)
    if args.config:
        env["PAPERFEED_CONFIG"] = str(Path(args.config).resolve())
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    for name, given, default in (
        ("PORT", args.port, 8000),
        ("HOST", args.host, "127.0.0.1"),
        ("WEB_CONCURRENCY", args.workers, 1),
    ):
        env[name] = str(given) if given is not None else env.get(name) or str(default)
    if not (env["PORT"].isascii() and env["PORT"].isdigit() and 0 < int(env["PORT"]) < 65536):
        raise UsageError(f"PORT={env['PORT']!r} is not a port number (1 to 65535)")
    if not (env["WEB_CONCURRENCY"].isdigit() and int(env["WEB_CONCURRENCY"]) > 0):
        raise UsageError(f"WEB_CONCURRENCY={env['WEB_CONCURRENCY']!r} is not a number of workers")
    host = env["HOST"].strip("[]")  # --host [::1] and --host ::1 alike
    env["HOST"] = host
    shown = f"[{host}]" if ":" in host else host
    require_canonical_host(config, [f"{shown}:{env['PORT']}"])
    from progress import ProgressBars

    _store(config, ProgressBars()).dispose()
    _check_port(host, int(env["PORT"]))
    print(
        f"paperfeed: serving {len(config.topics)} topics on http://{shown}:{env['PORT']}/",
        file=sys.stderr,
    )
    command = [sys.executable, "-m", "server"]
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH")) if p)
    os.execvpe(command[0], command, env)
    return 0  # not reached


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 65536):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)")
    return int(text)


def _workers(text: str) -> int:
    if not (text.isascii() and text.isdigit() and int(text) > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers (1 or more)")
    return int(text)


def cmd_refresh(args: argparse.Namespace) -> int:
    """Refresh sources now and print what each gave.

    Exit codes: 0 refreshed (some sources may have failed: see their lines), 1 every source
    failed, 2 a usage error (config, database), 3 another process holds the refresh lease (or
    took it over during this refresh)."""
    config = _config(args)
    enabled = [s.name for s in config.sources if s.enabled]
    unknown = [name for name in args.source or () if name not in enabled]
    if unknown:
        raise UsageError(
            f"no enabled source named {', '.join(map(repr, unknown))} in {config.path}; "
            f"enabled sources: {', '.join(enabled) or 'none'}"
        )
    from app import make_refresher
    from progress import ProgressBars

    bars = ProgressBars()
    store = _store(config, bars)
    show = sys.stderr.isatty() or args.verbose
    refresher = make_refresher(
        config,
        store,
        progress=(lambda m: print(m, file=sys.stderr)) if show else None,
        steps=bars,
    )
    with _database_errors(config.database_url):
        report = refresher.run(force=not args.if_due, only=args.source or None)
    bars.close()
    if not report.ran:
        print(f"another process is refreshing ({report.holder}); nothing done", file=sys.stderr)
        return 3
    if report.lease_lost:
        print(
            "refresh stopped: another process took over the refresh lease while this one "
            "was paused or cut off; what was not written is the new holder's job",
            file=sys.stderr,
        )
        return 3
    for outcome in report.sources:
        line = f"{outcome.name}: {outcome.status}, {outcome.new} new, {outcome.changed} changed"
        line += f" — {outcome.health}: {outcome.health_reason}" if outcome.health else ""
        print(line + (f" — {outcome.error}" if outcome.error else ""))
    print(f"{store.count_papers()} papers stored, generation {store.generation()}")
    failed = [s for s in report.sources if s.status == "error"]
    return 1 if failed and len(failed) == len(report.sources) else 0


def cmd_backfill(args: argparse.Namespace) -> int:
    """Load an arXiv OAI-PMH source's history once: every record of its set that arXiv
    changed (new, revised, re-classified) from --since on.

    SOURCE is the name of a [[sources]] table with kind = "oai", for example:

      [[sources]]
      name = "arxiv-cs-lg"
      kind = "oai"
      url = "https://export.arxiv.org/oai2"
      set = "cs"                  # an archive: cs, stat, math, physics:astro-ph, ...
      categories = ["cs.LG"]      # keep only these (optional)
      metadata_prefix = "arXivRaw"

      paperfeed --config my.toml backfill arxiv-cs-lg --since 2025-01-01

    It reads ListRecords pages of about a thousand records each, one every few seconds as
    arXiv asks (503 + Retry-After are honoured). Each page is stored with the token of the
    next, so an interrupted backfill (Ctrl-C, a crash, a reboot) goes on where it stopped
    when run again with the same --since. The feeds show the papers as pages are stored.
    Afterwards `paperfeed refresh` (or the timer) asks only for what changed since.

    Exit codes: 0 done, 1 the harvest stopped on an error (run it again to resume), 2 a
    usage error (config, database, source, date), 3 another process holds the refresh lease."""
    config = _config(args)
    source = next((s for s in config.sources if s.name == args.source), None)
    if source is None or source.kind != "oai":
        oai = [s.name for s in config.sources if s.kind == "oai"]
        raise UsageError(
            f'no source named {args.source!r} with kind = "oai" in {config.path}; '
            f"oai sources: {', '.join(oai) or 'none (see `paperfeed backfill --help`)'}"
        )
    if args.since > datetime.now(UTC).date():
        raise UsageError(f"--since {args.since} is in the future")
    from app import make_refresher
    from progress import ProgressBars

    bars = ProgressBars()
    store = _store(config, bars)
    refresher = make_refresher(
        config, store, progress=lambda m: print(m, file=sys.stderr), steps=bars
    )
    with _database_errors(config.database_url):
        report = refresher.run(force=True, only=[source.name], since=args.since)
    bars.close()
    if not report.ran or report.lease_lost:
        print(
            f"another process holds the refresh lease ({report.holder}); run it again later",
            file=sys.stderr,
        )
        return 3
    outcome = report.sources[0]
    print(
        f"{outcome.name}: {outcome.status}, {outcome.papers} papers read, {outcome.new} new, "
        f"{outcome.changed} changed in {outcome.seconds:.0f} s"
        + (f" — {outcome.error}; run the same command again to resume" if outcome.error else "")
    )
    print(f"{store.count_papers()} papers stored, generation {store.generation()}")
    return 1 if outcome.status == "error" else 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-01-31") from None


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the config as the first refresh would, print every problem at once, then what
    each topic means. Exit code 2 when there is a problem, a hint about a rule included
    (lower-case and/or/not are searched as words)."""
    from refresh.redact import redact_url
    from topics.hints import hints

    try:
        config = _config(args)  # every mistake in the file itself comes out of here at once
    except ConfigError as error:
        # The rules that do parse still get their hints, so one run shows everything.
        raise ConfigError(*error.problems, *_rule_hints(args)) from None
    problems = verify(config)
    store: Store | None = None
    try:
        store = _engine_store(config)
    except UsageError as error:
        problems.append(str(error))
    # Before the readers' feedback is read: that would make a missing SQLite file.
    unknown, unchecked = _unknown_examples(config, store) if store is not None else ([], "")
    problems += unknown
    print(f"{config.path}: {len(config.sources)} sources, {len(config.topics)} topics")
    for source in config.sources:
        state = "" if source.enabled else " (disabled)"
        # Deploy logs keep what check prints (the README runs it before every reload).
        location = redact_url(source.url) if source.url else source.path
        print(f"  source {source.name} [{source.kind}] {location}{state}")
    for name, topic in config.topics.items():
        print(f"  topic {name}: {topic.query.text}\n      = {topic.query.describe()}")
        for hint in hints(topic.query):
            print(f"      hint, column {hint.column}: {hint.message}")
            problems.append(f"{config.path}: topic {name!r}, column {hint.column}: {hint.message}")
        if store is not None and topic.query.likes() and "does not exist" not in unchecked:
            for ref, kind in _feedback(store, name).items():
                print(f"      readers asked: {'more' if kind == 'like' else 'less'} like {ref}")
    if unchecked:
        print(f"  {unchecked}")
    if store is not None:
        store.dispose()
    if problems:
        print(f"paperfeed: {_problems(problems)}", file=sys.stderr)
        return 2
    return 0


def _unknown_examples(config: Config, store: Store) -> tuple[list[str], str]:
    """The like / unlike ids of topics that no stored paper has, one problem each (file,
    topic, id); or, when the store cannot say (missing, not migrated, empty, unreachable),
    a note that they were not checked: a new deployment runs check before its first refresh."""
    from sqlalchemy.exc import SQLAlchemyError

    from store import StoreError

    asked = [
        (name, like.keyword, ref)
        for name, topic in config.topics.items()
        for like in topic.query.likes()
        for ref in like.ids
    ]
    if not asked:
        return [], ""
    where = _shown_url(config.database_url)
    unchecked = f"like / unlike ids not checked: the store {where}"
    database = store.engine.url.database
    if store.is_sqlite and database and database != ":memory:" and not Path(database).exists():
        return [], f"{unchecked} does not exist yet (`paperfeed refresh` makes and fills it)"
    try:
        stored = store.count_papers()
        if not stored:
            return [], f"{unchecked} is empty (`paperfeed refresh` fills it)"
        missing = [(n, kind, ref) for n, kind, ref in asked if store.find_paper(ref) is None]
    except (*StoreError, SQLAlchemyError) as error:
        return [], f"{unchecked} could not be read ({_first_line(error)})"
    return [
        f"{config.path}: topic {name!r}: {kind} id {ref!r} is not a paper in the store "
        f"({stored} papers; give the arXiv id, DOI or urn:paperfeed: GUID of a stored paper)"
        for name, kind, ref in missing
    ], ""


def _feedback(store: Store, topic: str) -> dict[str, str]:
    """The readers' more / less like this of a topic; none from a store not there yet."""
    from sqlalchemy.exc import SQLAlchemyError

    from store import StoreError

    try:
        return store.feedback(topic)
    except (*StoreError, SQLAlchemyError):  # unreachable, or not migrated: nothing given yet
        return {}


def _rule_hints(args: argparse.Namespace) -> list[str]:
    """The hints of every rule in the config file that parses, read from the file itself
    (for a file with other mistakes, which load_config refuses whole)."""
    import tomllib

    from topics.hints import hints
    from topics.query import QueryError, parse

    path = Path(args.config or os.environ.get("PAPERFEED_CONFIG") or DEFAULT_CONFIG).resolve()
    try:
        topics = tomllib.loads(path.read_text(encoding="utf-8")).get("topics", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []  # load_config has said why the file cannot be read
    found = []
    for name, raw in topics.items() if isinstance(topics, dict) else ():
        text = raw.get("query") if isinstance(raw, dict) else raw
        try:
            query = parse(text) if isinstance(text, str) else None
        except QueryError:
            continue  # load_config has said what is wrong with it
        for hint in hints(query) if query else ():
            found.append(f"{path}: topic {name!r}, column {hint.column}: {hint.message}")
    return found


def _problems(problems: list[str]) -> str:
    if len(problems) == 1:
        return f"config error: {problems[0]}"
    listed = "\n".join(f"  - {p}" for p in problems)
    return f"{len(problems)} config errors:\n{listed}"


def cmd_preview(args: argparse.Namespace) -> int:
    """Print what a query would match in the current store."""
    from progress import ProgressBars
    from topics import search
    from topics.hints import hints
    from topics.query import format_matches

    config = _config(args)
    query = _query(args.query)
    store = _store(config, ProgressBars())
    query = _bound(store, query)
    print(f"query: {query.describe()}")
    for hint in hints(query):
        print(f"hint, column {hint.column}: {hint.message}")
    with store.searching() as index:  # through the text index, as the web search
        found = search.find(index, query)
        shown = search.with_papers(index, found[: args.limit])
    for paper in shown:
        ref = paper.arxiv_id or paper.guid
        score = "" if paper.score is None else f" (score {paper.score:.2f})"
        print(f"- {paper.title}\n    {ref}{score} — {format_matches(list(paper.matched))}")
    stored = store.count_papers()
    print(f"{len(found)} of {stored} stored papers match")
    if not stored:
        print(
            f"the store {_shown_url(config.database_url)} is empty: run `paperfeed refresh` "
            "(with the same --config and folder) first",
            file=sys.stderr,
        )
    return 0


def _bound(store: Store, query: Query) -> Query:
    """query with its like: profiles from the store; an unknown paper id is a usage error."""
    from topics.query import QueryError

    try:
        return store.bind(query)
    except QueryError as error:
        raise UsageError(f"bad query: {error}") from error


def _query(text: str) -> Query:
    from topics.query import QueryError, parse

    try:
        return parse(text)
    except QueryError as error:
        raise UsageError(f"bad query: {error}\n{error.pointed(text)}") from error


def cmd_explain(args: argparse.Namespace) -> int:
    """Say what a topic or query means and, for a paper (arXiv id, GUID or a piece of its
    title), which terms matched where, or which part of the rule kept it out."""
    from topics.analysis import Document
    from topics.hints import hints
    from topics.query import format_matches
    from topics.why import exclusions

    config = _config(args)
    topic = config.topics.get(args.rule)
    if topic is None:
        # A mistyped topic name is a valid one-word query that matches nothing useful.
        close = difflib.get_close_matches(args.rule, list(config.topics), n=1, cutoff=0.8)
        if close:
            print(
                f"no topic {args.rule!r}: reading it as a query (did you mean {close[0]!r}?)",
                file=sys.stderr,
            )
    query = topic.query if topic else _query(args.rule)
    print(f"{'topic ' + args.rule if topic else 'query'}: {query.text}")
    print(f"means: {query.describe()}")
    for hint in hints(query):
        print(f"hint, column {hint.column}: {hint.message}")
    if not args.paper:
        return 0
    store = _store(config)
    if topic is not None:  # with the readers' more / less like this, as the refresh has it
        query = topic.with_feedback(_feedback(store, args.rule))
    query = _bound(store, query)
    for like in query.likes():
        if like.profile is not None:
            print(f"like: {' '.join(like.ids)} weighs: {', '.join(like.profile.words()[:12])}")
    paper = _find_paper(store, args.paper)
    document = Document.of_paper(paper)
    matched = query.explain(document)
    print(f"paper: {paper.title}")
    print(f"id: {paper.arxiv_id or paper.guid}")
    if matched is not None:  # `*` and NOT match without naming a word
        print(f"matched: {format_matches(matched) or 'yes (the rule names no word it found)'}")
        print(f"score: {matched.score:.2f}")
        return 0
    print("does not match:")
    for reason in exclusions(query, document):
        print(f"  {reason}")
    return 1


def _find_paper(store: Store, ref: str) -> StoredPaper:
    """By arXiv id or GUID, else by a piece of the title; several titles: say which."""
    paper = store.find_paper(ref)
    if paper is not None:
        return paper
    found = store.find_papers_by_title(ref, limit=6)
    exact = [p for p in found if p.title.casefold() == ref.strip().casefold()]
    if len(found) == 1 or len(exact) == 1:
        return (exact or found)[0]
    if not found:
        raise UsageError(
            f"no stored paper is {ref!r}: give an arXiv id, a GUID or a piece of its title "
            "(topic pages show both)"
        )
    listed = "\n".join(f"  {p.arxiv_id or p.guid}  {p.title}" for p in found[:5])
    more = " (and more)" if len(found) > 5 else ""
    raise UsageError(f"{ref!r} is in several titles{more}; give one of these ids:\n{listed}")


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply database migrations (the Procfile's release phase)."""
    from progress import ProgressBars

    config = _config(args)
    store = _engine_store(config)
    with _database_errors(config.database_url):
        _migrate(store, ProgressBars())
    store.dispose()
    print("database schema is up to date")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    """Remove a source's papers that no other source lists, and what the store keeps of the
    source (its state, validators, progress); papers other sources list too stay, without
    its name. For the bundled samples once your own sources are in: remove the source from
    the config first, or the next refresh reads it again. Exit code 2 when neither the
    store nor the config knows the source."""
    config = _config(args)
    store = _store(config)
    name = args.source
    configured = [source.name for source in config.sources]
    with _database_errors(config.database_url):
        forgotten = store.forget_source(name)
        if not forgotten.known and name not in configured:
            known = sorted(set(store.source_names()) | set(configured))
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(
                f"no source named {name!r} in the store or in {config.path} "
                f"(known: {', '.join(known) or 'none'}){hint}"
            )
        store.bump_generation()
    print(
        f"{name}: {forgotten.removed} papers removed, "
        f"{forgotten.kept} kept (another source lists them too)"
    )
    if any(s.name == name and s.enabled for s in config.sources):
        print(
            f"paperfeed: {name!r} is still a source in {config.path}: the next refresh reads "
            "it again; remove its [[sources]] table to keep it out",
            file=sys.stderr,
        )
    return 0


def cmd_digest_mail(args: argparse.Namespace) -> int:
    """Mail each [email] topic's digest of the last complete day or week (the item its
    ?digest= feed shows), as text and HTML, by SMTP. A period is mailed once (the store
    remembers it) and a period with no paper sends nothing, so this can run from cron as
    often as you like. --dry-run prints the messages instead and remembers nothing."""
    import smtplib

    from web.digest_mail import prepare, send_digests

    config = _config(args)
    if config.email is None:
        raise UsageError(
            f"{config.path} has no [email] table (or it says enabled = false); "
            "see the README's 'Digests by e-mail'"
        )
    topics = config.email.topics
    if args.topic:
        unknown = [t for t in args.topic if t not in topics]
        if unknown:
            close = difflib.get_close_matches(unknown[0], topics, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(
                f"topic {unknown[0]!r} is not in [email] topics ({', '.join(topics)}){hint}"
            )
        topics = tuple(args.topic)
    store = _store(config)
    with _database_errors(config.database_url):
        if args.dry_run:
            now = datetime.now(UTC)
            outcomes = [prepare(config, store, topic, now) for topic in topics]
        else:
            try:
                outcomes = send_digests(config, store, topics)
            except (smtplib.SMTPException, OSError) as error:
                raise UsageError(
                    f"mail server {config.email.host}:{config.email.port}: "
                    f"{_first_line(error) or type(error).__name__}; check [email] host, port, "
                    "security and the login"
                ) from None
    for outcome in outcomes:
        if outcome.message is None:
            print(f"{outcome.topic}: nothing to send: {outcome.why}")
        elif args.dry_run:
            print(_readable(outcome.message))
        else:
            print(f"{outcome.topic}: mailed {outcome.period.name} to {outcome.message['To']}")
    return 0


def _readable(message: Any) -> str:
    """A message as a person reads it: headers decoded, then each part's text."""
    headers = "".join(f"{name}: {value}\n" for name, value in message.items())
    parts = [
        f"--- {part.get_content_type()}\n{part.get_content()}" for part in message.iter_parts()
    ]
    return headers + "\n" + "\n".join(parts)


def cmd_clock(args: argparse.Namespace) -> int:
    """Run the refresh scheduler alone (the Procfile's clock process)."""
    from app import make_refresher
    from logs import setup_logging
    from refresh.schedule import schedule

    config = _config(args)
    store = _store(config)
    setup_logging(config.log_format, config.log_level)
    schedule(make_refresher(config, store), blocking=True)
    return 0


class _Parser(argparse.ArgumentParser):
    """Command-line mistakes in one line, as every other failure (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="paperfeed",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--config", metavar="PATH", help="TOML config file (default: bundled samples)")
    top.add_argument("--database-url", metavar="URL", help="override DATABASE_URL")
    top.add_argument(
        "--debug", action="store_true", help="show tracebacks and debug logs of failures"
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=help_text, description=textwrap.dedent(handler.__doc__ or help_text)
        )
        sub.set_defaults(handler=handler)
        return sub

    serve = add("serve", cmd_serve, "run the web service (granian) with its refresh timer")
    serve.add_argument(
        "--host", help="address to bind, e.g. 0.0.0.0 or ::1 (default $HOST, else 127.0.0.1)"
    )
    serve.add_argument("--port", type=_port, help="port (default $PORT, else 8000)")
    serve.add_argument(
        "--workers",
        type=_workers,
        help="worker processes (default $WEB_CONCURRENCY, else 1)",
    )
    refresh = add("refresh", cmd_refresh, "fetch every source now and update the feeds")
    refresh.add_argument(
        "--source", action="append", metavar="NAME", help="only this source (repeatable)"
    )
    refresh.add_argument("--if-due", action="store_true", help="skip sources refreshed recently")
    refresh.add_argument(
        "-v", "--verbose", action="store_true", help="show progress even when not on a terminal"
    )
    backfill = add(
        "backfill", cmd_backfill, "load an arXiv OAI-PMH source's history from a date on"
    )
    backfill.formatter_class = argparse.RawDescriptionHelpFormatter
    backfill.description = inspect.cleandoc(cmd_backfill.__doc__ or "")
    backfill.add_argument("source", metavar="SOURCE", help='a source with kind = "oai"')
    backfill.add_argument(
        "--since",
        type=_day,
        required=True,
        metavar="DATE",
        help="first day (YYYY-MM-DD) of the records to load, by when arXiv last changed them",
    )
    add("check", cmd_check, "validate the config and print what every topic means")
    preview = add("preview", cmd_preview, "show what a query matches in the current store")
    preview.add_argument("query", help="a query, e.g. 'resnet* AND NOT medical'")
    preview.add_argument("--limit", type=int, default=20, help="papers to print (default 20)")
    explain = add("explain", cmd_explain, "explain a topic or query, optionally for one paper")
    explain.add_argument("rule", metavar="TOPIC|QUERY", help="a topic name or a query")
    explain.add_argument(
        "paper", nargs="?", metavar="PAPER", help="arXiv id, GUID or a piece of the title"
    )
    add("migrate", cmd_migrate, "apply database migrations")
    forget = add("forget", cmd_forget, "remove a source's papers that no other source lists")
    forget.add_argument("source", metavar="SOURCE", help="a source's name, e.g. samples")
    mail = add("digest-mail", cmd_digest_mail, "mail the last day's or week's digest ([email])")
    mail.add_argument(
        "--topic", action="append", metavar="NAME", help="only this [email] topic (repeatable)"
    )
    mail.add_argument(
        "--dry-run", action="store_true", help="print the messages; send and remember nothing"
    )
    add("clock", cmd_clock, "run only the refresh scheduler (use with scheduler = off on web)")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.handler not in (cmd_serve, cmd_clock):
        from logs import setup_logging

        # One-shot commands print their results; logs are for failures (or --debug).
        setup_logging("text", "DEBUG" if args.debug else "ERROR")
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`paperfeed preview x | head`): no traceback, and no second
        # one when Python flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as error:
        if not _expected(error):
            raise
        if args.debug:
            traceback.print_exception(error)
        print(f"paperfeed: {_failure(error)}", file=sys.stderr)
        return 2


def _expected(error: Exception) -> bool:
    """A failure that says what went wrong and how to fix it (no traceback)."""
    from store import StoreError

    return isinstance(error, (ConfigError, UsageError, *StoreError))


def _failure(error: BaseException) -> str:
    """What an expected failure says, on one line (config errors: one line per mistake)."""
    if isinstance(error, ConfigError):
        return _problems(error.problems)
    if isinstance(error, UsageError):
        return str(error)
    return (
        f"database error: {_first_line(error)}; check DATABASE_URL and that the server is running"
    )


if __name__ == "__main__":
    sys.exit(main())
