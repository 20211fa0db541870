"""The `paperfeed` command as a user runs it: a real process, real output, exit codes."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import feedparser
import pytest
import requests

from progress import ProgressBars
from settings import load_config
from tests.helpers import LISTINGS, PAPERFEED, free_port, run, serving, toml_sources, wait_for


def test_refresh_then_refresh_again_stores_nothing_new(tmp_path, write_config) -> None:
    config = write_config()
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    first = run("--config", str(config), "--database-url", db, "refresh", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "samples: ok, 431 new" in first.stdout
    assert "431 papers stored" in first.stdout
    second = run("--config", str(config), "--database-url", db, "refresh", cwd=tmp_path)
    assert "samples: not_modified, 0 new, 0 changed" in second.stdout


def test_a_bad_rule_stops_check_with_file_topic_and_column(tmp_path, write_config) -> None:
    config = write_config(topics="[topics.broken]\nquery = 'resnet AND (vit OR'\n")
    result = run("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert "topic 'broken'" in result.stderr
    assert "column 19" in result.stderr


def test_check_prints_what_each_topic_means(tmp_path, write_config) -> None:
    result = run("--config", str(write_config()), "check", cwd=tmp_path)
    assert result.returncode == 0
    assert "topic imagenet-not-medical" in result.stdout
    assert "not (title or abstract contains the word 'medical'" in result.stdout


@pytest.mark.slow
def test_help_lists_commands_and_settings(tmp_path) -> None:
    """Through the installed console script, as a user types it."""
    result = subprocess.run(
        [PAPERFEED, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for word in (
        "serve",
        "refresh",
        "check",
        "preview",
        "explain",
        "migrate",
        "clock",
        "DATABASE_URL",
        "refresh_minutes",
    ):
        assert word in result.stdout


@pytest.mark.slow
def test_serve_on_the_embedded_default_offline_within_seconds(tmp_path) -> None:
    """The README's run command, in an empty folder, with no network and no config."""
    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    env.pop("DATABASE_URL", None)
    env.pop("PAPERFEED_CONFIG", None)
    started = time.monotonic()
    with serving(["serve"], tmp_path, env):
        feed_url = f"http://127.0.0.1:{port}/feeds/residual.rss"
        wait_for(
            lambda: feedparser.parse(requests.get(feed_url, timeout=2).content).entries,
            30,
            "feed items",
        )
        elapsed = time.monotonic() - started
        assert elapsed < 15, f"took {elapsed:.1f} s"
        index = requests.get(f"http://127.0.0.1:{port}/", timeout=5).text
        assert "Residual connections" in index and "/feeds/residual.atom" in index
        assert (tmp_path / "paperfeed.db").exists()


def test_unreachable_sources_show_as_failing_and_the_rest_is_served(tmp_path, write_config) -> None:
    sources = toml_sources(
        {
            "name": "samples",
            "kind": "hf-text",
            "path": str(LISTINGS / "*.txt"),
        },
        {"name": "dead", "kind": "hf-api", "url": "http://127.0.0.1:9/api/daily_papers"},
    )
    config = write_config(sources=sources, service="retries = 0")
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = run("--config", str(config), "--database-url", db, "refresh", cwd=tmp_path)
    assert result.returncode == 0
    assert "dead: error" in result.stdout and "could not connect" in result.stdout
    assert "431 papers stored" in result.stdout


@pytest.fixture
def paperfeed():  # type: ignore[no-untyped-def]
    """The CLI in this process (fast): tests.helpers.run. The real-process tests above and
    below show the same messages end to end."""
    return run


def _one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    """An expected failure: exit 2, no traceback, one or two lines saying what and how."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, result.stderr
    return result.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nonsense", "cannot be used"),
        ("postgres://host:notaport/db", "cannot be used"),
        ("mysql://user@host/db", "cannot be used"),
        ("postgresql://nobody@127.0.0.1:9/db", "Connection refused"),
        ("sqlite:////no/such/folder/paperfeed.db", "folder that does not exist"),
    ],
)
@pytest.mark.parametrize("command", [("refresh",), ("migrate",), ("preview", "resnet")])
def test_a_bad_database_url_is_one_line_and_exit_2(
    paperfeed, tmp_path, write_config, url, says, command
):
    result = paperfeed(
        "--config", str(write_config()), "--database-url", url, *command, cwd=tmp_path
    )
    assert says in _one_line_failure(result)
    assert "DATABASE_URL" in result.stderr or "sqlite:///" in result.stderr


def test_a_real_process_prints_one_line_and_debug_adds_the_traceback(tmp_path, write_config):
    args = ["--config", str(write_config()), "--database-url", "postgres://h:notaport/x"]
    assert "cannot be used" in _one_line_failure(run(*args, "refresh", cwd=tmp_path))
    debug = run(*args, "--debug", "refresh", cwd=tmp_path)
    assert debug.returncode == 2
    assert "Traceback" in debug.stderr and "cannot be used" in debug.stderr


def test_a_missing_postgres_database_is_one_line(paperfeed, tmp_path, write_config, pg_url) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/pf_no_such_database"
    result = paperfeed(
        "--config", str(write_config()), "--database-url", missing, "refresh", cwd=tmp_path
    )
    assert "does not exist" in _one_line_failure(result)


def test_a_busy_port_fails_before_saying_serving(tmp_path, write_config) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve_failing(tmp_path, write_config, str(port), "--port", str(port))
    message = _one_line_failure(result)
    assert f"cannot listen on 127.0.0.1:{port}" in message and "--port" in message
    assert "serving" not in message


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda folder: folder, "is a folder"),
        (lambda folder: folder / "missing.toml", "no such config file"),
        (lambda folder: _write(folder / "bad.toml", "[service\n"), "not valid TOML"),
        (lambda folder: _write(folder / "latin1.toml", b"title = '\xe9'"), "not UTF-8"),
        (
            lambda folder: _write(
                folder / "kind.toml", '[[sources]]\nname = "x"\nkind = "rss"\nurl = "http://a/"\n'
            ),
            "kind 'rss' is not one of",
        ),
        (
            lambda folder: _write(
                folder / "nul.toml",
                '[[sources]]\nname = "x"\nkind = "feed"\npath = "a\\u0000b.xml"\n',
            ),
            "path must be a file path",
        ),
    ],
)
def test_config_mistakes_are_one_line_and_exit_2(paperfeed, tmp_path, make, says) -> None:
    config = make(tmp_path)
    for command in ("check", "refresh"):
        assert says in _one_line_failure(paperfeed("--config", str(config), command, cwd=tmp_path))


def test_an_unreadable_config_is_one_line(paperfeed, tmp_path, monkeypatch) -> None:
    config = _write(tmp_path / "secret.toml", "")
    config.chmod(0)
    if os.geteuid() == 0:  # root reads any file: refuse the read as the OS would for others
        real_read = Path.read_text

        def refuse(path: Path, *args: object, **kwargs: object) -> str:
            if path == config:
                raise PermissionError(13, "Permission denied", str(path))
            return real_read(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "read_text", refuse)
    result = paperfeed("--config", str(config), "check")
    assert "cannot be read (permission denied)" in _one_line_failure(result)


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def test_check_reports_every_mistake_in_one_run(paperfeed, tmp_path) -> None:
    config = _write(
        tmp_path / "paperfeed.toml",
        """
[service]
refresh_minuts = 5

[[sources]]
name = "papers"
kind = "hf-text"
path = "listings/*.txt"

[[sources]]
name = "papers"
kind = "feed"
url = "https://example.org/feed.xml"
every = 5

[topic.typo]
query = "resnet"

[topics.ok]
query = "resnet"
titel = "ResNets"

[topics.broken]
query = "resnet AND (vit OR"
""",
    )
    result = paperfeed("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for expected in (
        "7 config errors",
        "listings/*.txt matches no file",  # said now, not once the rest is fixed
        "unknown setting 'refresh_minuts'",
        "unknown keys every",
        "2 sources are named 'papers'",
        "unknown table or key 'topic'",
        "unknown keys titel",
        "topic 'broken', column 19",
    ):
        assert expected in result.stderr, expected


def test_check_catches_paths_that_match_nothing_and_empty_configs(paperfeed, tmp_path) -> None:
    config = _write(
        tmp_path / "paperfeed.toml",
        '[[sources]]\nname = "mine"\nkind = "hf-text"\npath = "nowhere/*.txt"\n',
    )
    result = paperfeed("--config", str(config), "check", cwd=tmp_path)
    message = result.stderr
    assert result.returncode == 2
    assert f"path {tmp_path / 'nowhere' / '*.txt'} matches no file" in message
    assert "no [topics.NAME]" in message
    empty = _write(tmp_path / "empty.toml", "")
    result = paperfeed("--config", str(empty), "check", cwd=tmp_path)
    assert result.returncode == 2
    assert "no [[sources]]" in result.stderr and "no [topics.NAME]" in result.stderr


def test_check_hints_at_lower_case_operators(paperfeed, tmp_path, write_config) -> None:
    """A hint is a problem too: a deploy script that runs check stops on it."""
    config = write_config(topics="[topics.diffusion]\nquery = 'diffusion and not medical'\n")
    result = paperfeed("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2
    assert "column 11: 'and' is searched as a word; did you mean AND?" in result.stdout
    assert "column 15: 'not' is searched as a word; did you mean NOT?" in result.stdout
    assert "2 config errors" in result.stderr
    assert "topic 'diffusion', column 11: 'and' is searched as a word" in result.stderr


def test_check_hints_at_lower_case_operators_beside_other_mistakes(paperfeed, tmp_path) -> None:
    config = _write(
        tmp_path / "paperfeed.toml",
        "[service]\nrefresh_minute = 5\n\n[topics.t]\nquery = 'resnet and vit'\n",
    )
    result = paperfeed("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown setting 'refresh_minute' (did you mean 'refresh_minutes'?)" in result.stderr
    assert "topic 't', column 8: 'and' is searched as a word; did you mean AND?" in result.stderr


def test_a_mistyped_setting_variable_is_refused_with_the_right_name(
    paperfeed, tmp_path, write_config
) -> None:
    config = str(write_config())
    result = paperfeed("--config", config, "check", cwd=tmp_path, env={"PAPERFEED_FEED_ITEM": "9"})
    assert result.returncode == 2
    assert "$PAPERFEED_FEED_ITEM is not a setting; did you mean $PAPERFEED_FEED_ITEMS?" in (
        result.stderr
    )
    # A variable that resembles no setting is another program's: left alone.
    other = paperfeed("--config", config, "check", cwd=tmp_path, env={"PAPERFEED_XYZ": "1"})
    assert other.returncode == 0, other.stderr


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("every_minutes = -1", "every_minutes = -1 must be more than 0"),
        ("every_minutes = nan", "every_minutes = nan is not a number of minutes"),
        ("every_minutes = inf", "every_minutes = inf is not a number of minutes"),
        ('enabled = "false"', "enabled = 'false' must be true or false"),
        ("days = 0", "days = 0 must be a whole number from 1 to 366"),
    ],
)
def test_impossible_source_values_are_refused_with_file_and_source(
    paperfeed, tmp_path, line: str, says: str
) -> None:
    config = _write(
        tmp_path / "paperfeed.toml",
        f'[[sources]]\nname = "s"\nkind = "feed"\nurl = "https://example.org/f"\n{line}\n',
    )
    result = paperfeed("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2
    assert f"{config}: source 's': {says}" in result.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_an_interval_that_is_not_a_finite_number_is_refused(paperfeed, tmp_path, value) -> None:
    config = _write(tmp_path / "paperfeed.toml", f"[service]\nrefresh_minutes = {value}\n")
    result = paperfeed("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2 and "refresh_minutes" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_relative_sqlite_path_in_a_config_is_next_to_the_file(
    paperfeed, tmp_path, write_config
) -> None:
    config = write_config(service='database_url = "sqlite:///store/papers.db"')
    (tmp_path / "store").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = paperfeed("--config", str(config), "refresh", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "store" / "papers.db").exists()
    assert not list(elsewhere.iterdir())
    preview = paperfeed("--config", str(config), "preview", "resnet", cwd=tmp_path / "store")
    assert "of 431 stored papers match" in preview.stdout


def test_explain_takes_a_title_fragment_and_says_what_excluded_a_paper(
    paperfeed, tmp_path, write_config
) -> None:
    config = write_config()
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert (
        paperfeed("--config", str(config), "--database-url", db, "refresh", cwd=tmp_path).returncode
        == 0
    )
    matched = paperfeed(
        "--config",
        str(config),
        "--database-url",
        db,
        "explain",
        "imagenet",
        "Deep Residual Learning",
        cwd=tmp_path,
    )
    assert matched.returncode == 0, matched.stderr
    assert "matched: imagenet (abstract)" in matched.stdout
    excluded = paperfeed(
        "--config",
        str(config),
        "--database-url",
        db,
        "explain",
        "imagenet AND NOT residual",
        "Deep Residual Learning",
        cwd=tmp_path,
    )
    assert excluded.returncode == 1
    assert "does not match" in excluded.stdout
    assert "excluded by NOT" in excluded.stdout and "residual (title)" in excluded.stdout
    several = paperfeed(
        "--config", str(config), "--database-url", db, "explain", "residual", "the", cwd=tmp_path
    )
    assert several.returncode == 2 and "in several titles" in several.stderr
    assert "Traceback" not in several.stderr


def test_refresh_prints_plain_progress_lines_for_long_steps_off_a_terminal() -> None:
    out = io.StringIO()
    bars = ProgressBars(out, terminal=False)
    for done in range(0, 5001):
        bars("re-matching stored papers", done, 5000)
    bars("migrating the database", 0, 3)
    lines = out.getvalue().splitlines()
    assert lines[0] == "re-matching stored papers: 0/5000"
    assert lines[-1] == "re-matching stored papers: 5000/5000"
    assert len(lines) == 11  # the start and every tenth; short tasks stay quiet


def test_a_task_of_unknown_size_prints_a_count_then_its_total() -> None:
    out = io.StringIO()
    bars = ProgressBars(out, terminal=False)
    for done in range(0, 25_001, 500):  # a listing streamed to the store, 500 a batch
        bars("samples: storing papers", done, None)
    bars("samples: storing papers", 25_000, 25_000)
    assert out.getvalue().splitlines() == [
        "samples: storing papers: 10000",
        "samples: storing papers: 20000",
        "samples: storing papers: 25000/25000",
    ]


@pytest.mark.parametrize(
    "url", ["postgresql://reader:s3cret@127.0.0.1:9/db", "postgres://reader:s3cret@host:port/db"]
)
def test_database_messages_never_show_the_password(paperfeed, tmp_path, write_config, url):
    result = paperfeed("--config", str(write_config()), "--database-url", url, "refresh")
    message = _one_line_failure(result)
    assert "s3cret" not in message and "reader:***@" in message


def test_a_relative_sqlite_url_with_a_driver_is_next_to_the_file_too(write_config) -> None:
    config = load_config(write_config(service='database_url = "sqlite+pysqlite:///db/x.db"'))
    assert config.database_url == f"sqlite+pysqlite:///{config.path.parent / 'db' / 'x.db'}"


@pytest.mark.slow
def test_a_reload_signal_serves_the_edited_config(tmp_path, write_config) -> None:
    """README: after editing the config, `kill -HUP <pid of paperfeed serve>` applies it."""
    config = write_config()
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    index = f"http://127.0.0.1:{port}/"
    with serving(["--config", str(config), "serve"], tmp_path, env) as process:
        wait_for(lambda: "Residual connections" in requests.get(index, timeout=2).text, 30, "up")
        config.write_text(config.read_text().replace("Residual connections", "Skip paths"))
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: "Skip paths" in requests.get(index, timeout=2).text, 30, "reload")


def test_settings_that_make_no_sense_are_refused_all_at_once(paperfeed, tmp_path) -> None:
    config = _write(
        tmp_path / "paperfeed.toml",
        "[service]\nfeed_items = -5\nmax_feed_items = 0\nrefresh_minutes = 0\n",
    )
    result = paperfeed("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for problem in (
        "feed_items = -5 is below 1",
        "max_feed_items = 0 is below 1",
        "refresh_minutes",
    ):
        assert problem in result.stderr, problem


def test_a_default_feed_larger_than_the_largest_is_refused(paperfeed, tmp_path) -> None:
    config = _write(tmp_path / "paperfeed.toml", "[service]\nfeed_items = 600\n")
    result = paperfeed("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2 and "more than max_feed_items = 500" in result.stderr


@pytest.mark.parametrize("port", ["99999", "0", "²"])
def test_a_port_out_of_range_is_one_line(tmp_path, write_config, port: str) -> None:
    result = serve_failing(tmp_path, write_config, port)
    assert "is not a port number" in _one_line_failure(result)
    given = serve_failing(tmp_path, write_config, "8000", "--port", port)
    assert "is not a port number" in _one_line_failure(given)


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_impossible_workers_are_one_line(tmp_path, write_config, workers: str) -> None:
    result = serve_failing(tmp_path, write_config, "8000", "--workers", workers)
    assert "is not a number of workers" in _one_line_failure(result)


def test_port_given_wins_over_the_environment(tmp_path, write_config) -> None:
    """--port N is what the user typed just now; $PORT may be left over from elsewhere."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        result = serve_failing(tmp_path, write_config, str(free_port()), "--port", str(busy))
    assert f"cannot listen on 127.0.0.1:{busy}" in _one_line_failure(result)


def serve_failing(tmp_path, write_config, port: str, *options: str):  # type: ignore[no-untyped-def]
    """`paperfeed serve` with PORT=port, expected to stop before serving."""
    db = f"sqlite:///{tmp_path / 'x.db'}"
    config = str(write_config())
    return run(
        "--config",
        config,
        "--database-url",
        db,
        "serve",
        *options,
        cwd=tmp_path,
        env={"PORT": port},
    )


def test_explain_says_when_a_rule_looks_like_a_mistyped_topic(tmp_path, write_config) -> None:
    result = run("--config", str(write_config()), "explain", "imagenet-not-medicl", cwd=tmp_path)
    assert "no topic 'imagenet-not-medicl'" in result.stderr
    assert "did you mean 'imagenet-not-medical'?" in result.stderr


@pytest.mark.slow
def test_preview_into_a_reader_that_stops_early_exits_without_a_traceback(
    tmp_path, write_config
) -> None:  # type: ignore[no-untyped-def]
    """`paperfeed preview network | head -1`: the pipe closes; one quiet exit."""
    config = write_config()
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert (
        run("--config", str(config), "--database-url", db, "refresh", cwd=tmp_path).returncode == 0
    )
    command = [PAPERFEED, "--config", str(config), "--database-url", db, "preview", "network"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path
    ) as preview:
        assert preview.stdout is not None and preview.stderr is not None
        preview.stdout.readline()
        preview.stdout.close()  # the reader stops, as head does
        errors = preview.stderr.read().decode()
    assert preview.returncode == 1 and "Traceback" not in errors, errors


def test_refresh_of_a_source_that_is_not_there_is_one_line_and_exit_2(
    tmp_path, write_config
) -> None:
    config = write_config()
    result = run("--config", str(config), "refresh", "--source", "nosuch", cwd=tmp_path)
    assert result.returncode == 2
    assert "no enabled source named 'nosuch'" in result.stderr and "samples" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_source_path_that_matches_the_store_never_reads_the_database(tmp_path) -> None:
    """Reading the store's file would close a descriptor of it, dropping SQLite's locks."""
    (tmp_path / "paperfeed.toml").write_text(
        "[service]\ndatabase_url = 'sqlite:///store.db'\n\n"
        + toml_sources({"name": "everything", "kind": "feed", "path": "*"})
    )
    result = run("--config", str(tmp_path / "paperfeed.toml"), "refresh", cwd=tmp_path)
    assert "the store's own database file; not read" in result.stdout
    assert "store.db-wal" in result.stdout or "store.db:" in result.stdout


def test_check_names_a_like_id_the_store_does_not_hold(paperfeed, tmp_path, write_config) -> None:
    """A like / unlike id of a topic is looked up in the store: an unknown one is a
    one-line error naming the file, the topic and the id; a stored one passes. A store
    that is not there yet or empty says the ids were not checked, and check passes (a new
    deployment runs it before its first refresh)."""
    from store import Store

    def topics(like: str, unlike: str = "") -> str:
        return f"[topics.splat]\nquery = 'splatting'\nlike = [{like}]\n" + (
            f"unlike = [{unlike}]\n" if unlike else ""
        )

    config = write_config(topics=topics('"2401.99999"'))
    db = tmp_path / "like.db"
    url = f"sqlite:///{db}"

    def check() -> subprocess.CompletedProcess[str]:
        return paperfeed("--config", str(config), "--database-url", url, "check", cwd=tmp_path)

    missing = check()
    assert missing.returncode == 0, missing.stderr
    assert f"like / unlike ids not checked: the store {url} does not exist yet" in missing.stdout
    assert not db.exists()  # check makes no store
    assert paperfeed("--database-url", url, "migrate", cwd=tmp_path).returncode == 0
    empty = check()
    assert empty.returncode == 0 and f"the store {url} is empty" in empty.stdout
    refreshed = paperfeed("--config", str(config), "--database-url", url, "refresh", cwd=tmp_path)
    assert refreshed.returncode == 0, refreshed.stderr
    store = Store(url)
    stored = store.find_papers_by_title("PreF3R")[0].guid
    store.dispose()
    write_config(topics=topics(f'"{stored}", "2401.99999"'))
    failure = _one_line_failure(check())
    assert str(config) in failure and "topic 'splat'" in failure
    assert "like id '2401.99999' is not a paper in the store" in failure
    assert stored not in failure  # a stored paper passes
    write_config(topics=topics(f'"{stored}"', '"9999.00001"'))
    assert "unlike id '9999.00001'" in _one_line_failure(check())
    write_config(topics=topics(f'"{stored}"'))
    fine = check()
    assert fine.returncode == 0, fine.stderr
    assert "not checked" not in fine.stdout
