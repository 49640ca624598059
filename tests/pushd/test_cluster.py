"""pushd on a Redis Cluster: two instances (apps) share it; the phone answers the other one."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.cluster import via
from tests.support.redis import RedisClusterNodes, drop_keys, unique_prefix


async def test_a_login_on_one_instance_is_approved_through_the_other(
    make_harness: Any, redis_cluster: RedisClusterNodes
) -> None:
    prefix = unique_prefix()
    shared = {"redis_url": redis_cluster.url, "redis_prefix": prefix, "push_rate_limit": 0}
    try:
        async with make_harness(**shared) as a, make_harness(**shared) as b:
            phone, enrolled, codes = await a.enrol("alice")
            assert len(codes) == 10
            _, created = await a.call("POST", "/v1/users/alice/push/challenges", expect=201)
            waiting = asyncio.create_task(
                a.call("GET", f"/v1/push/challenges/{created['id']}?wait=10")
            )
            message = await a.transport.next()
            on_b = via(enrolled, str(b.client.make_url("")).rstrip("/"))
            assert on_b.registration.authentication_url != enrolled.registration.authentication_url
            assert await phone.answer(on_b, message) == 200
            status, decided = await asyncio.wait_for(waiting, 10)
            assert (status, decided["state"]) == (200, "approved")
            _, state = await b.call("GET", f"/v1/push/challenges/{created['id']}", expect=200)
            assert state["state"] == "approved"
    finally:
        await drop_keys(prefix, redis_cluster.url)
