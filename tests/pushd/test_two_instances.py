"""Two pushd instances (apps) on one Redis: expiry happens exactly once, and the waiters on
both learn it; a decision on one wakes the other."""

from __future__ import annotations

import asyncio
from typing import Any

from pushd.metrics import Metrics
from tests.support.redis import REDIS_URL, drop_keys, unique_prefix


def expired_count(metrics: Metrics) -> float:
    total = 0.0
    for family in metrics.challenges.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("outcome") == "expired":
                total += sample.value
    return total


async def test_a_challenge_expires_once_and_waiters_on_both_instances_learn_it(
    make_harness: Any,
) -> None:
    prefix = unique_prefix()
    shared = {"redis_url": REDIS_URL, "redis_prefix": prefix, "challenge_ttl": 1.0}
    try:
        async with make_harness(**shared) as a, make_harness(**shared) as b:
            await a.enrol("alice")
            _, created = await a.call("POST", "/v1/users/alice/push/challenges", expect=201)
            path = f"/v1/push/challenges/{created['id']}?wait=10"
            answers = await asyncio.wait_for(
                asyncio.gather(a.call("GET", path), b.call("GET", path), b.call("GET", path)), 15
            )
            assert [(status, body["state"]) for status, body in answers] == [(200, "expired")] * 3
            await asyncio.sleep(1.2)  # both sweepers have run past the deadline since
            counts = [expired_count(h.services.ctx.metrics) for h in (a, b)]
            assert sum(counts) == 1  # exactly one instance expired it
            _, again = await a.call("POST", "/v1/users/alice/push/challenges", expect=201)
            assert again["id"] != created["id"]  # the user is free to be asked again
    finally:
        await drop_keys(prefix)
