"""Several real ``pushd serve`` processes sharing one Redis, and phones that use the poll
fallback (no push service configured): the scale-out tests' cast."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from mfa_core.push import PushRegistration
from tests.support.harness import MASTER_KEY, free_port
from tests.support.log_scan import add_log_file, register_secret
from tests.support.phone import Enrolled, SimPhone


@dataclass
class Instance:
    name: str
    base: str
    process: asyncio.subprocess.Process
    log: Path

    def kill(self) -> None:
        """SIGKILL: the instance dies mid-request, as in a crash."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)


@dataclass(frozen=True, slots=True)
class Polled:
    """A notification as the poll fallback hands it to the phone."""

    message_id: str
    jwt: str


async def run_cli(*args: str, env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pushd", *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, args
    if args[:2] == ("apikey", "create"):
        register_secret("api_key", out.decode().strip())
    return out.decode().strip()


def cluster_env(redis_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PUSHD_REDIS_URL": redis_url, "PUSHD_MASTER_KEY": MASTER_KEY,
           "PUSHD_ACCESS_LOG": "false", "PUSHD_LOG_LEVEL": "warning", **extra}  # fmt: skip
    env.pop("PUSHD_CONFIG", None)
    return env


@asynccontextmanager
async def instance(name: str, tmp: Path, env: dict[str, str]) -> AsyncIterator[Instance]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / f"{name}.log"
    data_dir = tmp / name
    data_dir.mkdir(parents=True, exist_ok=True)
    own = {**env, "PUSHD_PORT": str(port), "PUSHD_DATA_DIR": str(data_dir),
           "PUSHD_PUBLIC_URL": base}  # fmt: skip
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pushd", "serve", env=own, stderr=sink
        )
    running = Instance(name, base, process, log)
    try:
        await until_ready(running)
        yield running
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        add_log_file(log, f"pushd process {name}")


async def until_ready(node: Instance, *, want: int = 200, within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with aiohttp.ClientSession() as session:
        while loop.time() < deadline:
            assert node.process.returncode is None, f"{node.name} exited: {node.log.read_text()}"
            try:
                async with session.get(f"{node.base}/readyz") as response:
                    if response.status == want:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{node.name} never answered /readyz with {want}")


def via(enrolled: Enrolled, base: str) -> Enrolled:
    """The same device talking to another instance (as a load balancer would send it)."""
    old = enrolled.registration
    origin = old.registration_url.split("/push/")[0]
    moved: PushRegistration = dataclasses.replace(
        old,
        registration_url=old.registration_url.replace(origin, base),
        authentication_url=old.authentication_url.replace(origin, base),
    )
    return Enrolled(moved, enrolled.mechanism_uid)


async def next_notification(phone: SimPhone, enrolled: Enrolled, within: float = 10) -> Polled:
    """Poll pushd (the fallback) until the device's notification is there."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        status, body = await phone.pending(enrolled)
        if status == 200 and body["notifications"]:
            item = body["notifications"][0]
            return Polled(item["messageId"], item["message"])
        await asyncio.sleep(0.05)
    raise AssertionError("no notification arrived")


class Api:
    """A login page's view of one instance."""

    def __init__(self, session: aiohttp.ClientSession, base: str, key: str) -> None:
        self.session, self.base = session, base
        self.auth = {"Authorization": f"Bearer {key}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.session.request(
            method, f"{self.base}{path}", headers=self.auth, **kwargs
        ) as response:
            return response.status, await response.json()

    async def enrol(self, username: str) -> tuple[SimPhone, Enrolled]:
        status, started = await self.call("POST", f"/v1/users/{username}/push/registrations")
        assert status == 201, started
        phone = SimPhone(self.session)
        status, enrolled = await phone.scan(started["uri"])
        assert status == 200
        assert await phone.answer(enrolled, await next_notification(phone, enrolled)) == 200
        status, done = await self.call("GET", f"/v1/push/registrations/{started['id']}?wait=10")
        assert done["state"] == "confirmed", done
        return phone, enrolled
