"""The README's walk-through, as separate processes: gateway, pushd, authsim, a login page.

pushd (embedded store) sends through aioapns to ``authsim gateway``; the simulated
iPhone (the authsim command) approves; the login page's long-poll returns approved.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.pushd.test_serve import run_pushd, wait_until_healthy
from tests.support.harness import free_port


async def start(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 15)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    env = {**os.environ}
    env.pop("PUSHD_CONFIG", None)
    gateway = await start(
        "authenticator_sim", "gateway", "--dir", str(tmp_path / "gw"), "--json",
        "--apns-port", "0", "--fcm-port", "0", "--control-port", "0", env=env,
    )  # fmt: skip
    assert gateway.stdout is not None
    started = json.loads(await asyncio.wait_for(gateway.stdout.readline(), 60))
    port = free_port()
    pushd_env = {
        **env, **started["pushd_env"], "PUSHD_DATA_DIR": str(tmp_path / "pushd"),
        "PUSHD_PORT": str(port),
    }  # fmt: skip
    key = await run_pushd("apikey", "create", "login-page", env=pushd_env)
    daemon = await start("pushd", "serve", env=pushd_env)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_until_healthy(base, daemon)
        yield {"base": base, "key": key, "control": started["control"], "tmp": tmp_path}
    finally:
        await stop(daemon)
        await stop(gateway)


async def authsim(stack: dict[str, Any], *args: str) -> Any:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "authenticator_sim", *args,
        "--wallet", str(stack["tmp"] / "wallet.json"), "--gateway", stack["control"],
        "--no-poll", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return json.loads(out)


async def test_the_walkthrough(stack: dict[str, Any]) -> None:
    auth = {"Authorization": f"Bearer {stack['key']}"}
    base = stack["base"]
    async with aiohttp.ClientSession(headers=auth) as page:
        async with page.post(f"{base}/v1/users/alice/push/registrations") as response:
            started = await response.json()
        (account,) = await authsim(stack, "scan", started["uri"], "--ios")
        assert account["platform"] == "ios"
        await authsim(stack, "approve", "--wait", "10")  # the test notification, via APNs
        async with page.get(f"{base}/v1/push/registrations/{started['id']}?wait=10") as r:
            assert (await r.json())["state"] == "confirmed"

        async with page.post(f"{base}/v1/users/alice/push/challenges") as response:
            challenge = await response.json()
        waiting = asyncio.create_task(
            page.get(f"{base}/v1/push/challenges/{challenge['id']}?wait=30")
        )
        (shown,) = await authsim(stack, "notifications", "--wait", "10")
        assert shown["message"] == "Login attempt from alice at Backstage"
        await authsim(stack, "approve")
        response = await waiting
        assert (await response.json())["state"] == "approved"
        response.release()
