"""Source URLs as users and logs may see them: no credentials.

A source URL can carry a secret (`https://user:password@host/`, `?api_key=...`); the fetcher
needs it whole, but /status, the index page, stored errors, `paperfeed check` and log lines
get this form: scheme, host and path, never the user:password, and every query parameter by
name, its value kept only when the name is not credential-like (`?date=2024-11-28&api_key=***`).

A secret in the path (`/hooks/T0KEN/feed`) cannot be recognised: such a URL belongs in the
environment (a source's `url_env`), and while it is fetched, `hiding` puts its `$NAME` in
place of every part of it in errors and log lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import unquote_plus, urlsplit, urlunsplit

HIDDEN = "***"

# A parameter whose name contains one of these holds a credential: its value is never shown.
# Over-matching (`author` has `auth`) costs a value shown as ***; under-matching a secret.
_CREDENTIAL_NAMES = re.compile(
    r"key|token|secret|pass|pwd|sig|auth|cred|session|cookie|jwt|bearer|private|otp|sid",
    re.IGNORECASE,
)
# scheme://[userinfo@]host[/path][?query][#fragment] inside free text (log lines, errors); a
# query ends before trailing punctuation ("...?date=2024-11-28: could not connect").
_URL_IN_TEXT = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^\s/?#@]*@)?"
    r"(?P<rest>[^\s?#'\"<>]*)(?P<query>\?(?:[^\s#'\"<>]*[^\s#'\"<>:;,.)])?)?(?:#[^\s'\"<>]*)?"
)
# urllib3 names the failing path without its host: "Max retries exceeded with url: /p?k=v",
# "Incremented Retry for (url='/p?k=v')".
_QUERY_AFTER_PATH = re.compile(
    r"(?P<path>(?:^|[\s('\"=])/[^\s?#'\"<>]*)\?(?P<query>[^\s#'\"<>)]*[^\s#'\"<>):;,.])"
)

# The URLs being fetched in this thread that are secret as a whole (url_env), each as the
# pieces errors and log lines quote, with what to show instead.
_hidden: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("hidden_urls", default=())


def is_credential(name: str) -> bool:
    """Whether a query parameter's name says its value is a credential."""
    return _CREDENTIAL_NAMES.search(name) is not None


def redact_query(query: str) -> str:
    """Each parameter by name; the value kept only for a name that is not credential-like
    and a value that holds no URL or user@ of its own. A value without a name is ***."""
    shown = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if not equals:
            shown.append(HIDDEN if part else "")
            continue
        plain = unquote_plus(value)
        if is_credential(unquote_plus(name)) or "@" in plain or "://" in plain:
            value = HIDDEN
        shown.append(f"{name}={value}")
    return "&".join(shown)


def redact_url(url: str) -> str:
    """The URL with its user:password replaced by *** and its query string by redact_query;
    a URL secret as a whole (url_env, while fetched) as its $NAME."""
    url = _hide(url)
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host: show nothing of it rather than all
        return HIDDEN
    netloc = parts.netloc
    if "@" in netloc:
        netloc = HIDDEN + "@" + netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, redact_query(parts.query), ""))


def redact_text(text: str) -> str:
    """Every URL in text redacted as redact_url does, and query strings after bare paths."""

    def one(match: re.Match[str]) -> str:
        userinfo = HIDDEN + "@" if match["userinfo"] else ""
        query = match["query"] or ""
        query = "?" + redact_query(query[1:]) if len(query) > 1 else ""
        return f"{match['scheme']}{userinfo}{match['rest']}{query}"

    text = _URL_IN_TEXT.sub(one, _hide(text))
    return _QUERY_AFTER_PATH.sub(lambda m: f"{m['path']}?{redact_query(m['query'])}", text)


@contextmanager
def hiding(url: str, shown: str) -> Iterator[None]:
    """While the block runs (in this thread), redact_url and redact_text show `shown` in
    place of url and of the pieces of it that errors and log lines quote: its host, its
    path and query (urllib3 logs "GET /path?query"), with or without user:password."""
    token = _hidden.set(_hidden.get() + tuple((piece, shown) for piece in _pieces(url)))
    try:
        yield
    finally:
        _hidden.reset(token)


def _pieces(url: str) -> list[str]:
    """url and its parts as they may be quoted, longest first (so a whole URL is replaced
    before its host)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    host = parts.netloc.rpartition("@")[2]
    path_and_query = parts.path + (f"?{parts.query}" if parts.query else "")
    pieces = {url, f"{parts.scheme}://{host}{path_and_query}", path_and_query, parts.path}
    pieces |= {host, parts.hostname or ""}
    return sorted((p for p in pieces if len(p) > 1), key=len, reverse=True)


def _hide(text: str) -> str:
    for piece, shown in _hidden.get():
        text = text.replace(piece, shown)
    return text
