"""The benchmarks run in CI with tiny counts, so they never rot (figures are not asserted)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def test_every_benchmark_runs_in_quick_mode() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench", "--quick", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 300)
    text = out.decode()
    assert process.returncode == 0, text
    assert "hello-world" in text
    assert "long-polls: RSS" in text
    assert "2 instances on Redis" in text
    otp_rows = [line for line in text.splitlines() if line.startswith("OTP verify")]
    assert len(otp_rows) == 4, text  # two stores, two concurrencies
    assert all("failures 0" in row for row in otp_rows), otp_rows  # every code was accepted


async def test_the_profiler_runs_a_bounded_load() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.profile", "push_cycle", "--redis", "--cycles", "20",
        "--concurrency", "2", "--lines", "400", "--threshold", "0.1", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 300)
    text = out.decode()
    assert process.returncode == 0, text
    assert "cycles/s at concurrency 2" in text
    assert "Redis round trips per operation" in text
    assert "pushd/services/challenges.py" in text  # pushd's own frames are in the profile
