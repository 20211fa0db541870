"""The `paperfeed` command as a user runs it: a real process, real output, exit codes."""

from __future__ import annotations

import os
import subprocess
import time

import feedparser
import pytest
import requests

from tests.helpers import LISTINGS, PAPERFEED, free_port, run, toml_sources, wait_for


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
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [PAPERFEED, "serve"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
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
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


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
