"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from pushd.services.bundle import Services


@dataclass(slots=True)
class Shutdown:
    """Set when a stop begins: the event-loop time by which the drain must be over."""

    deadline: float | None = None

    def grace(self, default: float) -> float:
        """Seconds left for in-flight work (``default`` when pushd is not draining)."""
        if self.deadline is None:
            return default
        return max(self.deadline - asyncio.get_running_loop().time(), 0.0)


SERVICES = web.AppKey("services", Services)
SHUTDOWN = web.AppKey("shutdown", Shutdown)
