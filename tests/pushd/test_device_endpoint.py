"""Every bad device reply gets the protocol's 400 and changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from authenticator_sim.responder import read_notification, registration_request
from mfa_core.encoding import b64url_encode
from mfa_core.errors import IllegalTransition
from mfa_core.push import PushRegistration, challenge_response, parse_registration_uri, sign_jwt
from mfa_core.push_replies import authentication_claims
from mfa_core.push_state import PushEvent, PushState
from pushd.handlers.device import BAD_REQUEST
from tests.support.harness import Harness
from tests.support.phone import SimPhone

STORES = ("sqlite", "redis")  # every test here runs on both stores


async def post_raw(
    h: Harness, url: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with h.session.post(url, data=body, headers=headers or {}) as response:
        return response.status, json.loads(await response.read())


def none_jwt(claims: dict[str, object]) -> str:
    header = b64url_encode(b'{"alg":"none","typ":"JWT"}')
    return f"{header}.{b64url_encode(json.dumps(claims).encode())}."


def other_alg_jwt(claims: dict[str, object], secret: bytes) -> str:
    header = b64url_encode(b'{"alg":"HS512","typ":"JWT"}')
    payload = b64url_encode(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha512).digest()
    return f"{header}.{payload}.{b64url_encode(mac)}"


async def registration_state(h: Harness, registration_id: str) -> dict[str, Any]:
    _, body = await h.call("GET", f"/v1/push/registrations/{registration_id}", expect=200)
    return body


def reg_body(
    reg: PushRegistration, claims: dict[str, object] | None = None, **overrides: object
) -> bytes:
    base_claims: dict[str, object] = {
        "response": challenge_response(reg.secret, reg.challenge),
        "mechanismUid": "7d9d0c5e-8f9a-4c31-9b63-2f5f0b0c6a11",
        "deviceId": "fcm-token",
        "deviceName": "Pixel",
        "deviceType": "android",
        "communicationType": "gcm",
    }
    base_claims.update(claims or {})
    body: dict[str, object] = {
        "messageId": reg.message_id,
        "jwt": sign_jwt(base_claims, reg.secret),
    }
    body.update(overrides)
    return json.dumps(body).encode()


BAD_REGISTRATIONS: dict[str, Callable[[PushRegistration], bytes]] = {
    "malformed JSON": lambda _: b'{"messageId": ',
    "not an object": lambda _: b"[]",
    "empty body": lambda _: b"",
    "missing jwt": lambda reg: json.dumps({"messageId": reg.message_id}).encode(),
    "unknown message id": lambda reg: reg_body(
        reg, messageId="REGISTER:00000000-0000-4000-8000-0000000000001700000000000"
    ),
    "message id of the wrong kind": lambda reg: reg_body(
        reg, messageId=reg.message_id.replace("REGISTER", "AUTHENTICATE")
    ),
    "same uuid, other timestamp": lambda reg: reg_body(reg, messageId=reg.message_id[:-3] + "000"),
    "wrong challenge response": lambda reg: reg_body(
        reg, {"response": challenge_response(reg.secret, b"other")}
    ),
    "bad signature": lambda reg: reg_body(reg, jwt=sign_jwt({"response": "x"}, bytes(32))),
    "alg none": lambda reg: reg_body(
        reg, jwt=none_jwt({"response": challenge_response(reg.secret, reg.challenge)})
    ),
    "alg HS512": lambda reg: reg_body(
        reg,
        jwt=other_alg_jwt({"response": challenge_response(reg.secret, reg.challenge)}, reg.secret),
    ),
    "unknown transport": lambda reg: reg_body(reg, {"communicationType": "pigeon"}),
    "no push token": lambda reg: reg_body(reg, {"deviceId": ""}),
    "oversized": lambda reg: reg_body(reg, padding="x" * 20_000),
    "jwt not a string": lambda reg: reg_body(reg, jwt=42),
}


@pytest.mark.parametrize("case", list(BAD_REGISTRATIONS))
async def test_bad_registration_replies_get_400_and_change_nothing(
    harness: Harness, case: str
) -> None:
    _, started = await harness.call("POST", "/v1/users/bob/push/registrations", expect=201)
    reg = parse_registration_uri(started["uri"])
    status, body = await post_raw(harness, reg.registration_url, BAD_REGISTRATIONS[case](reg))
    assert (status, body) == (400, BAD_REQUEST)
    assert (await registration_state(harness, started["id"]))["state"] == "pending"
    assert harness.transport.sent.empty()
    # The genuine reply still works afterwards: nothing was consumed.
    status, _ = await harness.phone().scan(started["uri"])
    assert status == 200


async def test_a_registration_is_answered_once(harness: Harness) -> None:
    _, started = await harness.call("POST", "/v1/users/bob/push/registrations", expect=201)
    phone = harness.phone()
    reg = parse_registration_uri(started["uri"])
    request = registration_request(reg, phone=phone.phone, mechanism_uid="a-mechanism")
    assert (await phone.send(request))[0] == 200
    assert await phone.send(request) == (400, BAD_REQUEST)
    assert (await registration_state(harness, started["id"]))["state"] == "registered"


async def test_ios_style_reply_is_accepted(harness: Harness) -> None:
    """iOS escapes slashes and sends the cookie as Set-Cookie."""
    _, started = await harness.call("POST", "/v1/users/carol/push/registrations", expect=201)
    phone = harness.phone(ios=True)
    status, enrolled = await phone.scan(started["uri"])
    assert status == 200
    test = await harness.transport.next()
    assert test.platform == "apns"
    assert await phone.answer(enrolled, test) == 200
    assert (await registration_state(harness, started["id"]))["state"] == "confirmed"


async def test_unknown_action_and_other_methods(harness: Harness) -> None:
    base = harness.services.ctx.settings.base_url
    assert await post_raw(harness, f"{base}/push/device?_action=steal", b"{}") == (400, BAD_REQUEST)
    assert await post_raw(harness, f"{base}/push/device", b"{}") == (400, BAD_REQUEST)
    async with harness.session.get(f"{base}/push/device") as response:
        assert response.status == 405


async def enrolled_with_challenge(
    h: Harness, *, push_type: str = "default"
) -> tuple[SimPhone, Any, Any, str]:
    phone, enrolled, _ = await h.enrol("dave")
    _, challenge = await h.call(
        "POST", "/v1/users/dave/push/challenges", json={"type": push_type}, expect=201
    )
    message = await h.transport.next()
    return phone, enrolled, message, challenge["id"]


def auth_body(message_id: str, jwt: str) -> bytes:
    return json.dumps({"messageId": message_id, "jwt": jwt}).encode()


async def test_bad_authentication_replies_get_400_and_change_nothing(harness: Harness) -> None:
    phone, enrolled, message, challenge_id = await enrolled_with_challenge(harness)
    notification = read_notification(message.jwt, enrolled.secret)
    good = challenge_response(enrolled.secret, notification.challenge)
    url = enrolled.registration.authentication_url
    bad_bodies = [
        auth_body(
            message.message_id, sign_jwt(authentication_claims(response="AAAA"), enrolled.secret)
        ),
        auth_body(message.message_id, sign_jwt(authentication_claims(response=good), bytes(32))),
        auth_body(message.message_id, none_jwt({"response": good})),
        auth_body(message.message_id, other_alg_jwt({"response": good}, enrolled.secret)),
        auth_body("AUTHENTICATE:" + "0" * 8 + "-0000-4000-8000-" + "0" * 12 + "1", "a.b.c"),
        auth_body(message.message_id.replace("AUTHENTICATE", "REGISTER"), "a.b.c"),
        b"not json",
        b'{"messageId": "' + message.message_id.encode() + b'", "jwt": "' + b"a" * 17000 + b'"}',
    ]
    for body in bad_bodies:
        assert await post_raw(harness, url, body) == (400, BAD_REQUEST), body[:80]
    _, state = await harness.call("GET", f"/v1/push/challenges/{challenge_id}", expect=200)
    assert state["state"] == "pending"
    # The real answer still counts, once.
    assert await phone.answer(enrolled, message) == 200
    assert await phone.answer(enrolled, message, approve=False) == 400
    _, state = await harness.call("GET", f"/v1/push/challenges/{challenge_id}", expect=200)
    assert state["state"] == "approved"


async def test_an_answer_lands_even_when_the_record_moved_since_it_was_read(
    harness: Harness,
) -> None:
    """Delivery status landing (on any instance) between the reply's read and its write."""
    _, _, _, challenge_id = await enrolled_with_challenge(harness)
    challenges = harness.services.ctx.store.challenges
    read = await challenges.get(challenge_id)
    assert read is not None
    moved = await challenges.mutate(challenge_id, replace)  # a copy: a write all the same
    assert moved is not None
    assert moved.current.version > read.version
    decided = await harness.services.challenges.decide(read, PushEvent.APPROVE)
    assert decided.txn.state is PushState.APPROVED
    with pytest.raises(IllegalTransition):  # and only once
        await harness.services.challenges.decide(read, PushEvent.DENY)
    _, state = await harness.call("GET", f"/v1/push/challenges/{challenge_id}", expect=200)
    assert state["state"] == "approved"


async def test_a_reply_signed_with_another_devices_secret_is_refused(harness: Harness) -> None:
    _, dave, _, _ = await enrolled_with_challenge(harness)
    erin_phone, erin, _ = await harness.enrol("erin")
    _, challenge = await harness.call("POST", "/v1/users/erin/push/challenges", expect=201)
    message = await harness.transport.next()
    # Dave's phone cannot read Erin's notification; it answers her message id with its own key.
    forged = sign_jwt(authentication_claims(response="x" * 44), dave.secret)
    url = erin.registration.authentication_url
    assert await post_raw(harness, url, auth_body(message.message_id, forged)) == (400, BAD_REQUEST)
    _, state = await harness.call("GET", f"/v1/push/challenges/{challenge['id']}", expect=200)
    assert state["state"] == "pending"
    assert await erin_phone.answer(erin, message) == 200


async def test_refresh_updates_the_push_token(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("frank")
    assert await phone.refresh(enrolled, new_token="fcm:new-token") == 200
    _, challenge = await harness.call("POST", "/v1/users/frank/push/challenges", expect=201)
    message = await harness.transport.next()
    assert message.push_token == "fcm:new-token"
    assert challenge["state"] == "pending"


async def test_refresh_with_a_wrong_secret_or_unknown_device_is_refused(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("gina")
    original_token = phone.phone.push_token
    forged = replace(enrolled, registration=replace(enrolled.registration, secret=bytes(32)))
    assert await phone.refresh(forged, new_token="fcm:evil") == 400
    stranger = replace(enrolled, mechanism_uid="not-registered")
    assert await phone.refresh(stranger, new_token="fcm:evil") == 400
    _, _ = await harness.call("POST", "/v1/users/gina/push/challenges", expect=201)
    assert (await harness.transport.next()).push_token == original_token


def test_bad_request_body_is_exactly_the_protocols() -> None:
    assert BAD_REQUEST == {"code": 400, "reason": "Bad Request", "message": "Bad request."}
