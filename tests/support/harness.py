"""A real pushd on 127.0.0.1 (aiohttp's test server), with an in-process push stand-in."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from mfa_core.push_replies import Transport
from pushd.app import make_app
from pushd.appkeys import SERVICES
from pushd.delivery.base import PushMessage, SendOutcome, SendResult
from pushd.logs import JsonAccessLogger
from pushd.services.api_keys import Scope, create_key
from pushd.services.bundle import Services
from pushd.settings import Settings
from pushd.store.redis_engine import RedisEngine
from pushd.waiters import DecisionBus
from tests.support.log_scan import REQUEST_FIELDS, register_fields, register_secret
from tests.support.phone import Enrolled, SimPhone
from tests.support.redis import REDIS_URL, drop_keys, unique_prefix

MASTER_KEY = "5a" * 32
PASSWORD = "correct horse battery"  # the test users' password
register_secret("master_key", MASTER_KEY)
register_secret("password", PASSWORD)


class FakeTransport:
    """Stands in for APNs/FCM inside the process: records what pushd sends."""

    name = "fake"

    def __init__(self) -> None:
        self.sent: asyncio.Queue[PushMessage] = asyncio.Queue()
        self.script: list[SendResult] = []

    async def send(self, message: PushMessage) -> SendResult:
        await self.sent.put(message)
        return self.script.pop(0) if self.script else SendResult(outcome=SendOutcome.DELIVERED)

    async def close(self) -> None:
        return None

    async def next(self, within: float = 5.0) -> PushMessage:
        async with asyncio.timeout(within):
            return await self.sent.get()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pushd_settings(data_dir: Path, *, public_host: str = "127.0.0.1", **changes: Any) -> Settings:
    """``public_host="localhost"``: what a browser must use for WebAuthn (pushd still binds
    127.0.0.1); the relying party and origins follow it."""
    port = free_port()
    public_url = f"http://{public_host}:{port}"
    if public_host != "127.0.0.1":
        changes = {"webauthn_rp_id": public_host, "webauthn_origins": public_url, **changes}
    base = Settings(
        host="127.0.0.1",
        port=port,
        data_dir=data_dir,
        master_key=MASTER_KEY,
        public_url=public_url,
        api_key_cache_seconds=0.0,
        access_log=False,
        password_time_cost=1,  # argon2id at test strength: the same code path, 100x cheaper
        password_memory_kib=1024,
    )
    return dataclasses.replace(base, **changes)


@dataclass
class Harness:
    client: TestClient[web.Request, web.Application]
    app: web.Application
    transport: FakeTransport
    api_key: str
    session: aiohttp.ClientSession
    admin_key: str = ""

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        expect: int | None = None,
        admin: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        key = self.admin_key if admin else self.api_key
        headers = {"Authorization": f"Bearer {key}"}
        register_fields(json, REQUEST_FIELDS)
        response = await self.client.request(method, path, json=json, headers=headers)
        body: dict[str, Any] = await response.json()
        register_fields(body)
        if expect is not None:
            assert response.status == expect, body
        return response.status, body

    async def push_login(self, username: str, **body: Any) -> dict[str, Any]:
        """A login page asks for a push approval; returns the created challenge."""
        _, created = await self.call(
            "POST", f"/v1/users/{username}/push/challenges", json=body, expect=201
        )
        return created

    async def outcome(self, challenge_id: str, wait: float = 10) -> dict[str, Any]:
        """The login page's long-poll: the challenge once decided (or after ``wait``)."""
        _, body = await self.call(
            "GET", f"/v1/push/challenges/{challenge_id}?wait={wait}", expect=200
        )
        return body

    def cli_env(self) -> dict[str, str]:
        """The environment that points ``pushd`` commands at this instance's store."""
        settings = self.services.ctx.settings
        env = {"PUSHD_DATA_DIR": str(settings.data_dir), "PUSHD_MASTER_KEY": settings.master_key}
        if settings.redis_url:
            env |= {
                "PUSHD_REDIS_URL": settings.redis_url,
                "PUSHD_REDIS_PREFIX": settings.redis_prefix,
            }
        return env

    async def stored_bytes(self) -> list[bytes]:
        """Everything the store holds: its files, and with Redis every value under the prefix."""
        settings = self.services.ctx.settings
        found = [p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file()]
        engine = self.services.ctx.store.engine
        if isinstance(engine, RedisEngine):
            client = engine.client
            values: list[Any] = []
            async for name in client.scan_iter(match=engine.keys.everything_pattern):
                kind = await client.type(name)
                if kind == b"hash":
                    values += (await client.hgetall(name)).values()
                elif kind == b"zset":
                    values += await client.zrange(name, 0, -1)
                elif kind == b"string":
                    values.append(await client.get(name))
            found += [v for v in values if isinstance(v, bytes)]
        return found

    def phone(self, *, ios: bool = False) -> SimPhone:
        return SimPhone(self.session, ios=ios)

    async def create_user(
        self, username: str, *, password: str = PASSWORD, **fields: Any
    ) -> dict[str, Any]:
        body = {"username": username, "password": password, **fields}
        _, user = await self.call("POST", "/v1/admin/users", json=body, expect=201, admin=True)
        return user

    async def reauth(self, username: str, password: str = PASSWORD) -> str:
        _, body = await self.call(
            "POST", f"/v1/users/{username}/reauthenticate", json={"password": password}, expect=200
        )
        return str(body["reauth_token"])

    async def enrol(
        self, username: str, *, ios: bool = False
    ) -> tuple[SimPhone, Enrolled, list[str]]:
        """Register a push device end to end; returns the phone and the recovery codes."""
        _, started = await self.call("POST", f"/v1/users/{username}/push/registrations", expect=201)
        phone = self.phone(ios=ios)
        status, enrolled = await phone.scan(started["uri"])
        assert status == 200
        test = await self.transport.next()
        assert await phone.answer(enrolled, test) == 200
        _, done = await self.call(
            "GET", f"/v1/push/registrations/{started['id']}?wait=5", expect=200
        )
        assert done["state"] == "confirmed", done
        return phone, enrolled, done["recovery_codes"]


@pytest.fixture
def store_kind() -> str:
    """The store pushd runs on; a module with ``STORES = ("sqlite", "redis")`` gets both."""
    return "sqlite"


@pytest.fixture
def make_harness(tmp_path: Path, store_kind: str) -> Any:
    """``async with make_harness(**settings) as h`` runs one pushd."""

    @asynccontextmanager
    async def start(
        clock: Callable[[], float] = time.time,
        *,
        real_transports: bool = False,
        bus: DecisionBus | None = None,
        **changes: Any,
    ) -> AsyncIterator[Harness]:
        """``real_transports``: APNs and FCM as the settings configure them (the gateway);
        ``bus``: the decision bus (default: the store's)."""
        if store_kind == "redis" and "redis_url" not in changes:
            prefix = unique_prefix()
            changes |= {"redis_url": REDIS_URL, "redis_prefix": prefix}
            try:
                async with start(
                    clock, real_transports=real_transports, bus=bus, **changes
                ) as harness:
                    yield harness
            finally:
                await drop_keys(prefix)
            return
        settings = pushd_settings(tmp_path, **changes)
        transport = FakeTransport()
        fakes = {Transport.FCM: transport, Transport.APNS: transport}
        app = make_app(
            settings, transports=None if real_transports else fakes, clock=clock, bus=bus
        )
        server = TestServer(app, host="127.0.0.1", port=settings.port)
        # pushd's own access log (route templates, never a query string), as `pushd serve`
        await server.start_server(access_log_class=JsonAccessLogger)
        async with TestClient(server) as client, aiohttp.ClientSession() as session:
            store = app[SERVICES].ctx.store
            key = await create_key(store, "tests", Scope.API, now=time.time())
            admin = await create_key(store, "ops", Scope.ADMIN, now=time.time())
            register_secret("api_key", key)
            register_secret("api_key", admin)
            yield Harness(client, app, transport, key, session, admin_key=admin)

    return start


@pytest.fixture
async def harness(make_harness: Any) -> AsyncIterator[Harness]:
    async with make_harness() as h:
        yield h
