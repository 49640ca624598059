"""One-time password checks over HTTP, replay guard on: ``POST /v1/users/{u}/otp/verify``.

Each worker owns one user with an HOTP device enrolled over the API (start, then
confirm with the first code) and sends that user's codes in counter order, so every
code is fresh and accepted once (the replay guard moves the counter on). The login
page passes the end user's address, so both throttle subjects (user, address) are
checked. Failures are counted and reported: a run with failures is no figure.
Embedded store, then one instance on Redis; hello-world at the same concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.common import (
    Row,
    cpu_seconds,
    free_port,
    http_throughput,
    percentile,
    process,
    python,
)
from bench.scale_out import redis_server
from bench.seed import MASTER_KEY, seed_users
from mfa_core.oath import OathParameters, code_at, parse_otpauth_uri

TARGET = ">= 2,000 verifications/s (privacyIDEA ~30-50/s)"


@dataclass(slots=True)
class OtpUser:
    username: str
    params: OathParameters
    counter: int  # the next HOTP counter this user's app would show
    client_ip: str


@dataclass(frozen=True, slots=True)
class Result:
    rate: float
    latencies: list[float]
    failures: int
    statuses: dict[int, int]
    server_cpu_ms: float  # pushd's CPU time per verification (nan when not measured)


async def enrol(session: aiohttp.ClientSession, base: str, key: str, count: int) -> list[OtpUser]:
    """``count`` users with an HOTP device, enrolled the way a login page does it."""
    auth = {"Authorization": f"Bearer {key}"}
    users = []
    for i in range(count):
        username = f"otp{i:05d}"
        async with session.post(
            f"{base}/v1/users/{username}/otp/registrations", json={"kind": "hotp"}, headers=auth
        ) as r:
            if r.status != 201:
                raise RuntimeError(f"OTP registration refused: {r.status} {await r.text()}")
            offer = await r.json()
        params = parse_otpauth_uri(offer["uri"])
        async with session.post(
            f"{base}/v1/otp/registrations/{offer['id']}/confirm",
            json={"code": code_at(params, params.counter)},
            headers=auth,
        ) as r:
            if r.status != 201:
                raise RuntimeError(f"OTP confirmation refused: {r.status} {await r.text()}")
        users.append(OtpUser(username, params, params.counter + 1, f"198.51.100.{i % 250 + 1}"))
    return users


async def verifications_per_second(
    session: aiohttp.ClientSession, base: str, key: str, users: Sequence[OtpUser], count: int,
    *, pid: int | None = None,
) -> Result:  # fmt: skip
    """``count`` verifications by ``len(users)`` concurrent workers, one user each; ``pid``:
    pushd's process, whose CPU time per verification is measured too."""
    auth = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = count

    async def one(user: OtpUser) -> None:
        code = code_at(user.params, user.counter)
        user.counter += 1  # refused or not, the app has moved on (the look-ahead resyncs)
        body = {"code": code, "client_ip": user.client_ip}
        started = time.perf_counter()
        async with session.post(
            f"{base}/v1/users/{user.username}/otp/verify", json=body, headers=auth
        ) as r:
            answer = await r.json()
            status = r.status if answer.get("result") == "accepted" else -r.status
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1

    async def worker(user: OtpUser) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one(user)

    for user in users:  # warm-up: every connection and path
        await one(user)
    latencies.clear()
    statuses.clear()
    cpu = cpu_seconds(pid) if pid else float("nan")
    began = time.perf_counter()
    await asyncio.gather(*(worker(u) for u in users))
    elapsed = time.perf_counter() - began
    cpu = cpu_seconds(pid) - cpu if pid else float("nan")
    failures = sum(n for status, n in statuses.items() if status != 200)
    return Result(count / elapsed, latencies, failures, statuses, cpu * 1000 / count)


@contextlib.asynccontextmanager
async def pushd(tmp: Path, *, redis_url: str = "") -> AsyncIterator[tuple[str, str, int]]:
    """A pushd process (embedded store in ``tmp``, or Redis): its URL, an API key, its pid."""
    data_dir = tmp / "pushd"
    data_dir.mkdir()
    key, _ = await seed_users(data_dir, 0, redis_url=redis_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "PUSHD_DATA_DIR": str(data_dir), "PUSHD_PORT": str(port), "PUSHD_MASTER_KEY": MASTER_KEY,
        "PUSHD_ACCESS_LOG": "false", "PUSHD_LOG_LEVEL": "warning",
    }  # fmt: skip
    if redis_url:
        env["PUSHD_REDIS_URL"] = redis_url
    async with process(python(), "-m", "pushd", "serve", env=env, health=f"{base}/readyz") as child:
        yield base, key, child.pid


async def run(*, quick: bool) -> list[Row]:
    plan = [(1, 20), (4, 40)] if quick else [(1, 2000), (16, 20000), (64, 20000)]
    seconds = 1 if quick else 5
    users_needed = max(c for c, _ in plan)
    hello = {}
    port = free_port()
    async with process(
        python(), "-m", "bench.baseline", str(port), health=f"http://127.0.0.1:{port}/"
    ):
        for concurrency, _ in plan:
            hello[concurrency], tool = await http_throughput(
                f"http://127.0.0.1:{port}/", seconds, concurrency
            )
    rows = []
    with tempfile.TemporaryDirectory(prefix="pushd-bench-") as tmp:
        async with contextlib.AsyncExitStack() as stack:
            redis_dir = Path(tmp) / "redis"
            redis_dir.mkdir()
            redis_url = await stack.enter_async_context(redis_server(redis_dir))
            session = await stack.enter_async_context(
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
            )
            for store, url in (("embedded store", ""), ("Redis", redis_url)):
                run_dir = Path(tmp) / store.replace(" ", "-")
                run_dir.mkdir()
                async with pushd(run_dir, redis_url=url) as (base, key, pid):
                    users = await enrol(session, base, key, users_needed)
                    for concurrency, count in plan:
                        result = await verifications_per_second(
                            session, base, key, users[:concurrency], count, pid=pid
                        )
                        rows.append(_row(store, concurrency, result, hello[concurrency], tool))
    rows[-1] = Row(rows[-1].bench, rows[-1].figure, rows[-1].ceiling, rows[-1].note + f"; {TARGET}")
    return rows


def _row(store: str, concurrency: int, result: Result, hello: float, tool: str) -> Row:
    ms = [s * 1000 for s in result.latencies]
    refused = ", ".join(f"{abs(s)}: {n}" for s, n in sorted(result.statuses.items()) if s != 200)
    return Row(
        f"OTP verify (HOTP, replay guard), {store}, concurrency {concurrency}",
        f"{result.rate:,.0f}/s",
        f"{result.rate / hello:.0%} of hello-world {hello:,.0f}/s ({tool.partition(' ')[0]})",
        f"p50 {percentile(ms, 50):.2f} ms, p99 {percentile(ms, 99):.2f} ms;"
        f" pushd CPU {result.server_cpu_ms:.2f} ms each;"
        f" failures {result.failures}" + (f" ({refused})" if refused else "")
        + "; PERFORMANCE.md: ~4,900-5,200/s (Redis)",
    )  # fmt: skip
