"""rss2email, the real client, mails each item from "First Author et al."."""

from __future__ import annotations

import configparser
import email
import email.policy
import email.utils
import subprocess
from pathlib import Path

import pytest

from tests.helpers import live_server, need_tool, refresh, rich_sources

TOPICS = """
[topics.residual]
title = "Residual learning"
query = '"residual learning"'
"""


@pytest.mark.slow
def test_rss2email_names_the_first_author_et_al_as_sender(tmp_path: Path, make_app) -> None:  # type: ignore[no-untyped-def]
    r2e = need_tool("r2e")
    mailbox = tmp_path / "mailbox"
    mailbox.mkdir()
    sendmail = tmp_path / "sendmail"
    # A sendmail that keeps each message in a file of its own.
    sendmail.write_text(f'#!/bin/sh\ncat > "$(mktemp {mailbox}/mail.XXXXXX)"\n')
    sendmail.chmod(0o755)
    config = tmp_path / "paperfeed.toml"
    config.write_text(f"{rich_sources()}\n\n{TOPICS}")
    app = make_app(config)
    refresh(app)
    settings, data = tmp_path / "r2e.cfg", tmp_path / "r2e.json"

    def run(*args: str) -> None:
        subprocess.run(
            [r2e, "-c", str(settings), "-d", str(data), *args],
            check=True,
            capture_output=True,
            timeout=120,
            env={"HOME": str(tmp_path)},
        )

    with live_server(app) as base:
        run("new", "reader@example.com")  # writes the config: then send through ours
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(settings)
        parser["DEFAULT"].update({"email-protocol": "sendmail", "sendmail": str(sendmail)})
        with settings.open("w") as file:
            parser.write(file)
        run("add", "residual", f"{base}/feeds/residual.rss")
        run("run")
    senders = {}
    for path in mailbox.iterdir():
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        name, _ = email.utils.parseaddr(str(message["From"]))
        senders[str(message["Subject"])] = name
    assert senders["Deep Residual Learning for Image Recognition"].endswith(": Kaiming He et al.")
