from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mfa_core import push
from mfa_core.errors import (
    InvalidDeviceReply,
    InvalidMessageId,
    InvalidParameter,
    MfaError,
    ResponseMismatch,
)
from mfa_core.jws import verify_jwt
from mfa_core.message_id import MessageKind
from tests.support.rng import seeded_rng

SECRET = bytes(range(32))
NOW = 1_700_000_000.123


def test_new_secret_and_challenge_are_32_bytes_from_the_rng() -> None:
    assert push.new_secret(seeded_rng(3)) == seeded_rng(3)(32)
    assert len(push.new_challenge(seeded_rng(4))) == 32


def test_verify_challenge_response_rejects_wrong_and_non_string() -> None:
    challenge = b"c" * 32
    good = push.challenge_response(SECRET, challenge)
    push.verify_challenge_response(SECRET, challenge, good)
    for bad in (good[:-2] + "A=", "", None, 42, good.lower()):
        with pytest.raises(ResponseMismatch):
            push.verify_challenge_response(SECRET, challenge, bad)


def test_message_ids_round_trip() -> None:
    text = push.new_message_id(MessageKind.AUTHENTICATE, seeded_rng(), NOW)
    assert text.startswith("AUTHENTICATE:")
    parsed = push.parse_message_id(text, MessageKind.AUTHENTICATE)
    assert parsed.issued_at_ms == 1_700_000_000_123
    assert str(parsed) == text
    assert len(parsed.uuid) == 36


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("REGISTER:8be951c6-af83-438d-8f74-421bd18650421570561063169", MessageKind.AUTHENTICATE),
        ("REGISTER:8be951c6-af83-438d-8f74-421bd1865042", None),
        ("LOGIN:8be951c6-af83-438d-8f74-421bd18650421570561063169", None),
        ("REGISTER:not-a-uuid1570561063169", None),
        (None, None),
        ("", None),
    ],
)
def test_message_id_rejects(text: object, expected: MessageKind | None) -> None:
    with pytest.raises(InvalidMessageId):
        push.parse_message_id(text, expected)


@given(st.randoms(use_true_random=False))
def test_number_match_shape(r: random.Random) -> None:
    match = push.new_number_match(r.randbytes)
    first, second, third = match.choices
    assert 10 <= first < second < third <= 99
    assert match.answer in match.choices
    assert push.parse_number_choices(match.claim()) == match.choices


@pytest.mark.parametrize(
    "text", ["10,20", "20,10,30", "10,10,20", "05,10,20", "10,20,100", "a,b,c", 7, "10, 20, 30"]
)
def test_number_choices_rejected(text: object) -> None:
    with pytest.raises(InvalidDeviceReply):
        push.parse_number_choices(text)


def notification(**overrides: object) -> push.Notification:
    fields: dict[str, object] = {
        "mechanism_uid": "9a3f5b54-2b5d-4f5e-9a0c-7a7b3b0e2c11",
        "challenge": b"\x01" * 32,
        "load_balancer_cookie": "amlbcookie=01",
        "ttl_seconds": 120,
        "created_at_ms": 1_700_000_000_000,
        "message": "Login attempt from alice at Backstage",
    }
    fields.update(overrides)
    return push.Notification(**fields)  # type: ignore[arg-type]


def test_notification_claims_are_all_strings_and_round_trip() -> None:
    context = push.LoginContext(
        remote_ip="203.0.113.9", user_agent="Firefox", location={"city": "Oslo", "lat": 59.9}
    )
    n = notification(
        push_type=push.PushType.CHALLENGE,
        numbers=(12, 45, 78),
        custom_payload='{"a":"b"}',
        context_json=context.as_json(),
        username="alice",
    )
    claims = push.notification_claims(n)
    assert all(isinstance(value, str) for value in claims.values())
    assert claims["t"] == "120"
    assert claims["n"] == "12,45,78"
    assert claims["k"] == "challenge"
    assert claims["l"] == "YW1sYmNvb2tpZT0wMQ=="
    assert json.loads(claims["x"]) == {
        "remoteIp": "203.0.113.9",
        "userAgent": "Firefox",
        "location": {"city": "Oslo", "lat": 59.9},
    }
    token = push.sign_jwt(claims, SECRET)
    assert push.parse_notification_claims(verify_jwt(token, SECRET)) == n


def test_notification_minimal_claims() -> None:
    claims = push.notification_claims(notification(push_type=push.PushType.BIOMETRIC))
    assert set(claims) == {"u", "c", "l", "t", "i", "m", "k"}
    assert push.LoginContext().as_json() == "{}"


@pytest.mark.parametrize(
    "overrides",
    [
        {"push_type": push.PushType.CHALLENGE},
        {"numbers": (10, 20, 30)},
        {"push_type": push.PushType.CHALLENGE, "numbers": (30, 20, 10)},
        {"ttl_seconds": 0},
        {"custom_payload": "x" * 4000},
        {"custom_payload": "[1]"},
    ],
)
def test_notification_claims_refuse(overrides: dict[str, object]) -> None:
    with pytest.raises(MfaError):
        push.notification_claims(notification(**overrides))


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"u": "x", "c": "!!", "t": "1"},
        {"u": "x", "c": "AAAA", "t": "soon"},
        {"u": "x", "c": "AAAA", "t": "1", "k": "telepathy"},
        {"u": "x", "c": "AAAA", "t": "1", "k": "challenge"},
        {"u": "x", "c": "AAAA", "t": "1", "l": "/w=="},
    ],
)
def test_parse_notification_claims_refuses(claims: dict[str, object]) -> None:
    with pytest.raises(InvalidDeviceReply):
        push.parse_notification_claims(claims)


def test_parse_notification_defaults() -> None:
    parsed = push.parse_notification_claims({"u": "x", "c": "AAAA", "t": "5"})
    assert parsed.push_type is push.PushType.DEFAULT
    assert parsed.load_balancer_cookie == ""
    assert parsed.numbers is None


def test_invalid_parameter_is_malformed_input() -> None:
    assert issubclass(InvalidParameter, MfaError)
