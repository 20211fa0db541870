"""A digest item as an e-mail: the same papers, text and HTML, as the digest feed's item.

Pure like the rest of feeds: an item in, an email.message.EmailMessage out; sending it
(smtplib) and remembering what was sent are the caller's."""

from __future__ import annotations

import html
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from feeds.digest import DigestItem
from feeds.render import FeedInfo


def digest_message(
    item: DigestItem, info: FeedInfo, sender: str, to: Sequence[str]
) -> EmailMessage:
    """A multipart/alternative message: the item's text, then its HTML."""
    message = EmailMessage()
    message["Subject"] = f"{info.title}: {item.title}"
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = format_datetime(item.updated)
    message["Message-ID"] = make_msgid("digest", domain=sender.rpartition("@")[2] or None)
    # Threads a reader's mails of one topic together, and names the period (the feed GUID).
    message["X-Paperfeed-Digest"] = item.guid
    message.set_content(
        f"{item.title}\n\n{item.text}\n\nAll of them: {item.link}\nThe topic: {info.page_url}\n"
    )
    title = html.escape(item.title)
    message.add_alternative(
        "<!doctype html><html><body>"
        f'<h1><a href="{html.escape(item.link, quote=True)}">{title}</a></h1>'
        f"{item.html}"
        f'<p><a href="{html.escape(info.page_url, quote=True)}">{html.escape(info.title)}</a>'
        "</p></body></html>",
        subtype="html",
    )
    return message
