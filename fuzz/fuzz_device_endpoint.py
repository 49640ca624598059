"""atheris: the real device endpoint (POST /push/device), through aiohttp and the embedded store.

Each input picks an action and a shape: raw body bytes, any payload under a correct device
signature, or a mutation of a valid reply (tests/fuzz/device_world.py). Property: 200 with
``{}`` (the poll fallback: its list) or 400 with the protocol's fixed body, never a 5xx.
Run: python fuzz/fuzz_device_endpoint.py -max_total_time=60
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from pathlib import Path

import atheris
from _common import INSTRUMENTED, fuzz


def main() -> None:
    with atheris.instrument_imports(include=INSTRUMENTED):
        from tests.fuzz.device_world import DeviceWorld, running_pushd  # noqa: PLC0415
        from tests.fuzz.seeds import DEVICE_ENDPOINT_SEEDS  # noqa: PLC0415 (instrumented)
    logging.disable(logging.CRITICAL)  # one "rejected" line per input otherwise
    loop = asyncio.new_event_loop()
    stack = contextlib.AsyncExitStack()
    data_dir = Path(tempfile.mkdtemp(prefix="pushd-fuzz-device-"))
    harness = loop.run_until_complete(stack.enter_async_context(running_pushd(data_dir)))
    world = loop.run_until_complete(DeviceWorld.create(harness))

    async def one(data: bytes) -> None:
        await world.refresh_if_stale()
        await world.send(*world.from_bytes(data))

    def check(data: bytes) -> None:
        loop.run_until_complete(one(data))

    try:
        fuzz("device_endpoint", check, DEVICE_ENDPOINT_SEEDS)
    finally:
        loop.run_until_complete(stack.aclose())


if __name__ == "__main__":
    main()
