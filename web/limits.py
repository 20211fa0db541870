"""The largest request body any route takes, refused before the app sees the request.

No route reads more than a few bytes of a body (POST /admin/refresh reads none), so a
larger declared body is answered 413 at once, whichever server runs the app; the servers
bound the request head themselves (server.py, gunicorn's defaults)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from web.errors import json_error

MAX_BODY_BYTES = 64 * 1024


class BodyLimit:
    """WSGI middleware: a Content-Length over MAX_BODY_BYTES (or not a number) gets 413."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = environ.get("CONTENT_LENGTH")
        if length and not (length.isdigit() and int(length) <= MAX_BODY_BYTES):
            answer = json_error(413, f"a request body is at most {MAX_BODY_BYTES} bytes")
            return answer(environ, start_response)
        return self.app(environ, start_response)
