"""When the store goes away: readiness turns red, requests get 503 (never a 500), nothing is
decided without a reply, and pushd recovers by itself when the store is back."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pushd.delivery.base import PushMessage
from tests.support.harness import Harness
from tests.support.phone import Enrolled, SimPhone
from tests.support.redis import RedisServer


async def test_readiness_goes_red_when_the_store_is_gone(harness: Harness) -> None:
    await harness.services.ctx.store.engine.close()
    response = await harness.client.get("/readyz")
    assert response.status == 503
    response = await harness.client.post("/v1/users/x/push/registrations", headers=harness.auth)
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "unavailable"


async def readiness(h: Harness) -> tuple[int, dict[str, Any]]:
    response = await h.client.get("/readyz")
    return response.status, await response.json()


async def until_ready(h: Harness, want: int, within: float = 15.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        status, body = await readiness(h)
        if status == want or loop.time() > deadline:
            assert status == want, body
            return body
        await asyncio.sleep(0.1)


@asynccontextmanager
async def waiting_login(
    make_harness: Any, server: RedisServer, username: str
) -> AsyncIterator[tuple[Harness, SimPhone, Enrolled, PushMessage, str, asyncio.Task[Any]]]:
    """pushd on ``server``; ``username``'s phone has a challenge and a login page waits."""
    async with make_harness(redis_url=server.url, redis_prefix="{pushd}:") as h:
        phone, enrolled, _ = await h.enrol(username)
        _, created = await h.call("POST", f"/v1/users/{username}/push/challenges", expect=201)
        message = await h.transport.next()
        waiting = asyncio.create_task(h.call("GET", f"/v1/push/challenges/{created['id']}?wait=25"))
        await asyncio.sleep(0.2)
        yield h, phone, enrolled, message, created["id"], waiting


async def test_a_redis_restart_loses_nothing_and_decides_nothing(
    make_harness: Any, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        async with waiting_login(make_harness, server, "alice") as login:
            h, phone, enrolled, message, challenge_id, waiting = login
            server.kill()
            body = await until_ready(h, 503)
            assert body["store"] == "down"
            status, error = await h.call("POST", "/v1/users/alice/push/challenges", json={})
            assert (status, error["error"]["code"]) == (503, "unavailable")
            assert await phone.answer(enrolled, message) == 400  # the protocol's only refusal
            assert not waiting.done()  # nobody was told anything

            server.start()  # appendfsync always: the pending challenge is still there
            await until_ready(h, 200)
            _, still = await h.call("GET", f"/v1/push/challenges/{challenge_id}", expect=200)
            assert still["state"] == "pending"
            assert await phone.answer(enrolled, message) == 200
            status, decided = await asyncio.wait_for(waiting, 10)
            assert (status, decided["state"]) == (200, "approved")
    finally:
        server.stop()


async def test_after_a_redis_wipe_a_pending_challenge_fails_closed(
    make_harness: Any, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        async with waiting_login(make_harness, server, "bob") as login:
            _, phone, enrolled, message, _, waiting = login
            server.kill()
            shutil.rmtree(server.directory)  # a Redis that lost its data
            server.start()
            status, body = await asyncio.wait_for(waiting, 15)  # re-read after the reconnect
            assert (status, body["error"]["code"]) == (404, "not_found")
            assert await phone.answer(enrolled, message) == 400  # never approved
    finally:
        server.stop()
