"""Test helpers, in one module: fixture paths, config snippets, the CLI runner, fixture
servers, and live processes and clients. Test modules import from here, never from each
other; pytest fixtures are in conftest.py."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import strategies as st
from werkzeug import Request, Response
from werkzeug.serving import make_server

from topics.analysis import fold, stem

ROOT = Path(__file__).resolve().parent.parent
PAPERFEED = shutil.which("paperfeed") or str(Path(sys.executable).parent / "paperfeed")
LISTINGS = ROOT / "samples" / "listings"
# Parser fixtures, in one tree: cases/ (hand-made edge cases) and real/ (upstream captures,
# see its README), each input with its expected outcome beside it (NAME.expected.json);
# hazards/ (hostile bodies: tests/test_hazards.py says what becomes of each); seeds/ (the
# fuzzer's, one per parser, fuzz/parsers.py).
PARSER_DATA = Path(__file__).resolve().parent / "parsing" / "data"
SEED_COUNTS = {
    "000_0937d812811fcc18.txt": 119,
    "001_9997b832c2f801ba.txt": 204,
    "002_ef8e4038be73e72e.txt": 89,
    "003_d588416f37f0a3be.txt": 64,
}
DEFAULT_TOPICS = """
[topics.residual]
title = "Residual connections"
query = '"residual connection" OR resnet* OR "skip connection"'

[topics.imagenet-not-medical]
query = 'imagenet AND NOT (medical OR radiology OR thorax)'

[topics.vit]
title = "Vision transformers"
query = 'vit OR "vision transformer"'

[topics.hot]
query = 'upvotes:[20 TO *]'
"""


def parser_fixture(name: str) -> Path:
    """A parser fixture by its place in the tree: "cases/arxiv_api.atom", "real/...",
    "hazards/..."."""
    path = PARSER_DATA / name
    if not path.is_file():
        raise FileNotFoundError(f"no parser fixture {name} in {PARSER_DATA}")
    return path


def parser_cases() -> list[Path]:
    """Every input in cases/ and real/: each has its expected outcome beside it."""
    return sorted(
        path
        for folder in ("cases", "real")
        for path in (PARSER_DATA / folder).iterdir()
        if not path.name.endswith(".expected.json") and path.suffix != ".md"
    )


def expected_path(case: Path) -> Path:
    return case.with_name(case.name + ".expected.json")


def expected_outcome(case: Path) -> dict[str, Any]:
    """What parsing case gives: its kind, and its records or {"error": ...}."""
    outcome: dict[str, Any] = json.loads(expected_path(case).read_text("utf-8"))
    return outcome


def rich_sources() -> str:
    """The bundled listings plus fixtures with arXiv ids, dates, authors, links and upvotes."""
    return toml_sources(
        {"name": "samples", "kind": "hf-text", "path": str(LISTINGS / "*.txt")},
        {"name": "arxiv", "kind": "arxiv-api", "path": str(parser_fixture("cases/arxiv_api.atom"))},
        {"name": "hf", "kind": "hf-api", "path": str(parser_fixture("cases/hf_daily_papers.json"))},
    )


def toml_sources(*sources: dict[str, object]) -> str:
    blocks = []
    for source in sources:
        lines = ["[[sources]]"] + [
            f"{k} = {v!r}".replace("'", '"')
            if isinstance(v, str)
            else f"{k} = {str(v).lower() if isinstance(v, bool) else v}"
            for k, v in source.items()
        ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def refresh(app) -> object:  # type: ignore[no-untyped-def]
    """Run one forced refresh of app's sources and make the app see it at once."""
    svc = app.extensions["paperfeed"]
    report = svc.refresher.run(force=True)
    svc.invalidate()
    return report


def need_tool(name: str) -> str:
    """The tool's path; skip (or fail on CI, PAPERFEED_REQUIRE_TOOLS=1) when it is absent."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (apt-get install {name})"
    if os.environ.get("PAPERFEED_REQUIRE_TOOLS"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_run(count: int) -> int:
    """The first of count consecutive free ports (honcho gives web.N the port base + N - 1).
    Below Linux's ephemeral range (32768 up), where the machine's own outgoing connections
    take their local ports: base + 1 next to a port the kernel handed out was once taken."""
    chance = random.Random()
    for _ in range(200):
        base = chance.randrange(20_000, 32_000)
        try:
            with contextlib.ExitStack() as held:
                for port in range(base, base + count):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError(f"no {count} consecutive free ports found")


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll check until it returns something true; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (requests.RequestException, OSError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def serving(
    arguments: list[str], folder: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """`paperfeed <arguments>` running in folder (its output in serve.log) for the block."""
    with (folder / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [PAPERFEED, *arguments], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=30)


def synthetic_rss(count: int, first: int = 0) -> str:
    """An RSS listing of count papers numbered from first, the newest (highest) first."""
    items = "".join(
        f"<item><title>Synthetic paper {n} on wombat graphs</title>"
        f"<link>https://example.org/papers/{n}</link><guid>urn:synthetic:{n}</guid>"
        f"<description>Abstract {n}: residual networks for wombat graphs.</description></item>"
        for n in reversed(range(first, first + count))
    )
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>s</title>'
    return f"{head}{items}</channel></rss>"


def public_bind_env(config: Path, database: Path) -> dict[str, str]:
    """The environment of a web process told to listen on every interface with no base_url
    or allowed_hosts (which it must refuse), on this config and SQLite store."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PAPERFEED_BASE_URL", "PAPERFEED_ALLOWED_HOSTS")
    }
    env.update(
        HOST="0.0.0.0",
        PORT=str(free_port()),
        PAPERFEED_CONFIG=str(config),
        DATABASE_URL=f"sqlite:///{database}",
    )
    return env


def start_gunicorn(env: dict[str, str], log: Any, *options: str) -> subprocess.Popen[bytes]:
    """The Procfile's web process: gunicorn with gunicorn.conf.py, serving app:app; on
    127.0.0.1 unless env says HOST (a public address needs base_url or allowed_hosts)."""
    env = {"HOST": "127.0.0.1", **env}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            *options,
            "app:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def newsboat_reload(folder: Path, url: str | list[str]) -> Path:
    """Have newsboat (a real reader) reload url (or every url of a list, into one cache)
    with its own home and cache in folder; return the path of its cache, an SQLite file
    with one row per item it keeps."""
    newsboat = need_tool("newsboat")
    (folder / "home").mkdir(parents=True, exist_ok=True)
    (folder / "urls").write_text(
        "".join(f"{u}\n" for u in ([url] if isinstance(url, str) else url))
    )
    (folder / "config").write_text("download-timeout 30\n")
    result = subprocess.run(
        [newsboat, "-u", str(folder / "urls"), "-c", str(folder / "cache.db")]
        + ["-C", str(folder / "config"), "-x", "reload"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"HOME": str(folder / "home"), "TERM": "dumb"},
    )
    assert result.returncode == 0, result.stderr
    return folder / "cache.db"


@contextmanager
def one_search_held(app, owner: object, name: str, monkeypatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """For the block, one uncached search (/feeds/search.rss?q=vit) is held inside
    owner.name (a method on the way of every search), taking its slot."""
    entered, release = threading.Event(), threading.Event()
    original = getattr(owner, name)

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        entered.set()
        release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, held)
    slow = threading.Thread(target=lambda: app.test_client().get("/feeds/search.rss?q=vit"))
    slow.start()
    try:
        assert entered.wait(10)
        yield
    finally:
        release.set()
        slow.join(10)


@contextmanager
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve app on a free local port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`paperfeed ARGS` in folder cwd, run in this process (cli.main, as the console script
    calls it) so that a test does not pay for starting Python; output and exit code captured.
    The environment and the root logger (the CLI sets up its own) are restored after."""
    import cli  # here: only CLI tests need it

    out, err = io.StringIO(), io.StringIO()
    saved_environ = dict(os.environ)
    root = logging.getLogger()
    saved_logging = (root.handlers[:], root.level)
    os.environ.update(env or {})
    try:
        with contextlib.chdir(cwd or Path.cwd()), redirect_stdout(out), redirect_stderr(err):
            try:
                code = cli.main(list(args))
            except SystemExit as exit:  # argparse: --help, usage errors
                code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        root.handlers[:], root.level = saved_logging
    return subprocess.CompletedProcess([PAPERFEED, *args], code, out.getvalue(), err.getvalue())


def serve_file(httpserver, path: str, name: str, etag: str = '"v1"') -> list[Request]:
    """Serve a fixture with validators; record every request; answer 304 when they match."""
    seen: list[Request] = []
    body = parser_fixture(f"cases/{name}").read_bytes()

    def handler(request: Request) -> Response:
        seen.append(request)
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304)
        return Response(
            body, headers={"ETag": etag, "Last-Modified": "Tue, 12 Mar 2024 00:00:00 GMT"}
        )

    httpserver.expect_request(path).respond_with_handler(handler)
    return seen


# ---- query and paper strategies (hypothesis), with a plain reference evaluator ---------
# A query is drawn together with a reference function that says, from the raw text alone,
# whether it matches; the matcher, the prefilter and the text index are checked against it.

WORDS = [
    "resnet",
    "resnets",
    "ResNet",
    "vit",
    "ViTs",
    "image",
    "images",
    "network",
    "networks",
    "self",
    "supervised",
    "diffusion",
    "activity",
    "poincaré",
    "Poincare",
    "model",
    "models",
    "box",
    "boxes",
    "net",
    "learning",
]
SEPARATORS = [" ", " ", "-", ", ", ": ", " (", ") "]

Reference = Callable[[dict[str, str]], bool]


def tokens(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", fold(text))


def contains(sequence: list[str], part: list[str]) -> bool:
    """Is part a run of consecutive items of sequence?"""
    return any(sequence[i : i + len(part)] == part for i in range(len(sequence) - len(part) + 1))


def leaf_ref(words: list[str], prefix: bool, fields: tuple[str, ...]) -> Reference:
    query_tokens = tokens(" ".join(words))
    wanted = [stem(t) for t in query_tokens[:-1]]
    last = query_tokens[-1] if prefix else stem(query_tokens[-1])

    def ref(doc: dict[str, str]) -> bool:
        for name in fields:
            raw = tokens(doc[name])
            stems = [stem(t) for t in raw]
            if prefix:
                # Every word but the last compares stemmed; the last is an unstemmed prefix.
                for start in range(len(raw) - len(wanted)):
                    if stems[start : start + len(wanted)] == wanted and raw[
                        start + len(wanted)
                    ].startswith(last):
                        return True
            elif contains(stems, wanted + [last]):
                return True
        return False

    return ref


@st.composite
def leaves(draw) -> tuple[str, Reference]:  # type: ignore[no-untyped-def]
    count = draw(st.integers(1, 3))
    chosen = [draw(st.sampled_from(WORDS)) for _ in range(count)]
    prefix = draw(st.booleans()) and len(tokens(chosen[-1])[-1]) >= 3
    field = draw(st.sampled_from([None, "title", "abstract"]))
    fields = (field,) if field else ("title", "abstract")
    last = chosen[-1]
    if prefix:
        cut = draw(st.integers(2, len(last)))
        chosen[-1] = last[:cut]
    body = " ".join(chosen) + ("*" if prefix else "")
    text = f'"{body}"' if count > 1 else body
    return (f"{field}:{text}" if field else text), leaf_ref(chosen, prefix, fields)


def combine(children: st.SearchStrategy) -> st.SearchStrategy:  # type: ignore[type-arg]
    def build(parts):  # type: ignore[no-untyped-def]
        op, (a_text, a_ref), (b_text, b_ref) = parts
        if op == "AND":
            return f"({a_text} AND {b_text})", lambda d: a_ref(d) and b_ref(d)
        if op == "OR":
            return f"({a_text} OR {b_text})", lambda d: a_ref(d) or b_ref(d)
        if op == "AND NOT":
            return f"({a_text} AND NOT {b_text})", lambda d: a_ref(d) and not b_ref(d)
        return f"(NOT {a_text})", lambda d: not a_ref(d)

    return st.tuples(st.sampled_from(["AND", "OR", "AND NOT", "NOT"]), children, children).map(
        build
    )


queries = st.recursive(leaves(), combine, max_leaves=6)


@st.composite
def texts(draw) -> str:  # type: ignore[no-untyped-def]
    count = draw(st.integers(0, 12))
    out = ""
    for _ in range(count):
        out += draw(st.sampled_from(WORDS)) + draw(st.sampled_from(SEPARATORS))
    return out


WsgiReply = tuple[str, list[tuple[str, str]], bytes]


def call_environ(wsgi: Any, environ: dict[str, Any]) -> WsgiReply:
    """A WSGI app's status, headers and body for this environ, called as a server calls it."""
    replied: list[Any] = []
    body = b"".join(wsgi(environ, lambda status, head, exc=None: replied.extend([status, head])))
    return replied[0], list(replied[1]), body
