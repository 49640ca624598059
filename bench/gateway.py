"""``authsim gateway`` as a separate process, for benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT, python


@dataclass(frozen=True, slots=True)
class RunningGateway:
    pid: int
    control_url: str
    env: dict[str, str]


@contextlib.asynccontextmanager
async def gateway_process(directory: Path) -> AsyncIterator[RunningGateway]:
    child = await asyncio.create_subprocess_exec(
        python(), "-m", "authenticator_sim", "gateway", "--dir", str(directory),
        "--apns-port", "0", "--fcm-port", "0", "--control-port", "0",
        "--json", "--lenient-tokens",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip
    try:
        if child.stdout is None:
            raise RuntimeError("no stdout from the gateway")
        line = await asyncio.wait_for(child.stdout.readline(), 60)
        started = json.loads(line)
        yield RunningGateway(child.pid, started["control"], started["pushd_env"])
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            await asyncio.wait_for(child.wait(), 15)
