"""One real pushd on 127.0.0.1, served from its own event loop on a background thread.

Schemathesis calls the API synchronously (``requests``), so the app cannot share the test's
event loop; everything else is the harness of ``tests/support/harness.py`` as it is: the real
app, the real embedded store, the in-process push stand-in. ``Live.run`` runs a coroutine
(a harness call, a phone's reply) on the server's loop and waits for it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from mfa_core.push_replies import Transport
from pushd.app import make_app
from pushd.appkeys import SERVICES
from pushd.services.api_keys import Scope, create_key
from tests.support.harness import FakeTransport, Harness, pushd_settings

T = TypeVar("T")
CALL_TIMEOUT = 60.0


@dataclass
class Live:
    loop: asyncio.AbstractEventLoop
    harness: Harness
    base_url: str

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(CALL_TIMEOUT)


@contextmanager
def live_pushd(data_dir: Path, **changes: Any) -> Iterator[Live]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="pushd-live", daemon=True)
    thread.start()
    settings = pushd_settings(data_dir, **changes)
    transport = FakeTransport()
    app = make_app(settings, transports={Transport.FCM: transport, Transport.APNS: transport})
    holder: dict[str, Any] = {}

    async def start() -> Harness:
        client = TestClient(TestServer(app, host="127.0.0.1", port=settings.port))
        await client.start_server()
        session = aiohttp.ClientSession()
        holder.update(client=client, session=session)
        store = app[SERVICES].ctx.store
        api = await create_key(store, "adversarial", Scope.API, now=time.time())
        admin = await create_key(store, "adversarial-ops", Scope.ADMIN, now=time.time())
        return Harness(client, app, transport, api, session, admin_key=admin)

    async def stop() -> None:
        if "session" in holder:
            await holder["session"].close()
        if "client" in holder:
            await holder["client"].close()

    try:
        harness = asyncio.run_coroutine_threadsafe(start(), loop).result(CALL_TIMEOUT)
        yield Live(loop, harness, settings.base_url)
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(CALL_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CALL_TIMEOUT)
        loop.close()
