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
