"""End-to-end push cycles: login page -> pushd -> APNs (aioapns) -> gateway -> phone -> pushd.

Each worker plays one login page and its user's phone: create a challenge, hold the
long-poll, take the notification from ``authsim gateway`` (a separate process), verify
it with the device secret, approve, and wait for the long-poll's answer. Everything
runs on this machine: pushd, the gateway and this load generator share the cores.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp

from authenticator_sim.responder import Phone, authentication_request, read_notification
from bench.common import Row, free_port, process, python, summary_ms
from bench.gateway import gateway_process
from bench.seed import MASTER_KEY, SeededUser, seed_users
from mfa_core.push_replies import Transport

TARGET = ">= 300 cycles/s at concurrency 16; p99 reply->waiter <= 5 ms (embedded store)"


async def cycles_per_second(
    session: aiohttp.ClientSession, base: str, key: str, control: str,
    *, users: list[SeededUser], cycles: int, device_base: str | None = None,
) -> tuple[float, list[float], list[float]]:  # fmt: skip
    """Cycles/s, whole-cycle and reply->waiter seconds. The login page talks to ``base``;
    the phone replies to ``device_base`` (another instance) when given."""
    auth = {"Authorization": f"Bearer {key}"}
    device = f"{device_base or base}/push/device?_action=authenticate"
    whole: list[float] = []
    reply_to_wake: list[float] = []
    remaining = cycles

    async def one(user: SeededUser) -> None:
        started = time.perf_counter()
        async with session.post(
            f"{base}/v1/users/{user.username}/push/challenges", json={}, headers=auth
        ) as response:
            challenge = await response.json()
        poll = asyncio.create_task(_poll(f"{base}/v1/push/challenges/{challenge['id']}?wait=30"))
        async with session.post(
            f"{control}/inbox?wait=10", json={"tokens": [user.push_token]}
        ) as r:
            (item,) = (await r.json())["notifications"]
        notification = read_notification(item["jwt"], user.secret)
        request = authentication_request(
            authentication_url=device, message_id=item["messageId"], notification=notification,
            secret=user.secret, phone=Phone(ios=True, name="bench", push_token=user.push_token),
            approve=True,
        )  # fmt: skip
        replied = time.perf_counter()
        async with session.post(request.url, data=request.body, headers=request.headers) as r:
            if r.status != 200:
                raise RuntimeError(f"the device reply was refused: {r.status}")
        answered = await poll
        whole.append(answered - started)
        reply_to_wake.append(answered - replied)

    async def _poll(url: str) -> float:
        async with session.get(url, headers=auth) as response:
            state = (await response.json())["state"]
            if state != "approved":
                raise RuntimeError(f"challenge ended {state}")
            return time.perf_counter()

    async def worker(user: SeededUser) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one(user)

    await asyncio.gather(*(one(u) for u in users))  # warm-up: every connection and path
    whole.clear()
    reply_to_wake.clear()
    began = time.perf_counter()
    await asyncio.gather(*(worker(u) for u in users))
    return cycles / (time.perf_counter() - began), whole, reply_to_wake


async def run(*, quick: bool) -> list[Row]:
    plan = [(1, 20), (4, 40)] if quick else [(1, 300), (16, 3000), (64, 4000)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="pushd-bench-") as tmp:
        data_dir = Path(tmp) / "pushd"
        data_dir.mkdir()
        key, users = await seed_users(data_dir, max(c for c, _ in plan), transport=Transport.APNS)
        async with gateway_process(Path(tmp) / "gateway") as gw:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = {
                **gw.env, "PUSHD_DATA_DIR": str(data_dir), "PUSHD_PORT": str(port),
                "PUSHD_MASTER_KEY": MASTER_KEY, "PUSHD_PUSH_RATE_LIMIT": "0",
                "PUSHD_ACCESS_LOG": "false", "PUSHD_LOG_LEVEL": "warning",
            }  # fmt: skip
            connector = aiohttp.TCPConnector(limit=0)
            async with (
                process(python(), "-m", "pushd", "serve", env=env, health=f"{base}/healthz"),
                aiohttp.ClientSession(connector=connector) as session,
            ):
                for concurrency, cycles in plan:
                    rate, whole, wake = await cycles_per_second(
                        session, base, key, gw.control_url, users=users[:concurrency],
                        cycles=cycles,
                    )  # fmt: skip
                    rows.append(Row(
                        f"push cycle via aioapns + gateway, concurrency {concurrency}",
                        f"{rate:,.0f} cycles/s",
                        "PERFORMANCE.md: ~1,000-1,100/s (lean h2), ~520/s (httpx) at 16",
                        f"cycle {summary_ms(whole)}; reply->waiter {summary_ms(wake)}",
                    ))  # fmt: skip
    rows[-1] = Row(rows[-1].bench, rows[-1].figure, rows[-1].ceiling, rows[-1].note + f"; {TARGET}")
    return rows
