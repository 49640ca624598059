"""pushd sending through the real aioapns and firebase-admin to ``authsim gateway``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from authenticator_sim.gateway import Gateway
from authenticator_sim.simulator import Simulator
from tests.support.harness import Harness


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    gw = Gateway(tmp_path / "gateway")
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


def gateway_settings(gw: Gateway) -> dict[str, Any]:
    """The gateway's PUSHD_* variables as settings overrides."""
    return {key.removeprefix("PUSHD_").lower(): value for key, value in gw.pushd_env().items()}


@pytest.fixture
def make_delivering(make_harness: Any, gateway: Gateway, tmp_path: Path) -> Any:
    @asynccontextmanager
    async def start(**changes: Any) -> AsyncIterator[tuple[Harness, Simulator]]:
        settings = {
            **gateway_settings(gateway),
            "push_retry_base": 0.01,
            "push_retry_cap": 0.05,
            **changes,
        }
        async with (
            make_harness(real_transports=True, **settings) as h,
            aiohttp.ClientSession() as session,
        ):
            # The phone hears only what came through APNs or FCM (no poll fallback).
            sim = Simulator(
                tmp_path / "wallet.json", session, gateway=gateway.control_url, poll_fallback=False
            )
            yield h, sim

    return start
