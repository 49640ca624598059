"""Running an aiohttp application on one local port (the FCM stand-in and the control API)."""

from __future__ import annotations

import ssl

from aiohttp import web


class HttpSite:
    def __init__(self, app: web.Application, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._app = app
        self._ssl_context = ssl_context
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host``:``port`` (0 = any free port); return the port."""
        # A short shutdown: long-polls in progress must not hold a stopping gateway.
        runner = web.AppRunner(
            self._app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port, ssl_context=self._ssl_context, backlog=1024)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound: int = runner.addresses[0][1]
        return bound

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
