"""A network partition between a web process and PostgreSQL: packets dropped in both
directions, no RST, no error, silence. Cached feeds keep answering at once, /readyz
answers 503 within its bound, a request that needs the database fails in seconds, and all
heals when the network does.

The web process (gunicorn, as the Procfile runs it) lives in a network namespace of its
own, joined to this one by a veth pair; it reaches PostgreSQL through a forwarder on this
side of the pair and is reached over a Unix socket, so the partition (a queue of length
zero on both ends of the pair) cuts the database only. Needs root, `ip` and `tc`.

Measured before (1 worker, 4 threads): 6 of 20 cached-feed requests answered within 2 s,
/readyz never answered within 5 s, and a request that needed the database had no answer
after 30 s (the kernel retries a silent connection for about 15 minutes)."""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import ROOT, wait_for

pytestmark = pytest.mark.slow
CACHED = [f"/feeds/{name}.{fmt}" for name in ("residual", "vit", "hot") for fmt in ("rss", "atom")]


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


class Partition:
    """The web process's network namespace, joined to this one through a router (a
    namespace of its own that forwards between two veth pairs). Cutting makes the router
    drop every packet it forwards, either way: a queue of length zero on its two ends. For
    both hosts the loss is remote, as in a real partition: dropped on this host's own
    interface, the kernel would give up on its own after a few seconds."""

    def __init__(self) -> None:
        tag = f"{os.getpid() % 10000}{random.randrange(100)}"
        self.web, self.router = f"pfw{tag}", f"pfr{tag}"
        self.links = [f"pf{n}{tag}" for n in "abcd"]  # web-router pair, router-here pair
        subnet = random.randrange(1, 250)
        self.web_net, self.here_net = f"10.231.{subnet}", f"10.232.{subnet}"
        self.address = f"{self.here_net}.1"  # this namespace, as the web process reaches it

    def __enter__(self) -> Partition:
        web_end, router_web_end, router_here_end, here_end = self.links
        run("ip", "netns", "add", self.web)
        run("ip", "netns", "add", self.router)
        run("ip", "link", "add", web_end, "type", "veth", "peer", "name", router_web_end)
        run("ip", "link", "set", web_end, "netns", self.web)
        run("ip", "link", "set", router_web_end, "netns", self.router)
        run("ip", "link", "add", here_end, "type", "veth", "peer", "name", router_here_end)
        run("ip", "link", "set", router_here_end, "netns", self.router)
        self._address(self.web, web_end, f"{self.web_net}.2")
        run(*self._in(self.web, "ip", "link", "set", "lo", "up"))
        run(*self._in(self.web, "ip", "route", "add", "default", "via", f"{self.web_net}.1"))
        self._address(self.router, router_web_end, f"{self.web_net}.1")
        self._address(self.router, router_here_end, f"{self.here_net}.2")
        run(*self._in(self.router, "sysctl", "-w", "net.ipv4.ip_forward=1"))
        self._address(None, here_end, self.address)
        run("ip", "route", "add", f"{self.web_net}.0/30", "via", f"{self.here_net}.2")
        return self

    def __exit__(self, *exc: object) -> None:
        for namespace in (self.web, self.router):  # their links and routes go with them
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", self.links[3]], capture_output=True)

    @staticmethod
    def _in(namespace: str | None, *command: str) -> list[str]:
        return ["ip", "netns", "exec", namespace, *command] if namespace else list(command)

    def _address(self, namespace: str | None, link: str, address: str) -> None:
        run(*self._in(namespace, "ip", "addr", "add", f"{address}/30", "dev", link))
        run(*self._in(namespace, "ip", "link", "set", link, "up"))

    def command(self, *command: str) -> list[str]:
        """command, run in the web process's namespace."""
        return self._in(self.web, *command)

    def cut(self) -> None:
        for link in self.links[1:3]:
            drop_all = ["root", "pfifo", "limit", "0"]
            run(*self._in(self.router, "tc", "qdisc", "replace", "dev", link, *drop_all))

    def heal(self) -> None:
        for link in self.links[1:3]:
            run(*self._in(self.router, "tc", "qdisc", "del", "dev", link, "root"))


class Forwarder:
    """Forward TCP connections from address:port to PostgreSQL on 127.0.0.1:5432."""

    def __init__(self, address: str, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.server = socket.create_server((address, 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.server.close()
        for end in self.sockets:
            end.close()


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def get(sock: str, path: str, timeout: float) -> tuple[int | None, str | None, float]:
    """Status and ETag of GET path (None: no answer within timeout), and the seconds taken."""
    started = time.monotonic()
    connection = UnixHTTP(sock, timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("ETag"), time.monotonic() - started
    except OSError:
        return None, None, time.monotonic() - started
    finally:
        connection.close()


@pytest.fixture
def partition() -> Iterator[Partition]:
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("tc"):
        pytest.skip("needs root, ip and tc to cut a network namespace off")
    with Partition() as cut_off:
        yield cut_off


@contextmanager
def web_process(partition: Partition, env: dict[str, str], folder: Path) -> Iterator[str]:
    """gunicorn as the Procfile runs it, inside the namespace; yields its Unix socket."""
    sock = str(folder / "web.sock")
    gunicorn = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py")]
    with open(folder / "web.log", "wb") as log:
        web = subprocess.Popen(
            partition.command(*gunicorn, "--bind", f"unix:{sock}", "app:app"),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: get(sock, "/readyz", 5)[0] == 200, 60, "the web process")
            yield sock
        finally:
            web.terminate()
            try:
                web.wait(timeout=10)
            except subprocess.TimeoutExpired:
                web.kill()
                web.wait(timeout=10)


def test_a_partition_from_postgres_leaves_cached_feeds_answering_and_readyz_503(
    tmp_path, pg_url, write_config, partition
) -> None:
    config = write_config()
    direct = {**os.environ, "DATABASE_URL": pg_url, "PAPERFEED_CONFIG": str(config)}
    refreshed = subprocess.run(
        [str(Path(sys.executable).parent / "paperfeed"), "refresh"],
        env=direct,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refreshed.returncode == 0, refreshed.stderr
    forwarder = Forwarder(partition.address, ("127.0.0.1", 5432))
    env = {
        **direct,
        "DATABASE_URL": pg_url.replace("127.0.0.1:5432", f"{partition.address}:{forwarder.port}"),
        "PYTHONPATH": str(ROOT),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
        "PAPERFEED_SCHEDULER": "off",
        "PAPERFEED_SEARCH_IN_PROCESSES": "false",
        "PAPERFEED_GENERATION_CHECK_SECONDS": "1",
    }
    try:
        with web_process(partition, env, tmp_path) as sock:
            etags = {path: get(sock, path, 5)[1] for path in CACHED}
            assert all(etags.values())
            # Requests at once, as under traffic: the pool keeps several connections open.
            warm = [
                threading.Thread(target=get, args=(sock, f"/feeds/hot.rss?limit={n}", 10))
                for n in range(1, 9)
            ]
            for thread in warm:
                thread.start()
            for thread in warm:
                thread.join()

            partition.cut()
            uncached: list[tuple[int | None, str | None, float]] = []
            needs_database = threading.Thread(
                target=lambda: uncached.append(get(sock, "/feeds/residual.rss?limit=7", 30))
            )
            needs_database.start()
            readiness: list[tuple[int | None, str | None, float]] = []
            answered = 0
            for n in range(20):
                if n % 4 == 0:  # a load balancer's health check, every other second
                    readiness.append(get(sock, "/readyz", 5))
                status, etag, _ = get(sock, CACHED[n % len(CACHED)], 2)
                answered += status == 200 and etag == etags[CACHED[n % len(CACHED)]]
                time.sleep(0.5)
            needs_database.join(timeout=40)
            print(f"cached answered within 2 s: {answered} of 20; /readyz: {readiness}")
            print(f"a request needing the database: {uncached}")
            assert answered == 20
            assert all(status == 503 and took < 3 for status, _, took in readiness), readiness
            assert uncached and uncached[0][0] == 503 and uncached[0][2] < 30, uncached

            partition.heal()
            wait_for(lambda: get(sock, "/readyz", 5)[0] == 200, 60, "/readyz after the partition")
            assert get(sock, "/feeds/residual.rss?limit=7", 10)[0] == 200
            assert get(sock, CACHED[0], 5)[1] == etags[CACHED[0]]
    finally:
        forwarder.close()
