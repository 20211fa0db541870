"""The one shape of an error answer: JSON {"error": what is wrong, ...what helps}, with the
status that says whose fault it is. Routes, error handlers and the fast path all answer so."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import NoReturn

from flask import Response
from werkzeug.exceptions import NotFound


def json_error(
    status: int,
    message: str,
    details: Mapping[str, object] | None = None,
    *,
    retry_after: int | None = None,
) -> Response:
    """An error answer: {"error": message, **details}; retry_after (seconds) when trying
    again later will work.

    The bytes are those of Flask's jsonify (sorted keys, compact, a final newline), built
    without an application, so the fast path can send them too."""
    document = {"error": message, **(details or {})}
    body = json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n"
    response = Response(body, status=status, mimetype="application/json")
    response.headers["X-Content-Type-Options"] = "nosniff"
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def busy(what: str) -> Response:
    """Every slot of its kind is taken (settings search_concurrency, render_concurrency)."""
    return json_error(503, f"too many {what} at once; try again in a few seconds", retry_after=2)


class Unknown(NotFound):
    """A 404 that says what is unknown; offers: the ways back the not-found page shows
    (search: a query to try; page: the last page there is)."""

    def __init__(self, what: str, **offers: object) -> None:
        super().__init__(what)
        self.offers = offers


def unknown(what: str, **offers: object) -> NoReturn:
    raise Unknown(what, **offers)
