"""Digests by e-mail: `paperfeed digest-mail` sends each [email] topic's digest of the last
complete period to a real SMTP server (aiosmtpd, on loopback), as text and HTML with the
period's papers; a period is mailed once, an empty one not at all; bad [email] settings
are one-line errors."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

import parsing
from settings import ConfigError, load_config
from tests.helpers import LISTINGS, free_port, run

TOPICS = """
[topics.every]
title = "Everything"
query = '*'

[topics.quiet]
query = 'xylophonist'
"""


def email_table(smtp_port: int, **keys: str) -> str:
    table = {
        "host": '"127.0.0.1"',
        "port": str(smtp_port),
        "security": '"none"',
        "from": '"paperfeed@example.org"',
        "to": '["reader@example.org", "second@example.org"]',
        "topics": '["every"]',
        "period": '"day"',
        **keys,
    }
    return "\n[email]\n" + "\n".join(f"{k} = {v}" for k, v in table.items() if v) + "\n"


class Inbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def mailing(make_app, write_config, database_url, smtp):  # type: ignore[no-untyped-def]
    """A store whose topic "every" got 12 papers yesterday and 5 today, and a config that
    mails its daily digest to the local SMTP server."""
    inbox, port = smtp
    config = write_config(
        topics=TOPICS + email_table(port), service='base_url = "https://feeds.example.org"'
    )
    app = make_app(config)
    svc = app.extensions["paperfeed"]
    svc.refresher.sync_topics()
    papers = parsing.parse("hf-text", (LISTINGS / "000_0937d812811fcc18.txt").read_bytes()).papers
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for batch, when in ((papers[:12], today - timedelta(hours=12)), (papers[12:17], today)):
        svc.store.upsert(batch, "test", now=when, topics=svc.refresher.topics)
    yield config, database_url, inbox, papers, today
    svc.close()


def mail(config: Path, url: str, *args: str):  # type: ignore[no-untyped-def]
    return run("--config", str(config), "--database-url", url, "digest-mail", *args)


def test_the_last_complete_day_is_mailed_once_as_text_and_html(mailing) -> None:
    config, url, inbox, papers, today = mailing
    yesterday = (today - timedelta(days=1)).date().isoformat()
    done = mail(config, url)
    assert done.returncode == 0, done.stderr
    assert f"every: mailed {yesterday}" in done.stdout
    assert len(inbox.received) == 1
    sender, recipients, message = inbox.received[0]
    assert sender == "paperfeed@example.org"
    assert recipients == ["reader@example.org", "second@example.org"]
    assert message["From"] == "paperfeed@example.org"
    assert message["To"] == "reader@example.org, second@example.org"
    assert message["Subject"].startswith("Everything — paperfeed: 12 papers, ")
    assert yesterday in message["Subject"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    # The period's 12 papers, and not today's 5 (today is not over).
    for paper in papers[:12]:
        assert paper.title.split()[0] in text
    for paper in papers[12:17]:
        assert paper.title not in text and paper.title not in page
    assert text.count("\n   ") >= 12  # each paper has its lines under its number
    assert page.count("<li>") == 12
    assert f"https://feeds.example.org/topics/every?since={yesterday}" in page
    assert message["X-Paperfeed-Digest"] == f"urn:paperfeed:digest:every:{yesterday}"

    again = mail(config, url)
    assert again.returncode == 0, again.stderr
    assert len(inbox.received) == 1  # the period was mailed already
    assert f"{yesterday} was mailed already" in again.stdout


def test_the_mail_is_the_digest_feed_s_item(mailing, make_app) -> None:  # type: ignore[no-untyped-def]
    """One behaviour in one place: the mail's HTML holds the day's feed item as it is."""
    config, url, inbox, _, today = mailing
    yesterday = (today - timedelta(days=1)).date().isoformat()
    assert mail(config, url).returncode == 0
    page = inbox.received[0][2].get_body(("html",)).get_content()
    client = make_app(config, base_url="https://feeds.example.org").test_client()
    feed = json.loads(client.get("/feeds/every.json?digest=day").data)
    item = next(i for i in feed["items"] if i["id"].endswith(yesterday))
    assert item["content_html"] in page
    text = inbox.received[0][2].get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert item["content_text"] in text


def test_an_empty_period_sends_nothing_and_dry_run_sends_and_remembers_nothing(
    mailing,
) -> None:
    config, url, inbox, _, today = mailing
    config.write_text(
        config.read_text().replace('topics = ["every"]', 'topics = ["every", "quiet"]')
    )
    dry = mail(config, url, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Subject: Everything — paperfeed: 12 papers" in dry.stdout
    assert "quiet: nothing to send: no paper entered it" in dry.stdout
    assert inbox.received == []
    done = mail(config, url, "--topic", "quiet")
    assert done.returncode == 0, done.stderr
    assert inbox.received == []
    assert mail(config, url, "--topic", "every").returncode == 0  # dry run remembered nothing
    assert len(inbox.received) == 1


def test_unknown_topic_and_unreachable_server_are_one_line_errors(mailing) -> None:
    config, url, inbox, _, _ = mailing
    wrong = mail(config, url, "--topic", "evrey")
    assert wrong.returncode == 2
    assert wrong.stderr.strip().count("\n") == 0
    assert "did you mean 'every'?" in wrong.stderr
    closed = free_port()
    config.write_text(
        config.read_text().replace(f"port = {inbox_port(config)}", f"port = {closed}")
    )
    down = mail(config, url)
    assert down.returncode == 2
    assert down.stderr.startswith(f"paperfeed: mail server 127.0.0.1:{closed}: ")
    assert down.stderr.strip().count("\n") == 0
    assert inbox.received == []


def inbox_port(config: Path) -> int:
    line = next(x for x in config.read_text().splitlines() if x.startswith("port = "))
    return int(line.split("=")[1])


def test_without_an_email_table_nothing_is_mailed(write_config, database_url) -> None:  # type: ignore[no-untyped-def]
    config = write_config(topics=TOPICS)
    assert load_config(config).email is None
    off = write_config(topics=TOPICS + email_table(25, enabled="false"))
    assert load_config(off).email is None
    done = mail(off, database_url)
    assert done.returncode == 2
    assert "no [email] table" in done.stderr


@pytest.mark.parametrize(
    ("keys", "said"),
    [
        ({"topcs": '["every"]'}, "unknown keys topcs (did you mean 'topcs' -> 'topics'?)"),
        ({"topics": '["evrey"]'}, "topics: no topic 'evrey' (did you mean 'every'?)"),
        ({"security": '"tls"'}, "security = 'tls' is not one of starttls, ssl, none"),
        ({"period": '"month"'}, 'period is "day" or "week", not \'month\''),
        ({"to": '"nobody"'}, "to is a list of addresses"),
        ({"port": "0"}, "port = 0 must be a whole number from 1 to 65535"),
        (
            {"username": '"me"', "password_env": '"SMTP_SECRET_NOT_SET"'},
            "password_env: $SMTP_SECRET_NOT_SET is not set",
        ),
        ({"username": '"me"'}, "give username and password_env together"),
    ],
)
def test_bad_email_settings_are_one_line_errors(write_config, keys, said) -> None:  # type: ignore[no-untyped-def]
    if "topcs" in keys:
        keys = {"topics": "", **keys}
    config = write_config(
        topics=TOPICS + email_table(2525, **keys), service='base_url = "https://x.example"'
    )
    with pytest.raises(ConfigError) as raised:
        load_config(config, environ={})
    assert len(raised.value.problems) == 1, raised.value.problems
    assert str(raised.value).startswith(f"{config}: [email]: {said}")


def test_the_password_comes_from_the_environment_and_is_never_shown(write_config) -> None:  # type: ignore[no-untyped-def]
    config = write_config(
        topics=TOPICS + email_table(2525, username='"me"', password_env='"SMTP_PASSWORD"'),
        service='base_url = "https://x.example"',
    )
    loaded = load_config(config, environ={"SMTP_PASSWORD": "hunter2-secret"})
    assert loaded.email is not None and loaded.email.password == "hunter2-secret"
    assert "hunter2" not in repr(loaded)
    assert "hunter2" not in config.read_text()


def test_mail_links_need_base_url(write_config) -> None:  # type: ignore[no-untyped-def]
    config = write_config(topics=TOPICS + email_table(2525))
    with pytest.raises(ConfigError, match=r"\[email\]: needs base_url"):
        load_config(config, environ={})
