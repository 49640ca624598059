"""A real ``pushd serve`` process on 127.0.0.1, driven like the app and a login page would."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from pushd.handlers.device import BAD_REQUEST
from tests.support.harness import free_port
from tests.support.phone import SimPhone

Served = tuple[str, str, asyncio.subprocess.Process]


async def run_pushd(*args: str, env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pushd", *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    return out.decode().strip()


async def wait_until_healthy(base: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            assert process.returncode is None, "pushd exited during start-up"
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)  # not listening yet: nothing to wait on but time
    raise AssertionError("pushd did not start")


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    port = free_port()
    env = {**os.environ, "PUSHD_DATA_DIR": str(tmp_path), "PUSHD_PORT": str(port)}
    env.pop("PUSHD_CONFIG", None)
    key = await run_pushd("apikey", "create", "e2e", env=env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pushd", "serve", env=env, stderr=asyncio.subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_until_healthy(base, process)
        yield base, key, process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.communicate(), 15)


async def test_a_real_daemon_registers_a_phone_and_refuses_bad_replies(served: Served) -> None:
    base, key, process = served
    auth = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/v1/users/alice/push/registrations", headers=auth) as r:
            assert r.status == 201
            started = await r.json()
        async with session.post(
            f"{base}/push/device?_action=register", data=b'{"messageId":"x","jwt":"y"}'
        ) as r:
            assert (r.status, await r.json()) == (400, BAD_REQUEST)
        status, _ = await SimPhone(session).scan(started["uri"])
        assert status == 200
        async with session.get(
            f"{base}/v1/push/registrations/{started['id']}?wait=1", headers=auth
        ) as r:
            # No push service is configured in this process, so the test notification is
            # not sent: the registration stays registered until confirmed or expired.
            assert (await r.json())["state"] == "registered"
        async with session.get(f"{base}/metrics") as r:
            assert 'reason="invalid_message_id"' in await r.text()
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line]
    requests = [line for line in lines if line.get("msg") == "request"]
    assert any(r["route"] == "/push/device" and r["status"] == 400 for r in requests)
    everything = stderr.decode()
    assert key not in everything
    assert started["uri"] not in everything
