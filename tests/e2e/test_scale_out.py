"""Two real pushd processes on one (private, append-only) Redis, and the faults of a fleet:
a reply landing on the other instance, an instance killed under 1,000 long-polls, and a
Redis restart under load. Every wait here is bounded."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.cluster import (
    Api,
    Instance,
    cluster_env,
    instance,
    next_notification,
    run_cli,
    until_ready,
    via,
)
from tests.support.phone import Enrolled, SimPhone
from tests.support.redis import RedisServer

FINAL = {"approved", "denied", "expired", "failed", "cancelled"}


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def fleet(
    tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[tuple[Instance, Instance, str]]:
    env = cluster_env(
        redis_server.url,
        PUSHD_PUSH_RATE_LIMIT="0",
        PUSHD_PUSH_SUSPEND_AFTER="0",
        PUSHD_PUSH_DENIAL_BACKOFF="0",
    )
    key = await run_cli("apikey", "create", "login-page", env=env)
    async with instance("a", tmp_path, env) as a, instance("b", tmp_path, env) as b:
        yield a, b, key


async def test_a_reply_on_b_wakes_the_long_poll_on_a(
    fleet: tuple[Instance, Instance, str],
) -> None:
    a, b, key = fleet
    async with aiohttp.ClientSession() as session:
        on_a = Api(session, a.base, key)
        phone, enrolled = await on_a.enrol("alice")
        status, created = await on_a.call("POST", "/v1/users/alice/push/challenges", json={})
        assert status == 201
        waiting = asyncio.create_task(
            on_a.call("GET", f"/v1/push/challenges/{created['id']}?wait=20")
        )
        message = await next_notification(phone, via(enrolled, b.base))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        assert await phone.answer(via(enrolled, b.base), message) == 200  # lands on B
        status, decided = await asyncio.wait_for(waiting, 10)
        assert (status, decided["state"]) == (200, "approved")
        # Exactly once, whichever instance hears the replay.
        assert await phone.answer(via(enrolled, a.base), message) == 400
        assert await phone.answer(via(enrolled, b.base), message) == 400


async def wait_for_decision(
    session: aiohttp.ClientSession, key: str, bases: list[str], challenge_id: str
) -> str:
    """A login page's long-poll that moves to the next instance when its own dies."""
    auth = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + 90
    turn = 0
    while time.monotonic() < deadline:
        url = f"{bases[min(turn, len(bases) - 1)]}/v1/push/challenges/{challenge_id}?wait=30"
        try:
            async with session.get(url, headers=auth) as response:
                body = await response.json()
                if response.status == 200 and body["state"] in FINAL:
                    return str(body["state"])
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError):
            turn += 1  # the instance is gone: the load balancer sends us elsewhere
    raise AssertionError(f"{challenge_id}: no decision")


async def waiters_everywhere(session: aiohttp.ClientSession, nodes: list[Instance]) -> int:
    total = 0
    for node in nodes:
        async with session.get(f"{node.base}/metrics") as response:
            for line in (await response.text()).splitlines():
                if line.startswith("pushd_waiters "):
                    total += int(float(line.split()[1]))
    return total


async def test_killing_an_instance_under_a_thousand_waiters_loses_no_decision(
    fleet: tuple[Instance, Instance, str],
) -> None:
    a, b, key = fleet
    users, per_challenge = 100, 10  # 1,000 long-polls, half of them on B
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        on_a, on_b = Api(session, a.base, key), Api(session, b.base, key)
        enrolled: list[tuple[SimPhone, Enrolled]] = []
        for start in range(0, users, 20):
            enrolled += await asyncio.gather(
                *((on_a if i % 2 else on_b).enrol(f"user{i:03d}") for i in range(start, start + 20))
            )
        challenges = []
        for i in range(users):
            api = on_a if i % 2 else on_b
            status, created = await api.call("POST", f"/v1/users/user{i:03d}/push/challenges")
            assert status == 201, created
            challenges.append(created["id"])
        expected = {cid: ("approved" if i % 3 else "denied") for i, cid in enumerate(challenges)}

        polls = [
            asyncio.create_task(
                wait_for_decision(session, key, [b.base, a.base] if n % 2 else [a.base], cid)
            )
            for cid in challenges
            for n in range(per_challenge)
        ]
        for _ in range(200):
            if await waiters_everywhere(session, [a, b]) >= users * per_challenge:
                break
            await asyncio.sleep(0.05)
        assert await waiters_everywhere(session, [a, b]) == users * per_challenge

        async def decide(i: int, base: str) -> None:
            phone, device = enrolled[i]
            message = await next_notification(phone, via(device, base))
            approve = expected[challenges[i]] == "approved"
            assert await phone.answer(via(device, base), message, approve=approve) == 200

        half = users // 2  # decided before the crash, replies spread over A and B
        await asyncio.gather(*(decide(i, a.base if i % 2 else b.base) for i in range(half)))
        b.kill()
        await asyncio.gather(*(decide(i, a.base) for i in range(half, users)))

        results = await asyncio.wait_for(asyncio.gather(*polls), 120)
    wrong = [
        (cid, got)
        for (cid, got) in zip(
            [c for c in challenges for _ in range(per_challenge)], results, strict=True
        )
        if got != expected[cid]
    ]
    assert wrong == []
    assert len(results) == users * per_challenge


class Load:
    """Login pages and phones cycling through instances chosen at random, through an outage.

    It records every approval it *sends* (before sending: an outage may eat the answer but
    not the effect) and every state a long-poll reports.
    """

    def __init__(self, apis: list[Api], devices: list[tuple[SimPhone, Enrolled]]) -> None:
        self.apis, self.devices = apis, devices
        self.approve_sent: set[str] = set()
        self.seen: dict[str, str] = {}
        self.cycles_after_restart = 0
        self.restarted = asyncio.Event()
        self.stop = asyncio.Event()

    async def worker(self, i: int) -> None:
        rng = random.Random(i)
        while not self.stop.is_set():
            try:
                await self.cycle(i, rng)
            except (aiohttp.ClientError, AssertionError, KeyError):
                await asyncio.sleep(0.05)  # the outage: try again

    async def cycle(self, i: int, rng: random.Random) -> None:
        phone, device = self.devices[i]
        create, poll, reply = (self.apis[rng.randrange(2)] for _ in range(3))
        status, made = await create.call("POST", f"/v1/users/load{i}/push/challenges", json={})
        if status != 201:
            await asyncio.sleep(0.05)
            return
        cid = made["id"]
        waiting = asyncio.create_task(poll.call("GET", f"/v1/push/challenges/{cid}?wait=10"))
        try:
            message = await next_notification(phone, via(device, reply.base), within=3)
            approve = rng.random() < 0.7
            if approve:
                self.approve_sent.add(cid)
            await phone.answer(via(device, reply.base), message, approve=approve)
        finally:
            status, body = await waiting
        if status != 200:
            return
        self.seen[cid] = body["state"]
        if body["state"] not in FINAL:  # give up on it, so the user may be asked again
            await create.call("DELETE", f"/v1/push/challenges/{cid}")
        elif self.restarted.is_set():
            self.cycles_after_restart += 1


async def test_a_redis_restart_under_load_never_approves_without_a_reply(
    fleet: tuple[Instance, Instance, str], redis_server: RedisServer
) -> None:
    a, b, key = fleet
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        apis = [Api(session, a.base, key), Api(session, b.base, key)]
        devices = await asyncio.gather(*(apis[i % 2].enrol(f"load{i}") for i in range(8)))
        load = Load(apis, list(devices))
        workers = [asyncio.create_task(load.worker(i)) for i in range(len(devices))]
        await asyncio.sleep(1.5)
        redis_server.kill()
        for node in (a, b):
            await until_ready(node, want=503, within=15)
        await asyncio.sleep(0.5)
        redis_server.start()
        for node in (a, b):
            await until_ready(node, want=200, within=20)
        load.restarted.set()
        for _ in range(100):
            if load.cycles_after_restart >= 10:
                break
            await asyncio.sleep(0.1)
        load.stop.set()
        await asyncio.wait_for(asyncio.gather(*workers), 30)

    assert load.cycles_after_restart >= 10  # pushd reconnected by itself
    approved = {c for c, state in load.seen.items() if state == "approved"}
    assert approved - load.approve_sent == set()  # never approved without an approval
    assert len(load.seen) > 20
