"""The APNs stand-in through the real aioapns client: delivery, Apple's errors, faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aioapns.common import PushType
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from authenticator_sim.gateway import Gateway
from tests.sim.apns_clients import (
    cert_pool,
    device_token,
    key_pool,
    notification,
    preset_pool,
    provider_token,
    send,
)


@pytest.fixture
async def pool(gateway: Gateway) -> AsyncIterator[Any]:
    apns = key_pool(gateway, max_connections=1)
    yield apns
    apns.close()


async def test_token_auth_delivers_to_the_inbox(gateway: Gateway, pool: Any) -> None:
    token = device_token().upper()
    request = notification(token, "msg-1", "h.p.s", push_type=PushType.ALERT, priority=10)
    result = await send(pool, request)
    assert (result.status, result.notification_id) == ("200", request.notification_id)
    item = await gateway.inbox.next(token.lower(), within=5)
    assert item is not None
    assert (item.platform, item.message_id, item.jwt) == ("apns", "msg-1", "h.p.s")
    assert item.token == token
    assert item.payload["aps"]["content-available"] == 1
    stats = gateway.stats()
    assert stats["delivered"]["apns"] == 1
    assert stats["answered"]["apns"] == {"200": 1}
    assert stats["provider_tokens_seen"] == 1


async def test_certificate_auth_needs_no_provider_token(gateway: Gateway) -> None:
    apns = cert_pool(gateway)
    try:
        token = device_token()
        result = await send(apns, notification(token, "msg-2", "x.y.z"))
        assert result.status == "200"
        item = await gateway.inbox.next(token, within=5)
        assert item is not None
        assert (item.message_id, item.jwt) == ("msg-2", "x.y.z")
        wrong = notification(token, apns_topic="com.example.other")
        assert (await send(apns, wrong)).description == "DeviceTokenNotForTopic"
        assert gateway.stats()["provider_tokens_seen"] == 0
    finally:
        apns.close()


@pytest.mark.parametrize(
    ("changes", "status", "reason"),
    [
        ({"token": "abc123"}, "400", "BadDeviceToken"),
        ({"apns_topic": "com.example.other"}, "400", "TopicDisallowed"),
        ({"apns_topic": "com.forgerock.ios.authenticator.voip"}, "200", None),
        ({"collapse_key": "c" * 65}, "400", "BadCollapseId"),
        ({"collapse_key": "c" * 64}, "200", None),
        ({"priority": 7}, "400", "BadPriority"),
        ({"notification_id": "not-a-uuid"}, "400", "BadMessageId"),
        ({"jwt_text": "x" * 4096}, "413", "PayloadTooLarge"),
    ],
)
async def test_apple_reasons(
    pool: Any, changes: dict[str, Any], status: str, reason: str | None
) -> None:
    token = changes.pop("token", device_token())
    result = await send(pool, notification(token, **changes))
    assert (result.status, result.description) == (status, reason)


def _foreign_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


@pytest.mark.parametrize(
    ("token_options", "status", "reason"),
    [
        ({"age": 3700}, "403", "ExpiredProviderToken"),
        ({"key": _foreign_key()}, "403", "InvalidProviderToken"),
        ({"key_id": "WRONGKEY00"}, "403", "InvalidProviderToken"),
        ({"team_id": "WRONGTEAM0"}, "403", "InvalidProviderToken"),
        ({"age": 3500}, "200", None),
    ],
)
async def test_provider_token_errors(
    gateway: Gateway, token_options: dict[str, Any], status: str, reason: str | None
) -> None:
    options = dict(token_options)
    if "age" in options:  # relative to now: the suite may reach this test minutes later
        options["iat"] = time.time() - options.pop("age")
    apns = preset_pool(gateway, provider_token(gateway, **options))
    try:
        result = await send(apns, notification(device_token()))
        assert (result.status, result.description) == (status, reason)
    finally:
        apns.close()


async def test_a_new_token_within_20_minutes_is_refused(gateway: Gateway) -> None:
    first = provider_token(gateway, iat=time.time() - 60)
    newer = provider_token(gateway, iat=time.time() - 30)
    pools = [preset_pool(gateway, header) for header in (first, newer, first)]
    try:
        results = [await send(apns, notification(device_token())) for apns in pools]
    finally:
        for apns in pools:
            apns.close()
    assert [(r.status, r.description) for r in results] == [
        ("200", None),
        ("429", "TooManyProviderTokenUpdates"),
        ("200", None),  # reusing a token already seen is always fine
    ]


async def test_token_updates_are_free_when_not_strict(gateway_dir: Any) -> None:
    async with Gateway(gateway_dir, strict_token_updates=False) as gateway:
        for age in (60, 30):
            apns = preset_pool(gateway, provider_token(gateway, iat=time.time() - age))
            try:
                assert (await send(apns, notification(device_token()))).status == "200"
            finally:
                apns.close()


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (410, "Unregistered"),
        (429, "TooManyRequests"),
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
    ],
)
async def test_faults_answer_like_apple(
    gateway: Gateway, pool: Any, status: int, reason: str
) -> None:
    token = device_token()
    gateway.faults.add(platform="apns", token=token.upper(), status=status, reason=reason, count=1)
    result = await send(pool, notification(token))
    assert (result.status, result.description) == (str(status), reason)
    assert (result.timestamp is not None) == (status == 410)
    assert gateway.inbox.take(token) == []
    assert (await send(pool, notification(token))).status == "200"  # count=1 is used up


async def test_a_fault_without_reason_gets_apples(gateway: Gateway, pool: Any) -> None:
    gateway.faults.add(status=410, count=1)  # aioapns would hang on a body without a reason
    result = await send(pool, notification(device_token()))
    assert (result.status, result.description) == ("410", "Unregistered")


async def test_faults_match_by_platform_and_token(gateway: Gateway, pool: Any) -> None:
    token, other = device_token(), device_token()
    gateway.faults.add(platform="fcm", status=503, reason="UNAVAILABLE")
    gateway.faults.add(platform="apns", token=token, status=410, reason="Unregistered")
    assert (await send(pool, notification(other))).status == "200"
    assert (await send(pool, notification(token))).status == "410"
    assert (await send(pool, notification(token))).status == "410"  # no count: until cleared
    gateway.faults.clear()
    assert (await send(pool, notification(token))).status == "200"


async def test_a_stall_delays_the_answer(gateway: Gateway, pool: Any) -> None:
    token = device_token()
    gateway.faults.add(token=token, status=200, stall=0.3, count=1)
    gateway.faults.add(token=token, status=503, reason="ServiceUnavailable", stall=0.2, count=1)
    started = time.monotonic()
    stalled = asyncio.create_task(send(pool, notification(token, "slow")))
    quick = await send(pool, notification(device_token()))  # others are not held up
    assert quick.status == "200"
    assert not stalled.done()
    assert (await stalled).status == "200"
    assert time.monotonic() - started >= 0.3
    item = await gateway.inbox.next(token, within=1)
    assert item is not None
    assert item.message_id == "slow"
    failed = await send(pool, notification(token))
    assert (failed.status, failed.description) == ("503", "ServiceUnavailable")


async def test_many_concurrent_streams_on_one_connection(gateway: Gateway, pool: Any) -> None:
    tokens = [device_token() for _ in range(600)]
    results = await asyncio.gather(*(send(pool, notification(t)) for t in tokens))
    assert {r.status for r in results} == {"200"}
    assert len(pool.connections) == 1
    assert len(gateway.inbox) == 600
    assert gateway.stats()["answered"]["apns"] == {"200": 600}
