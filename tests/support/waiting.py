"""Waiting on server-side state through events, never by polling with sleeps."""

from __future__ import annotations

import asyncio

from pushd.waiters import WaiterHub


async def waiters_reach(hub: WaiterHub, count: int, within: float = 5.0) -> None:
    """Return once ``hub`` holds exactly ``count`` waiters."""
    reached = asyncio.Event()

    def check(now: int) -> None:
        if now == count:
            reached.set()

    hub.observe(check)
    check(hub.count)
    async with asyncio.timeout(within):
        await reached.wait()
