"""Real Redis for the tests: the shared server (own key prefix per test, cleaned up after)
and, for fault tests, a private redis-server with its own port and append-only file."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from pushd.store.redis_connect import connect
from pushd.store.redis_engine import RedisEngine
from pushd.store.redis_keys import Keys

REDIS_URL = os.environ.get("PUSHD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def unique_prefix() -> str:
    """A prefix no other test uses; the {hash tag} keeps Cluster semantics."""
    return f"{{pushdtest-{secrets.token_hex(6)}}}:"


async def drop_keys(prefix: str, url: str = REDIS_URL) -> int:
    client = connect(url, pool_size=4, command_timeout=5.0)
    try:
        names = [n async for n in client.scan_iter(match=Keys(prefix).everything_pattern)]
        if names:
            await client.delete(*names)
        return len(names)
    finally:
        await client.aclose()


@asynccontextmanager
async def redis_engine(
    url: str = REDIS_URL, *, clock: Callable[[], float] = time.time
) -> AsyncIterator[RedisEngine]:
    """An engine on the shared Redis under a fresh prefix; its keys are deleted after."""
    prefix = unique_prefix()
    engine = await RedisEngine.open(
        url, prefix=prefix, pool_size=16, command_timeout=5.0, clock=clock
    )
    try:
        yield engine
    finally:
        await engine.close()
        await drop_keys(prefix, url)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _free_cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too."""
    for _ in range(200):
        port = secrets.choice(range(20000, 45000))
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


class RedisServer:
    """A private redis-server on 127.0.0.1 with AOF (appendfsync always), for fault tests.

    ``extra`` adds arguments (TLS, say); ``sentinel`` makes it a Sentinel watching the
    master at that port under the service name ``pushd``.
    """

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        extra: list[str] | None = None,
        sentinel: int | None = None,
    ) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is required (the CI installs it)"
        self.binary = binary
        self.directory = directory
        self.port = port or _free_port()
        self.extra = extra or []
        self.sentinel = sentinel
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _command(self) -> list[str]:
        if self.sentinel is not None:
            config = self.directory / "sentinel.conf"
            config.write_text(
                f"port {self.port}\nbind 127.0.0.1\ndir {self.directory}\n"
                f"sentinel monitor pushd 127.0.0.1 {self.sentinel} 1\n"
                "sentinel down-after-milliseconds pushd 1000\n"
            )
            return [self.binary, str(config), "--sentinel"]
        return [
            self.binary, "--bind", "127.0.0.1", "--port", str(self.port),
            "--dir", str(self.directory), "--appendonly", "yes",
            "--appendfsync", "always", "--maxmemory-policy", "noeviction",
            "--save", "", "--protected-mode", "yes", *self.extra,
        ]  # fmt: skip

    def start(self, within: float = 10.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 (our binary, our arguments)
            self._command(), stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown save, as in a crash (the AOF holds every write)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


class RedisClusterNodes:
    """Three private masters joined into a Redis Cluster (no replicas) on 127.0.0.1."""

    def __init__(self, directory: Path, size: int = 3) -> None:
        self.servers = [self._node(directory / f"node{i}") for i in range(size)]

    @staticmethod
    def _node(directory: Path) -> RedisServer:
        config = str(directory / "nodes.conf")
        return RedisServer(
            directory,
            port=_free_cluster_port(),
            extra=["--cluster-enabled", "yes", "--cluster-node-timeout", "2000",
                   "--cluster-config-file", config],
        )  # fmt: skip

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{s.port}" for s in self.servers)

    def start(self, within: float = 20.0) -> None:
        for server in self.servers:
            server.start()
        cli = shutil.which("redis-cli")
        assert cli, "redis-cli is required (it comes with redis-server)"
        nodes = [f"127.0.0.1:{s.port}" for s in self.servers]
        subprocess.run(  # noqa: S603 (our binary, our arguments)
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=within,
        )  # fmt: skip
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if all(self._state(cli, s.port) == "ok" for s in self.servers):
                return
            time.sleep(0.1)
        raise RuntimeError("the cluster did not come up")

    @staticmethod
    def _state(cli: str, port: int) -> str:
        info = subprocess.run(  # noqa: S603 (our binary, our arguments)
            [cli, "-p", str(port), "cluster", "info"],
            capture_output=True, text=True, check=False, timeout=5,
        ).stdout  # fmt: skip
        return "ok" if "cluster_state:ok" in info else "not ok"

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
