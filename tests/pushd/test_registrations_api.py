"""Push registration through the API: every way it can end."""

from __future__ import annotations

import asyncio
from typing import Any

from authenticator_sim.responder import registration_request
from mfa_core.push import parse_registration_uri
from pushd.delivery.base import SendOutcome, SendResult
from tests.support.harness import Harness
from tests.support.waiting import waiters_reach

STORES = ("sqlite", "redis")  # every test here runs on both stores


async def start(h: Harness, username: str = "bob", **body: Any) -> dict[str, Any]:
    _, started = await h.call(
        "POST", f"/v1/users/{username}/push/registrations", json=body, expect=201
    )
    return started


async def state(h: Harness, registration_id: str, query: str = "") -> dict[str, Any]:
    _, body = await h.call("GET", f"/v1/push/registrations/{registration_id}{query}", expect=200)
    return body


async def test_issuer_and_account_name_can_be_chosen(harness: Harness) -> None:
    started = await start(harness, issuer="Backstage Staging", account_name="bob@example.com")
    registration = parse_registration_uri(started["uri"])
    assert (registration.issuer, registration.account) == ("Backstage Staging", "bob@example.com")


async def test_branding_settings_reach_the_qr_code(make_harness: Any) -> None:
    async with make_harness(
        push_background_colour="1a2b3c", push_image_url="https://sso.example.com/logo.png"
    ) as h:
        registration = parse_registration_uri((await start(h))["uri"])
        assert registration.background_colour == "1a2b3c"
        assert registration.image_url == "https://sso.example.com/logo.png"


async def test_one_push_device_per_user(harness: Harness) -> None:
    await harness.enrol("bob")
    status, body = await harness.call("POST", "/v1/users/bob/push/registrations", json={})
    assert (status, body["error"]["code"]) == (409, "push_device_exists")


async def test_a_denied_test_notification_denies_the_registration(harness: Harness) -> None:
    started = await start(harness)
    phone = harness.phone()
    _, enrolled = await phone.scan(started["uri"])
    assert await phone.answer(enrolled, await harness.transport.next(), approve=False) == 200
    result = await state(harness, started["id"], "?wait=5")
    assert (result["state"], result["reason"]) == ("denied", "denied_by_user")
    assert "recovery_codes" not in result
    # No device was added: the user can register again.
    await start(harness)


async def test_expired_registration_refuses_the_late_phone(make_harness: Any) -> None:
    async with make_harness(registration_ttl=0.3) as h:
        started = await start(h)
        result = await state(h, started["id"], "?wait=10")
        assert (result["state"], result["reason"]) == ("expired", "timeout")
        status, _ = await h.phone().scan(started["uri"])
        assert status == 400


async def test_cancel_a_registration(harness: Harness) -> None:
    started = await start(harness)
    _, cancelled = await harness.call(
        "DELETE", f"/v1/push/registrations/{started['id']}", expect=200
    )
    assert cancelled["state"] == "cancelled"
    status, _ = await harness.phone().scan(started["uri"])
    assert status == 400
    status, body = await harness.call("DELETE", f"/v1/push/registrations/{started['id']}")
    assert (status, body["error"]["code"]) == (409, "already_final")


async def test_cancel_after_the_scan_also_ends_the_test_notification(harness: Harness) -> None:
    started = await start(harness)
    phone = harness.phone()
    _, enrolled = await phone.scan(started["uri"])
    test = await harness.transport.next()
    await harness.call("DELETE", f"/v1/push/registrations/{started['id']}", expect=200)
    assert await phone.answer(enrolled, test) == 400
    assert (await state(harness, started["id"]))["state"] == "cancelled"


async def test_undeliverable_test_notification(harness: Harness) -> None:
    harness.transport.script.append(
        SendResult(outcome=SendOutcome.BAD_TOKEN, reason="BadDeviceToken", status=400)
    )
    started = await start(harness)
    await harness.phone(ios=True).scan(started["uri"])
    result = await state(harness, started["id"], "?wait=5&seen=registered")
    assert (result["state"], result["reason"]) == ("delivery_failed", "BadDeviceToken")


async def test_recovery_codes_go_to_exactly_one_of_many_racing_pollers(harness: Harness) -> None:
    started = await start(harness)
    phone = harness.phone()
    _, enrolled = await phone.scan(started["uri"])
    test = await harness.transport.next()
    polls = [
        asyncio.create_task(state(harness, started["id"], "?wait=10&seen=registered"))
        for _ in range(20)
    ]
    await waiters_reach(harness.services.ctx.hub, 20)
    assert await phone.answer(enrolled, test) == 200
    results = await asyncio.gather(*polls)
    assert {r["state"] for r in results} == {"confirmed"}
    assert sum("recovery_codes" in r for r in results) == 1


async def test_a_mechanism_uid_cannot_be_registered_twice(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("bob")
    started = await start(harness, "carol")
    status, _ = await phone.send(
        registration_request(
            parse_registration_uri(started["uri"]),
            phone=phone.phone,
            mechanism_uid=enrolled.mechanism_uid,
        )
    )
    assert status == 400
    assert (await state(harness, started["id"]))["state"] == "pending"


async def test_usernames_are_case_insensitive(harness: Harness) -> None:
    await harness.enrol("Bob")
    status, body = await harness.call("POST", "/v1/users/bob/push/registrations", json={})
    assert (status, body["error"]["code"]) == (409, "push_device_exists")
    await harness.call("POST", "/v1/users/BOB/push/challenges", expect=201)
