"""The `paperfeed` command: serve, refresh, check, preview, explain, migrate, clock."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

from logs import setup_logging
from migrations import upgrade
from refresh.pipeline import Refresher
from refresh.schedule import schedule
from settings import DEFAULT_CONFIG, Config, ConfigError, describe_settings, load_config
from store import Store
from topics import search
from topics.analysis import Document
from topics.query import QueryError, format_matches, parse

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


def _config(args: argparse.Namespace) -> Config:
    overrides: dict[str, Any] = {}
    if args.database_url:
        overrides["database_url"] = args.database_url
    return load_config(args.config, overrides=overrides)


def _store(config: Config) -> Store:
    store = Store(config.database_url)
    if config.auto_migrate:
        upgrade(store.engine)
    return store


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the web service under gunicorn with the Procfile's settings."""
    config = _config(args)  # fail here, with a clear message, before gunicorn starts
    env = dict(os.environ)
    if args.config:
        env["PAPERFEED_CONFIG"] = str(Path(args.config).resolve())
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    env.setdefault("PORT", str(args.port))
    env.setdefault("HOST", args.host)
    env.setdefault("WEB_CONCURRENCY", str(args.workers))
    print(
        f"paperfeed: serving {len(config.topics)} topics on http://{env['HOST']}:{env['PORT']}/",
        file=sys.stderr,
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(HERE / "gunicorn.conf.py"),
        "--chdir",
        os.getcwd(),
        "app:app",
    ]
    os.execvpe(command[0], command, env)
    return 0  # not reached


def cmd_refresh(args: argparse.Namespace) -> int:
    """Refresh sources now and print what each gave."""
    config = _config(args)
    store = _store(config)
    show = sys.stderr.isatty() or args.verbose
    refresher = Refresher(
        config, store, progress=(lambda m: print(m, file=sys.stderr)) if show else None
    )
    report = refresher.run(force=not args.if_due, only=args.source or None)
    if not report.ran:
        print(f"another process is refreshing ({report.holder}); nothing done", file=sys.stderr)
        return 3
    for outcome in report.sources:
        line = f"{outcome.name}: {outcome.status}, {outcome.new} new, {outcome.changed} changed"
        print(line + (f" — {outcome.error}" if outcome.error else ""))
    print(f"{store.count_papers()} papers stored, generation {store.generation()}")
    failed = [s for s in report.sources if s.status == "error"]
    return 1 if failed and len(failed) == len(report.sources) else 0


def cmd_check(args: argparse.Namespace) -> int:
    """Load the config and compile every topic; print what each topic means."""
    config = _config(args)
    print(f"{config.path}: {len(config.sources)} sources, {len(config.topics)} topics")
    for source in config.sources:
        state = "" if source.enabled else " (disabled)"
        print(f"  source {source.name} [{source.kind}] {source.url or source.path}{state}")
    for name, topic in config.topics.items():
        print(f"  topic {name}: {topic.query.text}\n      = {topic.query.describe()}")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    """Print what a query would match in the current store."""
    config = _config(args)
    query = parse(args.query)
    store = _store(config)
    print(f"query: {query.describe()}")
    found = search.find(store, query)
    for paper, matched in found[: args.limit]:
        ref = paper.arxiv_id or paper.guid
        print(f"- {paper.title}\n    {ref} — {format_matches(matched)}")
    print(f"{len(found)} of {store.count_papers()} stored papers match")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Say what a topic or query means and, for a paper, which terms matched where."""
    config = _config(args)
    topic = config.topics.get(args.rule)
    query = topic.query if topic else parse(args.rule)
    print(f"{'topic ' + args.rule if topic else 'query'}: {query.text}")
    print(f"means: {query.describe()}")
    if not args.paper:
        return 0
    store = _store(config)
    paper = store.find_paper(args.paper)
    if paper is None:
        print(
            f"no stored paper {args.paper!r} (give an arXiv id, a GUID or an id)", file=sys.stderr
        )
        return 1
    matched = query.explain(Document.of_paper(paper))
    print(f"paper: {paper.title}")
    print(f"matched: {format_matches(matched)}" if matched else "does not match")
    return 0 if matched else 1


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply database migrations (the Procfile's release phase)."""
    config = _config(args)
    upgrade(Store(config.database_url).engine)
    print("database schema is up to date")
    return 0


def cmd_clock(args: argparse.Namespace) -> int:
    """Run the refresh scheduler alone (the Procfile's clock process)."""
    config = _config(args)
    setup_logging(config.log_format, config.log_level)
    store = _store(config)
    schedule(Refresher(config, store), blocking=True)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="paperfeed",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--config", metavar="PATH", help="TOML config file (default: bundled samples)")
    top.add_argument("--database-url", metavar="URL", help="override DATABASE_URL")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=help_text, description=textwrap.dedent(handler.__doc__ or help_text)
        )
        sub.set_defaults(handler=handler)
        return sub

    serve = add("serve", cmd_serve, "run the web service (gunicorn) with its refresh timer")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; $HOST wins)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; $PORT wins)")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes (default 1; $WEB_CONCURRENCY wins)"
    )
    refresh = add("refresh", cmd_refresh, "fetch every source now and update the feeds")
    refresh.add_argument(
        "--source", action="append", metavar="NAME", help="only this source (repeatable)"
    )
    refresh.add_argument("--if-due", action="store_true", help="skip sources refreshed recently")
    refresh.add_argument(
        "-v", "--verbose", action="store_true", help="show progress even when not on a terminal"
    )
    add("check", cmd_check, "validate the config and print what every topic means")
    preview = add("preview", cmd_preview, "show what a query matches in the current store")
    preview.add_argument("query", help="a query, e.g. 'resnet* AND NOT medical'")
    preview.add_argument("--limit", type=int, default=20, help="papers to print (default 20)")
    explain = add("explain", cmd_explain, "explain a topic or query, optionally for one paper")
    explain.add_argument("rule", metavar="TOPIC|QUERY", help="a topic name or a query")
    explain.add_argument("paper", nargs="?", metavar="PAPER", help="arXiv id, GUID or store id")
    add("migrate", cmd_migrate, "apply database migrations")
    add("clock", cmd_clock, "run only the refresh scheduler (use with scheduler = off on web)")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as error:
        print(f"paperfeed: config error: {error}", file=sys.stderr)
        return 2
    except QueryError as error:
        print(f"paperfeed: bad query: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
