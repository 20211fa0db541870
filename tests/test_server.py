"""The Procfile's web process (server.py, granian): what one client may send, what the access
log keeps, and that a public bind without a canonical host stops it in one line."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

import server
from tests.helpers import ROOT, public_bind_env
from web.limits import MAX_BODY_BYTES


def test_a_body_over_the_limit_is_413_before_any_route(client) -> None:
    big = client.post("/admin/refresh", data=b"x" * (MAX_BODY_BYTES + 1))
    assert big.status_code == 413 and "at most" in big.get_json()["error"]
    assert client.post("/healthz", data=b"x" * 100).status_code == 405  # small: routed


def test_the_access_log_hides_credential_like_query_values() -> None:
    record = logging.LogRecord(
        "granian.access", logging.INFO, __file__, 1, server.ACCESS_FORMAT, None, None
    )
    record.args = {
        "addr": "10.0.0.1",
        "time": "2026-12-02 06:00:00 +0000",
        "method": "GET",
        "path": "/feeds/search.rss",
        "query_string": "q=resnet&api_key=hunter2",
        "protocol": "HTTP/1.1",
        "status": 200,
        "dt_ms": 1.0,
    }
    assert server._redact_access(record)
    line = record.getMessage()
    assert '"GET /feeds/search.rss?q=resnet&api_key=*** HTTP/1.1" 200' in line
    assert "hunter2" not in line


@pytest.mark.parametrize(
    ("host", "bind"), [("0.0.0.0", "0.0.0.0:80"), ("::1", "[::1]:80"), ("::", "[::]:80")]
)
def test_binds_are_written_as_the_canonical_host_check_reads_them(host, bind) -> None:
    assert server.bind_of(host, 80) == bind


@pytest.mark.slow
def test_the_procfile_web_process_stops_in_one_line_without_base_url(
    tmp_path, write_config
) -> None:
    env = public_bind_env(write_config(), tmp_path / "p.db")
    web = (ROOT / "Procfile").read_text().split("web:", 1)[1].splitlines()[0].split()
    assert web == ["python", "-m", "server"]
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "server"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert result.returncode != 0 and time.monotonic() - started < 30
    refused = [line for line in result.stderr.decode().splitlines() if "refusing" in line]
    assert refused == [
        f"paperfeed: refusing to serve on 0.0.0.0:{env['PORT']} without base_url or "
        "allowed_hosts (links would follow any client's Host header): set "
        "PAPERFEED_BASE_URL=https://your.host (or PAPERFEED_ALLOWED_HOSTS), or bind "
        "127.0.0.1 (HOST=127.0.0.1)"
    ]
    assert not (tmp_path / "p.db").exists()  # stopped before any worker opened the store


def test_a_reload_logs_a_broken_config_in_one_line(tmp_path, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    """The master's SIGHUP check of a file with two broken rules: one log line naming the
    file, each topic and column (the rules' echo and carets, which ended the line with
    '^; the workers keep...', stay out)."""
    broken = (ROOT / "samples" / "paperfeed.toml").read_text()
    broken = broken.replace("query = 'upvotes:[20 TO *]'", "query = 'upvotes:[20 TO'")
    broken = broken.replace("query = 'diffusion AND", "query = 'diffusion AND AND")
    path = tmp_path / "paperfeed.toml"
    path.write_text(broken.replace('path = "listings/', f'path = "{ROOT}/samples/listings/'))
    monkeypatch.setenv("PAPERFEED_CONFIG", str(path))
    with caplog.at_level(logging.ERROR):
        server.reload_config([], logging.getLogger("test.reload"))
    [line] = [r.getMessage() for r in caplog.records]
    assert "\n" not in line and "^" not in line, line
    assert "topic 'hf-hot', column 15" in line and "topic 'diffusion'" in line, line
    assert line.endswith("the workers keep the last good config"), line
