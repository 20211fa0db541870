"""What a request must be before the app sees it: a body no larger than any route takes,
and a query string in UTF-8.

No route reads more than a few bytes of a body (POST /admin/refresh reads none), so a
larger declared body is answered 413 at once, whichever server runs the app; the servers
bound the request head themselves (server.py, gunicorn's defaults). A query string whose
bytes are not UTF-8 is answered 400: raw, they made werkzeug's request.args raise (a 500);
percent-encoded (`%E9t%E9`, Latin-1), werkzeug kept the escapes as text and a search
looked for "e9t e9". (granian refuses raw bytes that are not UTF-8 itself, with an empty
400, before the app.)"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

from web.errors import json_error

MAX_BODY_BYTES = 64 * 1024


class RequestLimits:
    """WSGI middleware: a Content-Length over MAX_BODY_BYTES (or not a number) gets 413, a
    query string that is not UTF-8 gets 400."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = environ.get("CONTENT_LENGTH")
        if length and not (length.isdigit() and int(length) <= MAX_BODY_BYTES):
            answer = json_error(413, f"a request body is at most {MAX_BODY_BYTES} bytes")
            return answer(environ, start_response)
        query = environ.get("QUERY_STRING", "")
        if query and not (query.isascii() and "%" not in query) and not _utf8(query):
            answer = json_error(
                400, "the query string is not UTF-8: encode its text as UTF-8, then percent-encode"
            )
            return answer(environ, start_response)
        return self.app(environ, start_response)


def _utf8(query: str) -> bool:
    """Are a WSGI query string's bytes (PEP 3333: one character a byte), percent-decoded,
    UTF-8? (An invalid %-escape is left as written, as werkzeug leaves it.)"""
    try:
        unquote_to_bytes(query.encode("latin-1")).decode("utf-8")
    except UnicodeError:
        return False
    return True
