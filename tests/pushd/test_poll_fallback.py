"""pushd's poll fallback: a phone whose push never arrived fetches and answers it."""

from __future__ import annotations

import time
from typing import Any

from mfa_core.push import parse_registration_uri
from pushd.handlers.device import BAD_REQUEST
from tests.support.harness import Harness
from tests.support.phone import Enrolled
from tests.support.rng import fixed_rng

STORES = ("sqlite", "redis")  # every test here runs on both stores


async def test_a_lost_notification_can_be_fetched_and_answered(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("alice")
    _, created = await harness.call("POST", "/v1/users/alice/push/challenges", expect=201)
    sent = await harness.transport.next()  # "sent", but say it never reached the phone
    status, body = await phone.pending(enrolled)
    assert status == 200
    assert body == {"notifications": [{"messageId": sent.message_id, "message": sent.jwt}]}
    assert await phone.answer(enrolled, sent) == 200
    _, done = await harness.call("GET", f"/v1/push/challenges/{created['id']}", expect=200)
    assert done["state"] == "approved"
    assert await phone.pending(enrolled) == (200, {"notifications": []})


async def test_the_registration_test_notification_is_there_too(harness: Harness) -> None:
    _, started = await harness.call("POST", "/v1/users/bob/push/registrations", expect=201)
    phone = harness.phone()
    _, enrolled = await phone.scan(started["uri"])
    test = await harness.transport.next()
    status, body = await phone.pending(enrolled)
    assert (status, [n["messageId"] for n in body["notifications"]]) == (200, [test.message_id])


async def test_nothing_pending(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("alice")
    assert await phone.pending(enrolled) == (200, {"notifications": []})


async def test_replayed_stale_and_forged_polls_are_refused(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("alice")
    nonce = bytes(range(16))
    assert (await phone.pending(enrolled, rng=fixed_rng(nonce)))[0] == 200
    assert await phone.pending(enrolled, rng=fixed_rng(nonce)) == (400, BAD_REQUEST)
    assert await phone.pending(enrolled, now=time.time() - 120) == (400, BAD_REQUEST)
    assert await phone.pending(enrolled, now=time.time() + 120) == (400, BAD_REQUEST)
    forged = Enrolled(
        registration=_with_secret(enrolled, bytes(32)), mechanism_uid=enrolled.mechanism_uid
    )
    assert await phone.pending(forged) == (400, BAD_REQUEST)
    stranger = Enrolled(registration=enrolled.registration, mechanism_uid="who-knows")
    assert await phone.pending(stranger) == (400, BAD_REQUEST)


def _with_secret(enrolled: Enrolled, secret: bytes) -> Any:
    from dataclasses import replace

    return replace(enrolled.registration, secret=secret)


async def test_pending_is_on_the_derived_url(harness: Harness) -> None:
    _, started = await harness.call("POST", "/v1/users/carol/push/registrations", expect=201)
    registration = parse_registration_uri(started["uri"])
    assert registration.registration_url.endswith("_action=register")
