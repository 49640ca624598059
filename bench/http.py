"""Request throughput: pushd's cheapest answers beside an aiohttp hello-world, same run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import aiohttp

from bench.common import Row, free_port, http_throughput, process, python
from bench.seed import MASTER_KEY, seed_users


async def run(*, quick: bool) -> list[Row]:
    seconds, connections = (2, 16) if quick else (10, 64)
    port = free_port()
    async with process(
        python(), "-m", "bench.baseline", str(port), health=f"http://127.0.0.1:{port}/"
    ):
        hello, tool = await http_throughput(f"http://127.0.0.1:{port}/", seconds, connections)
    with tempfile.TemporaryDirectory(prefix="pushd-bench-") as tmp:
        key, users = await seed_users(Path(tmp), 1)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            "PUSHD_DATA_DIR": tmp, "PUSHD_PORT": str(port), "PUSHD_MASTER_KEY": MASTER_KEY,
            "PUSHD_ACCESS_LOG": "false", "PUSHD_LOG_LEVEL": "warning",
        }  # fmt: skip
        async with process(python(), "-m", "pushd", "serve", env=env, health=f"{base}/healthz"):
            health, _ = await http_throughput(f"{base}/healthz", seconds, connections)
            async with (
                aiohttp.ClientSession() as session,
                session.post(
                    f"{base}/v1/users/{users[0].username}/push/challenges",
                    headers={"Authorization": f"Bearer {key}"},
                ) as response,
            ):
                challenge_id = (await response.json())["id"]
            status_url = f"{base}/v1/push/challenges/{challenge_id}?wait=0"
            status, _ = await http_throughput(
                status_url, seconds, connections, headers={"Authorization": f"Bearer {key}"}
            )
    return [
        Row("aiohttp hello-world GET/s", f"{hello:,.0f}/s", "(this is the ceiling)", tool),
        Row("pushd GET /healthz", f"{health:,.0f}/s", f"{health / hello:.0%} of hello-world"),
        Row(
            "pushd GET challenge state (key check + store read)",
            f"{status:,.0f}/s",
            f"{status / hello:.0%} of hello-world",
        ),
    ]
