"""Source URLs as users and logs may see them: no credentials, no query string.

A source URL can carry a secret (`https://user:password@host/`, `?api_key=...`); the fetcher
needs it whole, but /status, the index page, stored errors and log lines get this form.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

HIDDEN = "***"

# scheme://[userinfo@]host[/path][?query][#fragment] inside free text (log lines, errors).
_URL_IN_TEXT = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^\s/?#@]*@)?"
    r"(?P<rest>[^\s?#'\"<>]*)(?P<query>\?[^\s#'\"<>]*)?(?:#[^\s'\"<>]*)?"
)
# urllib3 names the failing path without its host: "Max retries exceeded with url: /p?k=v",
# "Incremented Retry for (url='/p?k=v')".
_QUERY_AFTER_PATH = re.compile(r"(?P<path>(?:^|[\s('\"=])/[^\s?#'\"<>]*)\?[^\s#'\"<>)]+")


def redact_url(url: str) -> str:
    """The URL with its user:password and its query string replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host: show nothing of it rather than all
        return HIDDEN
    netloc = parts.netloc
    if "@" in netloc:
        netloc = HIDDEN + "@" + netloc.rpartition("@")[2]
    query = HIDDEN if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_text(text: str) -> str:
    """Every URL in text redacted as redact_url does, and query strings after bare paths."""

    def one(match: re.Match[str]) -> str:
        userinfo = HIDDEN + "@" if match["userinfo"] else ""
        query = "?" + HIDDEN if match["query"] and len(match["query"]) > 1 else ""
        return f"{match['scheme']}{userinfo}{match['rest']}{query}"

    text = _URL_IN_TEXT.sub(one, text)
    return _QUERY_AFTER_PATH.sub(lambda m: f"{m['path']}?{HIDDEN}", text)
