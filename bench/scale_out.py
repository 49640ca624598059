"""Two pushd instances on one Redis: push cycles where the phone's reply lands on the
other instance than the login page's long-poll, and Redis memory per pending challenge.

Redis runs as this machine's ``redis-server`` with the settings pushd documents
(append-only file, ``appendfsync everysec``, ``noeviction``); pushd A takes the login
page (create + long-poll), pushd B the phone's replies, so every wake-up crosses Redis
pub/sub. Everything shares the machine's cores with the load generator.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from bench.common import Row, free_port, process, python, summary_ms
from bench.gateway import gateway_process
from bench.push_cycle import cycles_per_second
from bench.seed import MASTER_KEY, seed_users
from mfa_core.push_replies import Transport

TARGET = ">= 300 cycles/s at concurrency 16; p99 reply->waiter <= 20 ms (Redis, cross-instance)"


@contextlib.asynccontextmanager
async def redis_server(directory: Path) -> AsyncIterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is needed for the scale-out benchmark")
    port = free_port()
    async with process(
        binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(directory),
        "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
        "--maxmemory-policy", "noeviction",
    ):  # fmt: skip
        url = f"redis://127.0.0.1:{port}/0"
        client = aioredis.Redis.from_url(url)
        try:
            for _ in range(200):
                with contextlib.suppress(OSError, aioredis.ConnectionError):
                    if await client.ping():
                        break
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        yield url


async def used_memory(url: str) -> int:
    client = aioredis.Redis.from_url(url)
    try:
        info = await client.info("memory")
        return int(info["used_memory"])
    finally:
        await client.aclose()


async def run(*, quick: bool) -> list[Row]:
    plan = [(1, 20), (4, 40)] if quick else [(1, 300), (16, 3000), (64, 4000)]
    pending = 100 if quick else 5000
    concurrency_max = max(c for c, _ in plan)
    rows = []
    with tempfile.TemporaryDirectory(prefix="pushd-bench-") as tmp:
        for name in ("redis", "a", "b"):
            (Path(tmp) / name).mkdir()
        async with redis_server(Path(tmp) / "redis") as url:
            key, users = await seed_users(
                Path(tmp), concurrency_max + pending, transport=Transport.APNS, redis_url=url
            )
            async with gateway_process(Path(tmp) / "gateway") as gw:
                ports = [free_port(), free_port()]
                env = {
                    **gw.env, "PUSHD_REDIS_URL": url, "PUSHD_MASTER_KEY": MASTER_KEY,
                    "PUSHD_PUSH_RATE_LIMIT": "0", "PUSHD_ACCESS_LOG": "false",
                    "PUSHD_LOG_LEVEL": "warning",
                }  # fmt: skip
                a, b = (f"http://127.0.0.1:{port}" for port in ports)
                connector = aiohttp.TCPConnector(limit=0)
                async with (
                    instance(env, ports[0], Path(tmp) / "a"),
                    instance(env, ports[1], Path(tmp) / "b"),
                    aiohttp.ClientSession(connector=connector) as session,
                ):
                    for concurrency, cycles in plan:
                        rate, whole, wake = await cycles_per_second(
                            session, a, key, gw.control_url, users=users[:concurrency],
                            cycles=cycles, device_base=b,
                        )  # fmt: skip
                        rows.append(Row(
                            f"push cycle, 2 instances on Redis, concurrency {concurrency}",
                            f"{rate:,.0f} cycles/s",
                            "the embedded store's row above (one instance)",
                            f"cycle {summary_ms(whole)}; reply on B -> waiter on A"
                            f" {summary_ms(wake)}",
                        ))  # fmt: skip
                    per_challenge = await memory_per_challenge(
                        session, a, key, url, [u.username for u in users[concurrency_max:]]
                    )
    rows[-1] = Row(rows[-1].bench, rows[-1].figure, rows[-1].ceiling, rows[-1].note + f"; {TARGET}")
    rows.append(Row(
        f"Redis memory per pending challenge ({pending:,} pending)",
        f"{per_challenge:,.0f} bytes",
        "-",
        "record, deadline entry and the user's push guard (used_memory delta / count)",
    ))  # fmt: skip
    return rows


@contextlib.asynccontextmanager
async def instance(env: dict[str, str], port: int, data_dir: Path) -> AsyncIterator[None]:
    own = {**env, "PUSHD_PORT": str(port), "PUSHD_DATA_DIR": str(data_dir)}
    health = f"http://127.0.0.1:{port}/readyz"
    async with process(python(), "-m", "pushd", "serve", env=own, health=health):
        yield


async def memory_per_challenge(
    session: aiohttp.ClientSession, base: str, key: str, url: str, usernames: list[str]
) -> float:
    auth = {"Authorization": f"Bearer {key}"}
    before = await used_memory(url)
    semaphore = asyncio.Semaphore(64)

    async def create(username: str) -> None:
        async with (
            semaphore,
            session.post(f"{base}/v1/users/{username}/push/challenges", headers=auth) as r,
        ):
            if r.status != 201:
                raise RuntimeError(f"challenge refused: {r.status}")

    await asyncio.gather(*(create(name) for name in usernames))
    return (await used_memory(url) - before) / len(usernames)
