"""Serving publicly needs a canonical host: without base_url or allowed_hosts every client's
Host header makes its own links and cache entries, so `paperfeed serve` and gunicorn (the
Procfile binds 0.0.0.0) refuse an address other than loopback in one line; the laptop
default (127.0.0.1, neither set) serves as before, and the one-click deploy asks for it."""

from __future__ import annotations

import json
import logging
import os
import runpy
import subprocess
import time
from types import SimpleNamespace

import pytest

from settings import ConfigError, load_config, require_canonical_host
from tests.helpers import ROOT, free_port, public_bind_env, run, start_gunicorn

REFUSED = "refusing to serve on"


@pytest.mark.parametrize(
    ("bind", "public"),
    [
        ("0.0.0.0:8000", True),
        ("[::]:8000", True),
        ("10.1.2.3:80", True),
        ("example.org:8000", True),
        ("127.0.0.1:8000", False),
        ("127.0.0.2:8000", False),
        ("localhost:8000", False),
        ("[::1]:8000", False),
        ("unix:/run/paperfeed.sock", False),
    ],
)
def test_only_loopback_serves_without_a_canonical_host(config_for, bind: str, public) -> None:
    config = config_for()
    if public:
        with pytest.raises(ConfigError, match=REFUSED):
            require_canonical_host(config, [bind])
    else:
        require_canonical_host(config, [bind])
    require_canonical_host(config_for(base_url="https://papers.example"), [bind])
    require_canonical_host(config_for(allowed_hosts="papers.example"), [bind])


@pytest.fixture
def exec_blocked(monkeypatch):  # type: ignore[no-untyped-def]
    """`paperfeed serve` in this process, stopped where it would become gunicorn (exit 99)."""

    def would_serve(*args: object) -> None:
        raise SystemExit(99)

    monkeypatch.setattr(os, "execvpe", would_serve)
    for name in ("PAPERFEED_BASE_URL", "PAPERFEED_ALLOWED_HOSTS", "HOST"):
        monkeypatch.delenv(name, raising=False)


def _serve(tmp_path, write_config, *options: str, **env: str):  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'x.db'}"
    config = str(write_config())
    environ = {"PORT": str(free_port()), **env}
    return run(
        "--config", config, "--database-url", db, "serve", *options, cwd=tmp_path, env=environ
    )


def test_serve_refuses_a_public_address_without_base_url_in_one_line(
    tmp_path, write_config, exec_blocked
) -> None:
    for result in (
        _serve(tmp_path, write_config, "--host", "0.0.0.0"),
        _serve(tmp_path, write_config, HOST="0.0.0.0"),
    ):
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and REFUSED in lines[0] and "PAPERFEED_BASE_URL" in lines[0]


def test_serve_on_loopback_or_with_base_url_goes_on(tmp_path, write_config, exec_blocked) -> None:
    assert _serve(tmp_path, write_config).returncode == 99  # the laptop default
    public = _serve(
        tmp_path, write_config, "--host", "0.0.0.0", PAPERFEED_BASE_URL="https://papers.example"
    )
    assert public.returncode == 99, public.stderr


@pytest.fixture
def master_environ(monkeypatch):  # type: ignore[no-untyped-def]
    """gunicorn.conf.py's hooks write the master's environment (the checked config, who
    migrates): here that is the test process's, so each such variable is put back after."""
    for name in (
        "PAPERFEED_MASTER_MIGRATES",
        "PAPERFEED_MIGRATED",
        "PAPERFEED_CHECKED_CONFIG_PATH",
        "PAPERFEED_CHECKED_CONFIG_TEXT",
    ):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.slow
def test_gunicorn_refuses_a_public_bind_before_binding(
    write_config, monkeypatch, master_environ
) -> None:
    monkeypatch.setenv("PAPERFEED_CONFIG", str(write_config()))
    for name in ("PAPERFEED_BASE_URL", "PAPERFEED_ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    on_starting = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["on_starting"]

    monkeypatch.setenv("PAPERFEED_MIGRATED", "1")  # paperfeed serve's way: no migration here

    def server(*binds: str) -> SimpleNamespace:
        log = logging.getLogger("gunicorn.error")
        return SimpleNamespace(cfg=SimpleNamespace(bind=list(binds)), log=log)

    with pytest.raises(SystemExit, match=f"paperfeed: {REFUSED} 0.0.0.0:8000"):
        on_starting(server("127.0.0.1:8001", "0.0.0.0:8000"))
    on_starting(server("127.0.0.1:8000"))
    monkeypatch.setenv("PAPERFEED_MIGRATED", "1")  # on_starting took it
    monkeypatch.setenv("PAPERFEED_ALLOWED_HOSTS", "papers.example")
    on_starting(server("0.0.0.0:8000"))


def test_the_one_click_deploy_asks_for_the_base_url() -> None:
    variable = json.loads((ROOT / "app.json").read_text())["env"]["PAPERFEED_BASE_URL"]
    assert variable["required"] is True and "https://" in variable["description"]
    assert "value" not in variable  # no default a deploy could keep by mistake
    assert load_config(environ={"PAPERFEED_BASE_URL": "https://x.example"}).base_url


@pytest.mark.slow
def test_the_procfile_web_process_stops_in_one_line_without_base_url(
    tmp_path, write_config
) -> None:
    env = public_bind_env(write_config(), tmp_path / "p.db")
    with (tmp_path / "web.log").open("wb") as log:
        web = start_gunicorn(env, log)
        started = time.monotonic()
        try:
            code = web.wait(timeout=30)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait()
            pytest.fail("gunicorn served on 0.0.0.0 without base_url or allowed_hosts")
    output = (tmp_path / "web.log").read_text()
    assert code != 0 and time.monotonic() - started < 15
    assert [line for line in output.splitlines() if REFUSED in line] == [
        f"paperfeed: {REFUSED} 0.0.0.0:{env['PORT']} without base_url or allowed_hosts "
        "(links would follow any client's Host header): set "
        "PAPERFEED_BASE_URL=https://your.host (or PAPERFEED_ALLOWED_HOSTS), or bind "
        "127.0.0.1 (HOST=127.0.0.1)"
    ]
    assert not (tmp_path / "p.db").exists()  # stopped before any worker opened the store


@pytest.mark.slow
@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ('database_url = "mysql://u@h/x"', "MySQLdb"),
        ('database_url = "paperfeed.db"', "cannot be served"),
        ('log_level = "verbose"', "VERBOSE"),
    ],
)
def test_the_master_refuses_a_config_a_worker_could_not_boot_on(
    tmp_path, monkeypatch, master_environ, setting: str, says: str
) -> None:
    """A reload with such a mistake keeps the last good config instead of letting the new
    workers fail to boot (which stops gunicorn's master, and the service with it)."""
    config = tmp_path / "paperfeed.toml"
    config.write_text(f"[service]\n{setting}\n\n[topics.t]\nquery = 'x'\n")
    monkeypatch.setenv("PAPERFEED_CONFIG", str(config))
    adopt = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["_adopt_checked_config"]
    server = SimpleNamespace(cfg=SimpleNamespace(bind=["127.0.0.1:8000"]))
    mistake = adopt(server)
    assert mistake and says in mistake, mistake
