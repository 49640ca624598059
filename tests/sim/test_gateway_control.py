"""The control API over HTTP: long-polled inboxes, faults, stats and settings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from authenticator_sim.gateway import Delivered, Gateway


@pytest.fixture
async def http(gateway: Gateway) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=gateway.control_url) as session:
        yield session


def _item(token: str, message_id: str) -> Delivered:
    return Delivered(
        platform="fcm",
        token=token,
        message_id=message_id,
        jwt="j",
        payload={"token": token},
        received_at=time.time(),
    )


async def test_a_long_poll_answers_when_a_notification_arrives(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    waiting = _waiting_for(gateway, "tok-1")
    poll = asyncio.create_task(http.get("/inbox/tok-1", params={"wait": "10"}))
    async with asyncio.timeout(5):
        await waiting.wait()
    gateway.inbox.deliver(_item("tok-1", "m1"))
    async with await poll as response:
        body = await response.json()
    assert [n["messageId"] for n in body["notifications"]] == ["m1"]
    assert set(body["notifications"][0]) == {
        "platform", "token", "messageId", "jwt", "payload", "received_at"
    }  # fmt: skip


def _waiting_for(gateway: Gateway, token: str) -> asyncio.Event:
    """Set once someone starts waiting for ``token`` in the gateway's inbox."""
    waiting = asyncio.Event()
    gateway.inbox.observe(lambda key: waiting.set() if key == token else None)
    return waiting


async def test_queued_notifications_come_back_at_once_and_are_removed(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    for message_id in ("a", "b"):
        gateway.inbox.deliver(_item("tok-2", message_id))
    async with http.get("/inbox/tok-2", params={"wait": "30"}) as response:
        assert [n["messageId"] for n in (await response.json())["notifications"]] == ["a", "b"]
    async with http.get("/inbox/tok-2") as response:  # wait=0: no waiting at all
        assert (await response.json())["notifications"] == []


async def test_posting_tokens_waits_for_any_of_them(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    waiting = _waiting_for(gateway, "x-2")
    poll = asyncio.create_task(
        http.post("/inbox", params={"wait": "10"}, json={"tokens": ["x-1", "x-2"]})
    )
    async with asyncio.timeout(5):
        await waiting.wait()
    gateway.inbox.deliver(_item("x-2", "m2"))
    async with await poll as response:
        assert [n["token"] for n in (await response.json())["notifications"]] == ["x-2"]


async def test_an_empty_long_poll_times_out_empty(http: aiohttp.ClientSession) -> None:
    async with http.get("/inbox/nobody", params={"wait": "0.1"}) as response:
        assert (await response.json())["notifications"] == []


async def test_faults_over_http(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    fault = {"platform": "apns", "token": None, "status": 410, "reason": "Unregistered"}
    async with http.post("/faults", json={**fault, "count": 2, "stall": 0}) as response:
        assert response.status == 201
        fault_id = (await response.json())["id"]
    async with http.get("/faults") as response:
        listed = (await response.json())["faults"]
    assert [(f["id"], f["status"], f["count"]) for f in listed] == [(fault_id, 410, 2)]
    matched = gateway.faults.take("apns", "ab" * 32)
    assert matched is not None
    assert matched.reason == "Unregistered"
    async with http.delete("/faults") as response:
        assert (await response.json())["cleared"] == 1
    assert gateway.faults.take("apns", "ab" * 32) is None


@pytest.mark.parametrize(
    "fault",
    [
        {"platform": "sms", "status": 500},
        {"status": "500"},
        {"status": 700},
        {"status": 500, "count": 0},
        {"status": 500, "stall": -1},
        {"status": 500, "token": 5},
    ],
)
async def test_bad_faults_are_refused(
    http: aiohttp.ClientSession, fault: dict[str, object]
) -> None:
    async with http.post("/faults", json=fault) as response:
        assert response.status == 400


@pytest.mark.parametrize("query", ["wait=61", "wait=soon", "wait=-1"])
async def test_bad_waits_are_refused(http: aiohttp.ClientSession, query: str) -> None:
    async with http.get(f"/inbox/t?{query}") as response:
        assert response.status == 400


async def test_stats_settings_and_health(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    async with http.get("/stats") as response:
        stats = await response.json()
    assert stats["received"] == {"apns": 0, "fcm": 0}
    assert set(stats) >= {"answered", "access_tokens_issued", "provider_tokens_seen"}
    async with http.get("/settings") as response:
        assert await response.json() == gateway.pushd_env()
    async with http.get("/healthz") as response:
        assert (await response.json()) == {"status": "ok"}
