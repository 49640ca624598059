"""Shared benchmark plumbing: processes, memory, latency statistics, tables."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import aiohttp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(samples: Sequence[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary_ms(samples: Sequence[float]) -> str:
    if not samples:
        return "n/a"
    ms = [s * 1000 for s in samples]
    return (
        f"p50 {percentile(ms, 50):.2f} ms, p99 {percentile(ms, 99):.2f} ms,"
        f" p99.9 {percentile(ms, 99.9):.2f} ms, max {max(ms):.2f} ms"
    )


@dataclass
class Row:
    bench: str
    figure: str
    ceiling: str = ""
    note: str = ""


def print_table(rows: Sequence[Row]) -> None:
    headers = ("benchmark", "pushd", "same-run ceiling", "note")
    cells = [headers] + [(r.bench, r.figure, r.ceiling, r.note) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    for i, cell in enumerate(cells):
        print("  ".join(v.ljust(widths[j]) for j, v in enumerate(cell)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


@contextlib.asynccontextmanager
async def process(
    *args: str, env: dict[str, str] | None = None, health: str | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run a child process (ended with SIGTERM, then SIGKILL) and wait until it answers."""
    child = await asyncio.create_subprocess_exec(
        *args,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        if health:
            await wait_healthy(health, child)
        yield child
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 15)
            except TimeoutError:
                child.kill()
                await child.wait()


async def wait_healthy(url: str, child: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(400):
            if child.returncode is not None:
                raise RuntimeError(f"{url}: the process exited with {child.returncode}")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} never became healthy")


async def gauge(session: aiohttp.ClientSession, metrics_url: str, name: str) -> float:
    async with session.get(metrics_url) as response:
        text = await response.text()
    match = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else float("nan")


async def http_throughput(
    url: str, seconds: float, connections: int, headers: dict[str, str] | None = None
) -> tuple[float, str]:
    """Requests per second at ``url`` with wrk when installed, else an aiohttp client."""
    headers = headers or {}
    if shutil.which("wrk"):
        header_args = [arg for k, v in headers.items() for arg in ("-H", f"{k}: {v}")]
        proc = await asyncio.create_subprocess_exec(
            "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", *header_args, url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await proc.communicate()
        match = re.search(r"Requests/sec:\s+([0-9.]+)", out.decode())
        return (float(match.group(1)) if match else float("nan")), "wrk"
    count = 0
    loop = asyncio.get_running_loop()
    stop = loop.time() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal count
            while loop.time() < stop:
                async with session.get(url) as response:
                    await response.read()
                count += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return count / seconds, "aiohttp client (install wrk for a truer ceiling)"


def python() -> str:
    return sys.executable


def stats_line(values: Sequence[float]) -> str:
    return f"median {statistics.median(values):.1f}" if values else "n/a"
