"""The whole push lifecycle through the HTTP API and the device endpoint."""

from __future__ import annotations

import asyncio

from mfa_core.push import parse_registration_uri
from mfa_core.recovery import redeem_recovery_code
from tests.support.harness import Harness

STORES = ("sqlite", "redis")  # every test here runs on both stores


async def test_register_then_approve_a_login(harness: Harness) -> None:
    status, started = await harness.call(
        "POST", "/v1/users/alice/push/registrations", json={}, expect=201
    )
    assert set(started) == {"id", "state", "uri", "qr_svg", "expires_at"}
    assert started["state"] == "pending"
    assert started["qr_svg"].startswith("<svg")
    registration = parse_registration_uri(started["uri"])
    base = harness.services.ctx.settings.base_url
    assert registration.registration_url == f"{base}/push/device?_action=register"
    assert registration.authentication_url == f"{base}/push/device?_action=authenticate"
    assert (registration.issuer, registration.account) == ("Backstage", "alice")
    assert registration.load_balancer_cookie == "amlbcookie=01"
    assert len(registration.secret) == 32

    phone = harness.phone()
    waiting = asyncio.create_task(
        harness.call("GET", f"/v1/push/registrations/{started['id']}?wait=10&seen=pending")
    )
    status, enrolled = await phone.scan(started["uri"])
    assert status == 200
    _, registered = await waiting
    assert registered["state"] == "registered"
    assert registered["device_name"] == "Pixel 9"

    test = await harness.transport.next()
    assert test.push_token == phone.phone.push_token
    assert await phone.answer(enrolled, test) == 200
    _, confirmed = await harness.call(
        "GET", f"/v1/push/registrations/{started['id']}?wait=5", expect=200
    )
    assert confirmed["state"] == "confirmed"
    codes = confirmed["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    _, again = await harness.call("GET", f"/v1/push/registrations/{started['id']}", expect=200)
    assert "recovery_codes" not in again  # shown exactly once

    # The codes are stored only as hashes, and they work.
    ctx = harness.services.ctx
    user_id = await ctx.store.user_id_by("username", "alice")
    assert user_id is not None
    user = await ctx.store.users.get(user_id)
    assert user is not None
    assert not any(code.encode() in repr(user.record).encode() for code in codes)
    match = redeem_recovery_code(user.record.recovery, codes[0], key=ctx.hash_key)
    assert match.owner == user.record.push[0].device_id

    # Now a login: the long-poll answers the moment the phone approves.
    _, challenge = await harness.call(
        "POST", "/v1/users/alice/push/challenges", json={}, expect=201
    )
    assert challenge["state"] == "pending"
    poll = asyncio.create_task(
        harness.call("GET", f"/v1/push/challenges/{challenge['id']}?wait=30")
    )
    notification = await harness.transport.next()
    assert notification.message_id.startswith("AUTHENTICATE:")
    assert notification.alert == "Login attempt from alice at Backstage"
    assert not poll.done()
    assert await phone.answer(enrolled, notification) == 200
    status, outcome = await poll
    assert (status, outcome["state"]) == (200, "approved")
