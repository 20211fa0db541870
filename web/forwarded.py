"""The scheme and host that absolute links in feeds and pages start with.

Behind a router the request's scheme and host come from X-Forwarded-Proto and
X-Forwarded-Host (werkzeug's ProxyFix puts them in the WSGI environ). Anyone can send those
headers, so only an http or https scheme and a well-formed host are used; anything else falls
back to what the connection itself said. `base_url` fixes the whole prefix; `allowed_hosts`
keeps the host to a list (an unknown one is replaced by the first). Unless base_url is set,
feed bodies depend on these headers, and responses say so in Vary.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from settings import ConfigError

_SCHEMES = ("http", "https")
# A DNS name or IPv4 address, or a bracketed IPv6 address, each with an optional port.
_HOST = re.compile(
    r"(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"|\[[0-9a-f:.]{2,45}\])(?::[0-9]{1,5})?",
    re.IGNORECASE,
)
HOST_HEADERS = "Host, X-Forwarded-Host, X-Forwarded-Proto"


@functools.lru_cache(maxsize=1024)  # the few hosts a service is reached at, on the hot path
def well_formed_host(host: str | None) -> bool:
    return bool(host) and len(host) <= 260 and _HOST.fullmatch(host) is not None  # type: ignore[arg-type]


class RequestBase:
    """Turns a request's environ into the base URL of absolute links."""

    def __init__(self, base_url: str = "", allowed_hosts: str = "") -> None:
        self.fixed = base_url.rstrip("/")
        self.allowed = tuple(h.strip().lower() for h in allowed_hosts.split(",") if h.strip())
        for host in self.allowed:
            if not well_formed_host(host):
                raise ConfigError(f"allowed_hosts: {host!r} is not a host name[:port]")

    @property
    def vary(self) -> str:
        """The Vary header of a response whose body holds absolute links."""
        return "Accept-Encoding" if self.fixed else f"Accept-Encoding, {HOST_HEADERS}"

    def of(self, environ: dict[str, Any]) -> str:
        if self.fixed:
            return self.fixed
        original = environ.get("werkzeug.proxy_fix.orig") or {}
        scheme = environ.get("wsgi.url_scheme")
        if scheme not in _SCHEMES:
            scheme = original.get("wsgi.url_scheme")
            scheme = scheme if scheme in _SCHEMES else "http"
        host = environ.get("HTTP_HOST")
        if not well_formed_host(host):
            host = original.get("HTTP_HOST")
            if not well_formed_host(host):
                host = (
                    f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
                )
        if self.allowed and host.lower() not in self.allowed:  # type: ignore[union-attr]
            host = self.allowed[0]
        return f"{scheme}://{host}"
