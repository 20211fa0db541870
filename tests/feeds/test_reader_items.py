"""One paper as real readers show it: its own date and its arXiv link (newsboat, rss2email,
feedparser). The item content comes from feeds/items.py."""

from __future__ import annotations

import configparser
import email
import email.header
import email.message
import json
import re
import sqlite3
import subprocess
from pathlib import Path

import feedparser
import pytest
import requests

from tests.helpers import live_server, need_tool, newsboat_reload, refresh, rich_sources

ARXIV_ABS = "https://arxiv.org/abs/1512.03385"
TITLE = "Deep Residual Learning for Image Recognition"
# The paper's own date (arXiv, 10 December 2015), in any of the usual spellings.
PAPER_DATE = re.compile(r"2015-12-10|10 Dec(ember)?,? 2015|Dec(ember)? 10,? 2015")
TOPIC = "[topics.residual]\nquery = '\"residual learning\" OR resnet*'\n"


@pytest.fixture
def server(make_app, write_config):  # type: ignore[no-untyped-def]
    app = make_app(write_config(sources=rich_sources(), topics=TOPIC))
    refresh(app)
    with live_server(app) as base:
        yield base
    app.extensions["paperfeed"].store.dispose()


@pytest.mark.slow
def test_newsboat_shows_the_paper_date_and_the_arxiv_link(server, tmp_path: Path) -> None:
    cache = newsboat_reload(tmp_path / "newsboat", f"{server}/feeds/residual.rss")
    with sqlite3.connect(cache) as db:
        url, content = db.execute(
            "SELECT url, content FROM rss_item WHERE title = ?", (TITLE,)
        ).fetchone()
    assert url == ARXIV_ABS or ARXIV_ABS in content
    assert PAPER_DATE.search(content), content[:500]


@pytest.mark.slow
def test_rss2email_mails_the_paper_date_and_the_arxiv_link(server, tmp_path: Path) -> None:
    r2e = need_tool("r2e")
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    sendmail = tmp_path / "sendmail"
    sendmail.write_text(f'#!/bin/sh\ncat > "$(mktemp -p {outbox})"\n')
    sendmail.chmod(0o755)
    config, data = tmp_path / "r2e.cfg", tmp_path / "r2e.json"
    base = [r2e, "-c", str(config), "-d", str(data)]

    def r2e_run(*command: str) -> None:
        result = subprocess.run(base + list(command), capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr

    r2e_run("new", "reader@example.org")
    settings = configparser.ConfigParser(interpolation=None)
    settings.read(config)
    settings["DEFAULT"].update(
        {"email-protocol": "sendmail", "sendmail": str(sendmail), "html-mail": "False"}
    )
    with config.open("w") as handle:
        settings.write(handle)
    r2e_run("add", "residual", f"{server}/feeds/residual.rss")
    r2e_run("run")
    mails = [email.message_from_bytes(path.read_bytes()) for path in outbox.iterdir()]
    mail = next(m for m in mails if TITLE in _subject(m))
    body = mail.get_payload(decode=True).decode(mail.get_content_charset() or "utf-8")
    assert ARXIV_ABS in body
    assert PAPER_DATE.search(body), body[:500]


def _subject(mail: email.message.Message) -> str:
    return str(email.header.make_header(email.header.decode_header(mail["Subject"])))


@pytest.mark.slow
def test_feedparser_sees_the_paper_date_and_links_in_every_format(server) -> None:
    document = requests.get(f"{server}/feeds/residual.json", timeout=10).json()
    item = next(i for i in document["items"] if i["title"] == TITLE)
    assert item["_paperfeed"]["published"].startswith("2015-12-10")
    assert ARXIV_ABS in json.dumps(item["_paperfeed"]["links"])
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(
            requests.get(f"{server}/feeds/residual.{fmt}", timeout=10).content
        )
        entry = next(e for e in parsed.entries if e.title == TITLE)
        hrefs = {link.get("href") for link in entry.get("links", [])}
        content = " ".join(c.value for c in entry.get("content", [])) + entry.get("summary", "")
        assert ARXIV_ABS in hrefs or ARXIV_ABS in content, fmt
        assert PAPER_DATE.search(content), fmt
