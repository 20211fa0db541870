"""Mailed digests ([email] settings): each listed topic's digest of the last complete
period, the same item its ?digest= feed shows (feeds.digest), sent by SMTP.

The store remembers per topic and period kind the last period mailed (the state table),
so a period is mailed once however often this runs; a period with no paper sends nothing.
It is recorded after the server accepted the mail: a failure is retried at the next run."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from email.message import EmailMessage

from feeds import digest
from feeds.mail import digest_message
from settings import Config, EmailConfig
from store import Store
from web.digests import MOST_PAPERS, period_url, topic_info

TIMEOUT = 30.0  # seconds an SMTP server may take to answer


@dataclass(frozen=True)
class Outcome:
    topic: str
    period: digest.Period
    message: EmailMessage | None  # None: the period had no paper, or was mailed already
    why: str


def last_complete(kind: str, now: datetime) -> digest.Period:
    """The newest period that has ended by now."""
    return digest.Period.of(kind, now).back(1)


def prepare(config: Config, store: Store, topic: str, now: datetime) -> Outcome:
    """What mailing topic's digest now would send: its message, or why nothing."""
    email = _email(config)
    period = last_complete(email.period, now)
    start = datetime.combine(period.start, time(), UTC)
    done = store.mailed(f"{email.period}:{topic}")
    if done is not None and done >= start:
        return Outcome(topic, period, None, f"{period.name} was mailed already")
    base = config.base_url.rstrip("/")
    info = topic_info(config, topic, base, f"{base}/feeds/{topic}.atom?digest={email.period}")
    rows = store.topic_entered(topic, start, MOST_PAPERS)
    entries = [digest.Entered(paper, at) for paper, at in rows]
    item = digest.period_item(period, info, entries, period_url(base, topic))
    if item is None:
        return Outcome(topic, period, None, f"no paper entered it in {period.name}")
    return Outcome(topic, period, digest_message(item, info, email.sender, email.to), "")


def send_digests(
    config: Config, store: Store, topics: Sequence[str] = (), now: datetime | None = None
) -> list[Outcome]:
    """Mail each topic's (default: every [email] topic's) digest of the last complete
    period that has not been mailed; the outcomes say what was sent and what not."""
    email = _email(config)
    now = now or datetime.now(UTC)
    outcomes = [prepare(config, store, topic, now) for topic in topics or email.topics]
    to_send = [o for o in outcomes if o.message is not None]
    if to_send:
        with connect(email) as server:
            for outcome in to_send:
                assert outcome.message is not None
                server.send_message(outcome.message)
                start = datetime.combine(outcome.period.start, time(), UTC)
                store.record_mailed(f"{email.period}:{outcome.topic}", start)
    return outcomes


def connect(email: EmailConfig) -> smtplib.SMTP:
    """A logged-in connection to the [email] server (TLS as security says)."""
    server: smtplib.SMTP
    if email.security == "ssl":
        server = smtplib.SMTP_SSL(
            email.host, email.port, timeout=TIMEOUT, context=ssl.create_default_context()
        )
    else:
        server = smtplib.SMTP(email.host, email.port, timeout=TIMEOUT)
        if email.security == "starttls":
            server.starttls(context=ssl.create_default_context())
    if email.username and email.password:
        server.login(email.username, email.password)
    return server


def _email(config: Config) -> EmailConfig:
    if config.email is None:
        raise ValueError("no [email] settings")
    return config.email
