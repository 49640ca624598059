"""Each known trap of aioapns and firebase-admin, handled by pushd's transports.

pushd's own transports send to authsim's gateway through the real libraries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from authenticator_sim.gateway import Gateway
from mfa_core.push import PushType
from mfa_core.push_replies import Transport
from pushd.delivery.apns import CATEGORIES, ApnsTransport
from pushd.delivery.base import PushMessage, SendOutcome
from pushd.delivery.dispatcher import Dispatcher, RetryPolicy
from pushd.delivery.fcm import FcmTransport
from pushd.metrics import Metrics
from pushd.settings import Settings
from tests.e2e.conftest import gateway_settings

IPHONE = "a1" * 32


def settings_for(gw: Gateway, **changes: Any) -> Settings:
    return dataclasses.replace(Settings(**gateway_settings(gw)), **changes)


def message(token: str, *, platform: Transport = Transport.APNS, **changes: Any) -> PushMessage:
    fields: dict[str, Any] = {
        "key": "c1",
        "message_id": "AUTHENTICATE:0f8fad5b-d9cb-469f-a165-70867728950e1700000000000",
        "jwt": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30.sig",
        "push_token": token,
        "platform": platform,
        "push_type": PushType.CHALLENGE,
        "alert": "Login attempt from alice at Backstage",
        "expires_at": time.time() + 120,
    }
    fields.update(changes)
    return PushMessage(**fields)


@pytest.fixture
async def apns(gateway: Gateway) -> AsyncIterator[ApnsTransport]:
    transport = ApnsTransport(settings_for(gateway))
    try:
        yield transport
    finally:
        await transport.close()


async def test_apns_payload_is_the_protocols(apns: ApnsTransport, gateway: Gateway) -> None:
    sent = message(IPHONE)
    assert (await apns.send(sent)).outcome is SendOutcome.DELIVERED
    delivered = await gateway.inbox.next(IPHONE, within=5)
    assert delivered is not None
    assert delivered.payload == {
        "aps": {
            "alert": sent.alert,
            "sound": "default",
            "category": "authentication_challenge",
            "interruption-level": "time-sensitive",
            "messageId": sent.message_id,
            "data": sent.jwt,
            "content-available": 1,
            "mutable-content": 1,
        }
    }
    assert CATEGORIES == {
        PushType.DEFAULT: "authentication",
        PushType.CHALLENGE: "authentication_challenge",
        PushType.BIOMETRIC: "authentication_biometric",
    }


async def test_error_bodies_never_stall_a_connection(apns: ApnsTransport) -> None:
    """aioapns never returns flow-control credit: unpatched, ~2,400 errors stall it."""
    bad = message("not-a-token")

    async def send() -> SendOutcome:
        return (await apns.send(bad)).outcome

    async with asyncio.timeout(60):
        for _ in range(5):
            outcomes = await asyncio.gather(*(send() for _ in range(600)))
            assert set(outcomes) == {SendOutcome.BAD_TOKEN}


async def test_one_provider_token_across_connections(apns: ApnsTransport, gateway: Gateway) -> None:
    """A new connection must not sign a new token (Apple: TooManyProviderTokenUpdates)."""
    for _ in range(3):
        assert (await apns.send(message(IPHONE))).outcome is SendOutcome.DELIVERED
        apns._pool.close()
        await asyncio.sleep(0)  # let connection_lost run
    assert gateway.stats()["provider_tokens_seen"] == 1


async def test_successful_sends_leave_nothing_behind(apns: ApnsTransport) -> None:
    outcomes = await asyncio.gather(*(apns.send(message(IPHONE)) for _ in range(300)))
    assert {r.outcome for r in outcomes} == {SendOutcome.DELIVERED}
    connections = apns._pool.connections
    assert connections
    assert sum(len(c.request_streams) + len(c.requests) for c in connections) == 0


async def test_a_stalled_send_times_out_and_the_next_goes_through(gateway: Gateway) -> None:
    transport = ApnsTransport(settings_for(gateway))
    errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    dispatcher = Dispatcher(
        {Transport.APNS: transport},
        Metrics(),
        policy=RetryPolicy(attempts=2, base=0.01, cap=0.01, send_timeout=0.5),
    )
    results: list[Any] = []
    done = asyncio.Event()

    async def on_result(_message: PushMessage, result: Any) -> None:
        results.append(result)
        done.set()

    dispatcher.set_result_handler(on_result)
    gateway.faults.add(platform="apns", status=200, stall=5.0, count=1)
    dispatcher.submit(message(IPHONE))
    async with asyncio.timeout(10):
        await done.wait()
    assert [r.outcome for r in results] == [SendOutcome.DELIVERED]  # retried on a new connection
    await dispatcher.close()
    await asyncio.sleep(0)
    loop.set_exception_handler(None)
    assert errors == []  # no InvalidStateError from aioapns's connection_lost


async def test_certificate_auth(gateway: Gateway) -> None:
    settings = settings_for(
        gateway, apns_key_file="", apns_key_id="", apns_team_id="",
        apns_cert_file=str(gateway.apns_client_cert_file),
    )  # fmt: skip
    transport = ApnsTransport(settings)
    try:
        assert (await transport.send(message(IPHONE))).outcome is SendOutcome.DELIVERED
    finally:
        await transport.close()


@pytest.mark.parametrize(
    ("status", "reason", "outcome"),
    [
        (410, "Unregistered", SendOutcome.UNREGISTERED),
        (400, "BadDeviceToken", SendOutcome.BAD_TOKEN),
        (429, "TooManyRequests", SendOutcome.RETRY),
        (500, "InternalServerError", SendOutcome.RETRY),
        (503, "ServiceUnavailable", SendOutcome.RETRY),
        (403, "ExpiredProviderToken", SendOutcome.RETRY),
        (403, "InvalidProviderToken", SendOutcome.REJECTED),
        (413, "PayloadTooLarge", SendOutcome.REJECTED),
    ],
)
async def test_apns_answers_map_to_outcomes(
    apns: ApnsTransport, gateway: Gateway, status: int, reason: str, outcome: SendOutcome
) -> None:
    gateway.faults.add(platform="apns", status=status, reason=reason, count=1)
    result = await apns.send(message(IPHONE))
    assert (result.outcome, result.reason, result.status) == (outcome, reason, status)


async def test_oversized_payloads_are_refused_before_sending(
    apns: ApnsTransport, gateway: Gateway
) -> None:
    big = message(IPHONE, jwt="x" * 5000)
    assert (await apns.send(big)).reason == "PayloadTooLarge"
    fcm = FcmTransport(settings_for(gateway))
    try:
        result = await fcm.send(message("fcm-token", platform=Transport.FCM, jwt="x" * 5000))
        assert result.reason == "MESSAGE_TOO_BIG"
    finally:
        await fcm.close()
    assert gateway.stats()["received"] == {"apns": 0, "fcm": 0}


async def test_fcm_message_and_one_token_refresh(gateway: Gateway) -> None:
    fcm = FcmTransport(settings_for(gateway))
    try:
        for _ in range(5):
            result = await fcm.send(message("fcm-token", platform=Transport.FCM))
            assert result.outcome is SendOutcome.DELIVERED
        delivered = await gateway.inbox.next("fcm-token", within=5)
        assert delivered is not None
        assert delivered.payload["data"] == {
            "messageId": message("x").message_id,
            "message": message("x").jwt,
        }
        assert delivered.payload["android"]["priority"] == "high"
        assert gateway.stats()["access_tokens_issued"] == 1  # refreshed once, ahead of time
    finally:
        await fcm.close()  # inside the running loop: firebase-admin's own close would fail


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (404, "UNREGISTERED", SendOutcome.UNREGISTERED),
        (403, "SENDER_ID_MISMATCH", SendOutcome.BAD_TOKEN),
        (429, "QUOTA_EXCEEDED", SendOutcome.RETRY),
        (503, "UNAVAILABLE", SendOutcome.RETRY),
        (500, "INTERNAL", SendOutcome.RETRY),
        (401, "THIRD_PARTY_AUTH_ERROR", SendOutcome.REJECTED),
        (400, "INVALID_ARGUMENT", SendOutcome.REJECTED),
    ],
)
async def test_fcm_answers_map_to_outcomes(
    gateway: Gateway, status: int, code: str, outcome: SendOutcome
) -> None:
    fcm = FcmTransport(settings_for(gateway))
    gateway.faults.add(platform="fcm", status=status, reason=code, count=1)
    try:
        result = await fcm.send(message("fcm-token", platform=Transport.FCM))
    finally:
        await fcm.close()
    assert (result.outcome, result.status) == (outcome, status)
    assert gateway.stats()["received"]["fcm"] == 1  # firebase-admin did not retry by itself


async def test_a_refused_token_is_refreshed_off_the_loop(gateway: Gateway) -> None:
    """On a 401 firebase-admin would refresh inline, blocking the loop (120 s here)."""
    fcm = FcmTransport(settings_for(gateway))
    gateway.faults.add(platform="fcm", status=401, reason="THIRD_PARTY_AUTH_ERROR", count=1)
    try:
        async with asyncio.timeout(30):  # an inline refresh would hang far longer
            assert (await fcm.send(message("t", platform=Transport.FCM))).status == 401
            result = await fcm.send(message("t", platform=Transport.FCM))
    finally:
        await fcm.close()
    assert result.outcome is SendOutcome.DELIVERED
    assert gateway.stats()["access_tokens_issued"] == 2
