"""10,000 concurrent long-polls on one pushd process, against the same-run aiohttp ceiling.

1. RSS with N long-polls waiting (pushd and the minimal aiohttp long-poll server).
2. One decision waking N waiters on one challenge: time until the last is answered.
3. N waiters on N challenges, decided at a steady rate: device reply -> long-poll answered.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from bench.common import Row, free_port, gauge, process, python, rss_mib, summary_ms
from bench.seed import MASTER_KEY, approve_body, read_challenge, seed_users

WAIT = 120


async def _hold(
    session: aiohttp.ClientSession, urls: list[str], headers: dict[str, str]
) -> list[asyncio.Task[float]]:
    """Open one long-poll per URL; each task returns the monotonic time it was answered."""

    async def poll(url: str) -> float:
        async with session.get(url, headers=headers) as response:
            body = await response.json()
            answered = time.monotonic()
        if body.get("state") != "approved":
            raise RuntimeError(f"unexpected answer {body}")
        return answered

    return [asyncio.create_task(poll(url)) for url in urls]


async def _until(check: Callable[[], Awaitable[float]], target: float, within: float = 120) -> None:
    deadline = time.monotonic() + within
    while await check() < target:
        if time.monotonic() > deadline:
            raise RuntimeError("waiters never all arrived")
        await asyncio.sleep(0.1)


async def _decide_at_rate(
    send: Callable[[int], Awaitable[None]], count: int, rate: float
) -> list[float]:
    """Fire ``send(i)`` at ``rate`` per second; returns when each was sent."""
    sent = [0.0] * count
    start = time.monotonic()
    in_flight: set[asyncio.Task[None]] = set()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[i] = time.monotonic()
        task = asyncio.create_task(send(i))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    await asyncio.gather(*in_flight)
    return sent


async def bench_pushd(n: int, rate: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="pushd-bench-") as tmp:
        data_dir = Path(tmp)
        key, users = await seed_users(data_dir, n)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            "PUSHD_DATA_DIR": str(data_dir), "PUSHD_PORT": str(port),
            "PUSHD_MASTER_KEY": MASTER_KEY, "PUSHD_PUSH_RATE_LIMIT": "0",
            "PUSHD_CHALLENGE_TTL": "600", "PUSHD_ACCESS_LOG": "false",
            "PUSHD_LOG_LEVEL": "warning", "PUSHD_MAX_WAIT": str(WAIT),
        }  # fmt: skip
        auth = {"Authorization": f"Bearer {key}"}
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=WAIT + 30)
        async with (
            process(python(), "-m", "pushd", "serve", env=env, health=f"{base}/healthz") as daemon,
            aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
        ):
            idle_rss = rss_mib(daemon.pid)
            sem = asyncio.Semaphore(32)

            async def create(username: str) -> str:
                async with (
                    sem,
                    session.post(
                        f"{base}/v1/users/{username}/push/challenges", json={}, headers=auth
                    ) as response,
                ):
                    return str((await response.json())["id"])

            ids = await asyncio.gather(*(create(u.username) for u in users))
            bodies = [
                approve_body(read_challenge(data_dir, cid), u.secret)
                for cid, u in zip(ids, users, strict=True)
            ]
            device = f"{base}/push/device?_action=authenticate"

            async def reply(i: int) -> None:
                async with session.post(device, data=bodies[i]) as response:
                    if response.status != 200:
                        raise RuntimeError(f"device reply refused: {response.status}")

            # N waiters on N challenges, decided at a steady rate.
            polls = await _hold(
                session, [f"{base}/v1/push/challenges/{cid}?wait={WAIT}" for cid in ids], auth
            )
            await _until(lambda: gauge(session, f"{base}/metrics", "pushd_waiters"), n)
            full_rss = rss_mib(daemon.pid)
            sent = await _decide_at_rate(reply, n, rate)
            answered = await asyncio.gather(*polls)
            steady = [a - s for a, s in zip(answered, sent, strict=True)]

            # One decision waking N waiters on one challenge.
            first = users[0]
            cid = await create(first.username)
            body = approve_body(read_challenge(data_dir, cid), first.secret)
            polls = await _hold(session, [f"{base}/v1/push/challenges/{cid}?wait={WAIT}"] * n, auth)
            await _until(lambda: gauge(session, f"{base}/metrics", "pushd_waiters"), n)
            started = time.monotonic()
            async with session.post(device, data=body) as response:
                if response.status != 200:
                    raise RuntimeError(f"device reply refused: {response.status}")
            wake_all = max(await asyncio.gather(*polls)) - started
    return {"idle_rss": idle_rss, "full_rss": full_rss, "steady": steady, "wake_all": wake_all}


async def bench_baseline(n: int, rate: float) -> dict[str, object]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=WAIT + 30)
    async with (
        process(python(), "-m", "bench.baseline", str(port), health=f"{base}/") as server,
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
    ):
        idle_rss = rss_mib(server.pid)
        count = lambda: gauge(session, f"{base}/metrics", "waiters")  # noqa: E731
        polls = await _hold(session, [f"{base}/wait/k{i}?wait={WAIT}" for i in range(n)], {})
        await _until(count, n)
        full_rss = rss_mib(server.pid)

        async def decide(i: int) -> None:
            async with session.post(f"{base}/decide/k{i}") as response:
                await response.read()

        sent = await _decide_at_rate(decide, n, rate)
        steady = [a - s for a, s in zip(await asyncio.gather(*polls), sent, strict=True)]
        polls = await _hold(session, [f"{base}/wait/one?wait={WAIT}"] * n, {})
        await _until(count, n)
        started = time.monotonic()
        await decide_one(session, f"{base}/decide/one")
        wake_all = max(await asyncio.gather(*polls)) - started
    return {"idle_rss": idle_rss, "full_rss": full_rss, "steady": steady, "wake_all": wake_all}


async def decide_one(session: aiohttp.ClientSession, url: str) -> None:
    async with session.post(url) as response:
        await response.read()


async def run(*, quick: bool) -> list[Row]:
    n, rate = (200, 200.0) if quick else (10_000, 500.0)
    ours = await bench_pushd(n, rate)
    ceiling = await bench_baseline(n, rate)
    per_waiter = (ours["full_rss"] - ours["idle_rss"]) * 1024 / n  # type: ignore[operator]
    base_per_waiter = (ceiling["full_rss"] - ceiling["idle_rss"]) * 1024 / n  # type: ignore[operator]
    return [
        Row(
            f"{n:,} long-polls: RSS",
            f"{ours['full_rss']:.0f} MiB ({per_waiter:.1f} KiB/waiter)",
            f"{ceiling['full_rss']:.0f} MiB ({base_per_waiter:.1f} KiB/waiter)",
            "PERFORMANCE.md: 131-141 MiB, ~10 KB/waiter",
        ),
        Row(
            f"1 decision wakes {n:,} waiters",
            f"last answered {ours['wake_all']:.3f} s",
            f"{ceiling['wake_all']:.3f} s",
            "PERFORMANCE.md: 0.35 s; target <= 2 s",
        ),
        Row(
            f"{rate:.0f} decisions/s, {n:,} waiters",
            summary_ms(ours["steady"]),  # type: ignore[arg-type]
            summary_ms(ceiling["steady"]),  # type: ignore[arg-type]
            "device reply sent -> long-poll answered (client view)",
        ),
    ]
