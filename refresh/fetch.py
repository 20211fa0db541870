"""Fetch listings: one requests Session with timeouts, retries, conditional GET, a size cap,
and one wall-clock deadline per fetch.

The deadline covers everything a fetch can wait on: connecting, each redirect, each retry and
its Retry-After or backoff wait, and reading the body. urllib3 alone bounds each socket
operation, not the whole: a body trickling one byte a second never trips a read timeout, and
it honours Retry-After up to six hours.

Local paths are read from disk; their content hash plays the part of an ETag so that an
unchanged file is not parsed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import socket
import stat
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3 import BaseHTTPResponse, HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import NameResolutionError, ReadTimeoutError
from urllib3.util.retry import Retry
from urllib3.util.timeout import Timeout

from refresh.locations import SecretLocation
from refresh.redact import hiding, redact_text, redact_url

log = logging.getLogger("paperfeed.fetch")


class FetchError(Exception):
    """The source could not be read: network error, HTTP error, too large, too slow."""


@dataclass(frozen=True)
class Fetched:
    """What one fetch gave: a body, or not_modified when the validators still hold.

    The body is a spool, never wholly in memory once it is big (a temporary file past
    SPOOL_BYTES; a local file is copied into one too), so that a listing of a year of papers
    is streamed from disk to the store (parsing.read); body reads it whole, for small pages.
    close() (or a with block) lets it go."""

    location: str
    spool: BinaryIO | None = None
    digest: str = hashlib.sha256(b"").hexdigest()  # of the body
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200

    def open(self) -> BinaryIO:
        """The body from its start (one reader at a time)."""
        if self.spool is None:
            return io.BytesIO(b"")
        self.spool.seek(0)
        return self.spool

    @property
    def body(self) -> bytes:
        return self.open().read()

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()

    def __enter__(self) -> Fetched:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# A body up to this size stays in memory; a bigger one goes to a temporary file as it arrives.
SPOOL_BYTES = 4 * 1024 * 1024


_ARXIV_HOSTS = ("arxiv.org",)


class Deadline:
    """A moment on the monotonic clock that one fetch must finish by, and the sockets the
    fetch reads from: when the moment comes, a timer shuts them down, which ends any read
    blocked on them (a read returns only when its buffer is full or the peer goes silent for
    read_timeout, so a peer trickling bytes, in the head or the body, would hold it)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._expired = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self._expired:
                _shut_down(sock)

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            for sock in self._sockets:
                _shut_down(sock)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def cap(self, seconds: float) -> float:
        """seconds, or what is left of the deadline when that is less (never 0: that would
        make the socket non-blocking)."""
        return max(0.01, min(seconds, self.remaining()))


class OutOfTime(Exception):
    """Raised inside urllib3 or requests when the fetch deadline leaves no room to go on."""


# The deadline of the fetch running in this thread, for the retry policy and the connections
# (urllib3 builds a new Retry per attempt from the session's one and pools connections across
# fetches, so neither can carry a per-fetch value).
_current_deadline: ContextVar[Deadline | None] = ContextVar("fetch_deadline", default=None)


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing is blocked on it
        sock.shutdown(socket.SHUT_RDWR)


class _WatchedConnection(HTTPConnection):
    """A connection that hands its socket to the running fetch's deadline before it reads a
    response (a pooled keep-alive connection too)."""

    def getresponse(self) -> BaseHTTPResponse:  # type: ignore[override]
        deadline = _current_deadline.get()
        if deadline is not None and self.sock is not None:
            deadline.watch(self.sock)
        return super().getresponse()


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _DeadlineAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedHTTPSPool}


class _DeadlineTimeout(Timeout):
    """Connect and read timeouts that never reach past the fetch deadline, on every attempt
    (urllib3 clones the timeout for each retry; requests reuses it for each redirect)."""

    def __init__(self, deadline: Deadline, connect: float, read: float) -> None:
        super().__init__(connect=connect, read=read)
        self.deadline = deadline

    def clone(self) -> _DeadlineTimeout:
        return _DeadlineTimeout(self.deadline, self._connect, self._read)  # type: ignore[arg-type]

    @property
    def connect_timeout(self) -> float:
        return self.deadline.cap(self._connect)  # type: ignore[arg-type]

    @property
    def read_timeout(self) -> float:
        return self.deadline.cap(self._read)  # type: ignore[arg-type]


class _DeadlineRetry(Retry):
    """urllib3's retry policy, but a wait (Retry-After or backoff) that would end past the
    fetch deadline ends the fetch now instead."""

    def sleep(self, response: object = None) -> None:
        deadline = _current_deadline.get()
        retry_after = None
        if self.respect_retry_after_header and response is not None:
            retry_after = self.get_retry_after(response)  # type: ignore[arg-type]
        wait = retry_after if retry_after is not None else self.get_backoff_time()
        if deadline is not None and wait >= deadline.remaining():
            asked = (
                f"Retry-After {wait:g} s" if retry_after is not None else f"a {wait:g} s backoff"
            )
            raise OutOfTime(
                f"{asked} would end past the {deadline.seconds:g} s deadline; giving up"
            )
        if wait > 0:
            time.sleep(wait)


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
        retry = _DeadlineRetry(
            total=retries,
            # Only 429 and 5xx are retried (README): a refused connection or a host name that
            # does not resolve (offline, a typo) fails at once instead of after the backoff.
            connect=0,
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
        adapter = _DeadlineAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept-Encoding"] = "gzip, deflate"

    def fetch(
        self, location: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        """Read a URL (conditionally) or a local file; raise FetchError on any failure."""
        if isinstance(location, SecretLocation):
            return self._fetch_secret(location, etag, last_modified)
        scheme = urlsplit(location).scheme.lower()
        if scheme in ("http", "https"):
            return self._fetch_url(location, etag, last_modified)
        if scheme in ("", "file") or len(scheme) == 1:  # C:\... on Windows
            return self._read_file(location, etag)
        raise FetchError(f"{redact_url(location)}: only http(s) URLs and local paths can be read")

    def _fetch_secret(
        self, location: SecretLocation, etag: str | None, last_modified: str | None
    ) -> Fetched:
        """A URL from the environment: its errors and the log lines of its fetch (urllib3's
        too) name it "$NAME", and no error that quotes it leaves this method."""
        if not location.target.lower().startswith(("http://", "https://")):
            raise FetchError(f"{location}: only http(s) URLs can be read")
        with hiding(location.target, str(location)):
            try:
                fetched = self._fetch_url(location.target, etag, last_modified)
            except FetchError:
                raise
            except Exception as error:  # its message may quote the URL: never pass it on
                raise FetchError(
                    f"{location}: {redact_text(f'{type(error).__name__}: {error}')}"
                ) from None
        return replace(fetched, location=str(location))

    def _read_file(self, location: str, etag: str | None) -> Fetched:
        """A regular file, copied into a spool as it is hashed (at most max_bytes of it):
        what is hashed is what is parsed, even if the file is rewritten meanwhile. A FIFO or
        a device would block or never end: refused."""
        path = Path(location.removeprefix("file://"))
        try:
            found = path.stat()
            if not stat.S_ISREG(found.st_mode):
                raise FetchError(f"{path}: not a regular file")
            if found.st_size > self.max_bytes:
                raise FetchError(
                    f"{path}: {found.st_size} bytes is over the {self.max_bytes}-byte cap"
                )
            with path.open("rb") as source:  # the copy is capped too: it may grow meanwhile
                body, digest = self._spooled(str(path), iter(lambda: source.read(1 << 16), b""))
        except OSError as error:
            raise FetchError(f"{path}: {error.strerror or error}") from None
        except ValueError as error:  # a path with a NUL byte
            raise FetchError(f"{path!r}: {error}") from None
        if etag == digest:
            body.close()
            return Fetched(location, digest=digest, not_modified=True, etag=digest, status=304)
        return Fetched(location, spool=body, digest=digest, etag=digest)

    def _spooled(
        self, shown: str, chunks: Iterator[bytes], deadline: Deadline | None = None
    ) -> tuple[BinaryIO, str]:
        """chunks written to a spool (in memory up to SPOOL_BYTES, then a temporary file) and
        hashed, stopping at the size cap and at the deadline. Returns the spool and the
        digest of what it holds."""
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (Fetched owns it)
        digest = hashlib.sha256()
        size = 0
        try:
            for chunk in chunks:
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(
                        f"{shown}: body cut off at the {self.max_bytes}-byte cap "
                        "(compressed or not)"
                    )
                if deadline is not None and deadline.remaining() <= 0:
                    break
                spool.write(chunk)
                digest.update(chunk)
        except BaseException:
            spool.close()
            raise
        return spool, digest.hexdigest()  # type: ignore[return-value]

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
        deadline = Deadline(self.deadline)
        shown = redact_url(url)  # what errors and logs may say: no credentials
        with deadline:
            token = _current_deadline.set(deadline)
            try:
                return self._get(url, headers, deadline, shown)
            finally:
                _current_deadline.reset(token)

    def _get(self, url: str, headers: dict[str, str], deadline: Deadline, shown: str) -> Fetched:
        def check_deadline(response: requests.Response, *args: object, **kwargs: object) -> None:
            if deadline.remaining() <= 0:  # each redirect answer passes here
                response.close()
                raise OutOfTime(f"took longer than {deadline.seconds:g} s")

        try:
            response = self.session.get(
                url,
                headers=headers,
                # requests hands a urllib3 Timeout to urllib3 as it is.
                timeout=_DeadlineTimeout(deadline, *self.timeouts),  # type: ignore[arg-type]
                stream=True,
                hooks={"response": check_deadline},
            )
        except OutOfTime as error:
            raise FetchError(f"{shown}: {error}") from None
        except requests.RequestException as error:
            late = deadline.remaining() <= 0
            reason = f"took longer than {deadline.seconds:g} s" if late else _reason(error)
            raise FetchError(f"{shown}: {reason}") from None
        with response:
            if response.status_code == 304:
                return Fetched(
                    url,
                    not_modified=True,
                    etag=headers.get("If-None-Match"),
                    last_modified=headers.get("If-Modified-Since"),
                    status=304,
                )
            if response.status_code >= 400:
                raise FetchError(
                    f"{shown}: HTTP {response.status_code} {response.reason or ''}".rstrip()
                )
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(
                    f"{shown}: body of {declared} bytes is over the {self.max_bytes}-byte cap"
                )
            body, digest = self._read_capped(shown, response, deadline)
            return Fetched(
                url,
                spool=body,
                digest=digest,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                status=response.status_code,
            )

    def _read_capped(
        self, url: str, response: requests.Response, deadline: Deadline
    ) -> tuple[BinaryIO, str]:
        """Read the (decompressed) body into a spool, stopping at the size cap and the
        deadline (whose timer shuts the socket down, ending a read that a trickling body
        holds). Returns the spool and the body's digest."""
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        if encoding in _DECODED_HERE:
            chunks = _decoded(response.raw.stream(64 * 1024, decode_content=False), encoding, url)
        else:
            chunks = response.iter_content(chunk_size=64 * 1024)
        try:
            body, digest = self._spooled(url, chunks, deadline)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            if deadline.remaining() > 0:
                raise FetchError(f"{url}: {_reason(error)}") from None
            raise FetchError(f"{url}: took longer than {deadline.seconds:g} s") from None
        if deadline.remaining() <= 0:
            body.close()
            raise FetchError(f"{url}: took longer than {deadline.seconds:g} s")
        return body, digest


# Content codings decoded here rather than by urllib3, which never checks that a compressed
# stream ended: a gzip body cut off mid-transfer and followed by other bytes decoded into
# junk that was stored as papers.
_DECODED_HERE = {"gzip": 31, "x-gzip": 31, "deflate": 15}  # zlib wbits


def _decoded(raw: Iterator[bytes], encoding: str, shown: str) -> Iterator[bytes]:
    """The decoded body of raw (gzip, or deflate: zlib-wrapped as RFC 9110 says, or bare as
    some servers send it); a corrupt stream, or one that stops before its end, is a
    FetchError. Bytes after a complete stream are ignored, as browsers and urllib3 do."""
    wbits = _DECODED_HERE[encoding]
    decoder, started = zlib.decompressobj(wbits), False
    for chunk in raw:
        while chunk and not decoder.eof:
            try:
                out = decoder.decompress(chunk)
            except zlib.error as error:
                if wbits == 15 and not started:  # deflate without its zlib wrapper
                    wbits, decoder = -15, zlib.decompressobj(-15)
                    continue
                raise FetchError(f"{shown}: the {encoding} body is corrupt ({error})") from None
            started = True
            if out:
                yield out
            chunk = b""
            if decoder.eof and decoder.unused_data and wbits == 31:
                rest = decoder.unused_data  # another gzip member may follow
                if rest[:2] != b"\x1f\x8b":
                    break  # trailing bytes after the stream: ignored
                decoder, chunk = zlib.decompressobj(31), rest
    if not decoder.eof:
        raise FetchError(f"{shown}: the {encoding} body ends before its stream does (cut off)")


def _reason(error: Exception) -> str:
    # After retries urllib3 wraps the last failure; a read timeout then arrives as a
    # ConnectionError whose reason says so.
    reason = getattr(error.args[0], "reason", None) if error.args else None
    if isinstance(error, requests.Timeout) or isinstance(reason, TimeoutError | ReadTimeoutError):
        return "timed out"
    if isinstance(error, requests.exceptions.RetryError):
        return redact_text(f"gave up after retries ({error})")
    if isinstance(error, requests.ConnectionError):
        return f"could not connect{_connect_failure(reason)}"
    return redact_text(str(error)) or type(error).__name__


def _connect_failure(reason: object) -> str:
    """Why a connection failed, when the socket says: " (connection refused)"."""
    if isinstance(reason, NameResolutionError):
        return " (host name not found)"
    cause = getattr(reason, "__cause__", None) or getattr(reason, "__context__", None)
    if isinstance(cause, ConnectionRefusedError):
        return " (connection refused)"
    return ""
