"""Fetch listing bytes: one requests Session with timeouts, retries, conditional GET, a size cap.

Local paths are read from disk; their content hash plays the part of an ETag so that an
unchanged file is not parsed again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

log = logging.getLogger("paperfeed.fetch")


class FetchError(Exception):
    """The source could not be read: network error, HTTP error, too large, too slow."""


@dataclass(frozen=True)
class Fetched:
    """What one fetch gave: a body, or not_modified when the validators still hold."""

    location: str
    body: bytes = b""
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


_ARXIV_HOSTS = ("arxiv.org",)


class Fetcher:
    """Reads URLs and local paths for the refresher."""

    def __init__(
        self,
        *,
        user_agent: str = "paperfeed",
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        deadline: float = 60.0,
        max_bytes: int = 20 * 1024 * 1024,
        retries: int = 3,
        backoff: float = 1.0,
        arxiv_interval: float = 3.0,
    ) -> None:
        self.timeouts = (connect_timeout, read_timeout)
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.arxiv_interval = arxiv_interval
        self._last_arxiv_request = 0.0
        self._arxiv_lock = threading.Lock()
        retry = Retry(
            total=retries,
            connect=retries,
            read=0,  # a server that hung once will hang again: fail within read_timeout
            status=retries,
            backoff_factor=backoff,
            backoff_max=30,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept-Encoding"] = "gzip, deflate"

    def fetch(
        self, location: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        """Read a URL (conditionally) or a local file; raise FetchError on any failure."""
        scheme = urlsplit(location).scheme.lower()
        if scheme in ("http", "https"):
            return self._fetch_url(location, etag, last_modified)
        if scheme in ("", "file") or len(scheme) == 1:  # C:\... on Windows
            return self._read_file(location, etag)
        raise FetchError(f"{location}: only http(s) URLs and local paths can be read")

    def _read_file(self, location: str, etag: str | None) -> Fetched:
        path = Path(location.removeprefix("file://"))
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                raise FetchError(f"{path}: {size} bytes is over the {self.max_bytes}-byte cap")
            body = path.read_bytes()
        except OSError as error:
            raise FetchError(f"{path}: {error.strerror or error}") from None
        digest = hashlib.sha256(body).hexdigest()
        if etag == digest:
            return Fetched(location, not_modified=True, etag=digest, status=304)
        return Fetched(location, body=body, etag=digest)

    def _pace_arxiv(self, host: str) -> None:
        """arXiv asks API users for no more than one request every 3 seconds."""
        if not any(host == h or host.endswith("." + h) for h in _ARXIV_HOSTS):
            return
        with self._arxiv_lock:
            wait = self._last_arxiv_request + self.arxiv_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_arxiv_request = time.monotonic()

    def _fetch_url(self, url: str, etag: str | None, last_modified: str | None) -> Fetched:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        self._pace_arxiv(urlsplit(url).hostname or "")
        started = time.monotonic()
        try:
            response = self.session.get(url, headers=headers, timeout=self.timeouts, stream=True)
        except requests.RequestException as error:
            raise FetchError(f"{url}: {_reason(error)}") from None
        with response:
            if response.status_code == 304:
                return Fetched(
                    url, not_modified=True, etag=etag, last_modified=last_modified, status=304
                )
            if response.status_code >= 400:
                raise FetchError(
                    f"{url}: HTTP {response.status_code} {response.reason or ''}".rstrip()
                )
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(
                    f"{url}: body of {declared} bytes is over the {self.max_bytes}-byte cap"
                )
            body = self._read_capped(url, response, started)
            return Fetched(
                url,
                body=body,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                status=response.status_code,
            )

    def _read_capped(self, url: str, response: requests.Response, started: float) -> bytes:
        """Read the (decompressed) body, stopping at the size cap and the deadline."""
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=64 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(
                        f"{url}: body cut off at the {self.max_bytes}-byte cap (compressed or not)"
                    )
                if time.monotonic() - started > self.deadline:
                    raise FetchError(f"{url}: took longer than {self.deadline:g} s")
                chunks.append(chunk)
        except requests.RequestException as error:
            raise FetchError(f"{url}: {_reason(error)}") from None
        return b"".join(chunks)


def _reason(error: Exception) -> str:
    # After retries urllib3 wraps the last failure; a read timeout then arrives as a
    # ConnectionError whose reason says so.
    reason = getattr(error.args[0], "reason", None) if error.args else None
    if isinstance(error, requests.Timeout) or isinstance(reason, TimeoutError | ReadTimeoutError):
        return "timed out"
    if isinstance(error, requests.exceptions.RetryError):
        return f"gave up after retries ({error})"
    if isinstance(error, requests.ConnectionError):
        return "could not connect"
    return str(error) or type(error).__name__
