"""Headers every Flask response gets: security headers on HTML, and Vary on bodies whose
absolute links come from the request's host (the feed routes set their own)."""

from __future__ import annotations

from flask import Response

from web.service import service

# Pages have no script and nothing inline: styles come from the one stylesheet.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_LINKED_TYPES = ("text/html", "text/x-opml")


def add_response_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")  # browsers without CSP 2
        response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype in _LINKED_TYPES and "Vary" not in response.headers:
        response.headers["Vary"] = service().request_base.vary
    return response
