"""Valid inputs for each byte-level target: the atheris harnesses start their corpus from these
(a coverage-guided fuzzer gets past ``pushauth://push/`` and msgpack's framing far sooner
from a real example than from nothing)."""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from mfa_core.oath import OathKind, OathParameters, build_otpauth_uri
from mfa_core.push import Notification as PushNotification
from mfa_core.push import (
    PushRegistration,
    build_combined_uri,
    build_registration_uri,
    challenge_response,
    notification_claims,
)
from mfa_core.push_poll import poll_claims
from mfa_core.push_replies import authentication_claims
from mfa_core.push_uri import CombinedRegistration
from pushd.store.codec import encode
from tests.fuzz.targets import JWS_TOKEN, KEY, NOW, RECORD_TYPES
from tests.support.rng import seeded_rng

REGISTRATION = PushRegistration(
    issuer="Backstage",
    account="alice",
    registration_url="https://sso.example.com/push/device?_action=register",
    authentication_url="https://sso.example.com/push/device?_action=authenticate",
    secret=KEY,
    challenge=bytes(range(32, 64)),
    message_id="REGISTER:8be951c6-af83-438d-8f74-421bd18650421570561063169",
    load_balancer_cookie="amlbcookie=01",
    background_colour="519387",
    image_url="https://sso.example.com/logo.png",
    user_id="u-1",
    device_profile_id="p-1",
)
OATH = OathParameters(kind=OathKind.TOTP, secret=KEY[:20], account="alice", issuer="Backstage")


def push_uri_seeds() -> list[bytes]:
    combined = CombinedRegistration(
        push=replace(REGISTRATION, image_url=None),
        oath=replace(OATH, kind=OathKind.HOTP, counter=7, issuer="Backstage"),
    )
    uris = [build_registration_uri(REGISTRATION), build_combined_uri(combined)]
    return [uri.encode() for uri in uris]


def otpauth_uri_seeds() -> list[bytes]:
    uris = [
        build_otpauth_uri(OATH),
        build_otpauth_uri(replace(OATH, kind=OathKind.HOTP, counter=3, digits=8, issuer=None)),
        (
            "otpauth://totp/ACME%20Co:john@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co"
            "&algorithm=SHA256&digits=8&period=60"
        ),
    ]
    return [uri.encode() for uri in uris]


def jws_seeds() -> list[bytes]:
    return [b"\x00" + JWS_TOKEN.encode(), b"\x01\x10\x02AB", b"\x01\x60\x00="]


def device_reply_seeds() -> list[bytes]:
    response = challenge_response(KEY, b"challenge")
    notification = PushNotification(
        mechanism_uid="m",
        challenge=b"c" * 32,
        load_balancer_cookie="amlbcookie=01",
        ttl_seconds=120,
        created_at_ms=1,
        message="Login attempt",
        numbers=None,
    )
    bodies: list[object] = [
        {"messageId": REGISTRATION.message_id, "jwt": JWS_TOKEN},
        {"mechanismUid": "7d9d0c5e", "username": "alice", "jwt": JWS_TOKEN},
        {
            "response": response,
            "mechanismUid": "m",
            "deviceId": "t",
            "deviceName": "Pixel",
            "deviceType": "android",
            "communicationType": "gcm",
        },
        authentication_claims(response=response, deny=True, chosen_number=42),
        poll_claims(mechanism_uid="m", now=NOW, rng=seeded_rng()),
        notification_claims(notification),
    ]
    return [json.dumps(body).encode() for body in bodies]


def sample_of(hint: Any) -> Any:
    """A plain value of ``hint``: every optional field filled, every sequence one item long."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return sample_of(next(a for a in args if a is not type(None)))
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = typing.get_type_hints(hint)
        return hint(**{f.name: sample_of(hints[f.name]) for f in dataclasses.fields(hint)})
    if origin is tuple:
        items = args[:1] if args[-1] is Ellipsis else args
        return tuple(sample_of(a) for a in items)
    if origin is frozenset:
        return frozenset({sample_of(args[0])})
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(iter(hint))
    return {str: "alice", bytes: b"\x01sealed", int: 3, float: 1.5, bool: True}[hint]


def record_seeds() -> list[bytes]:
    """One example of every record type, the type's index first."""
    return [bytes([i]) + encode(sample_of(cls)) for i, cls in enumerate(RECORD_TYPES)]


def people_input_seeds() -> list[bytes]:
    return [b"+44 20 7946 0958", b"+1 (202) 555-0143", b"123456", b"abcd-efgh-ijkl"]


SEEDS: dict[str, Callable[[], list[bytes]]] = {
    "push_uri": push_uri_seeds,
    "otpauth_uri": otpauth_uri_seeds,
    "jws": jws_seeds,
    "device_reply": device_reply_seeds,
    "records": record_seeds,
    "people_input": people_input_seeds,
}
# fuzz/fuzz_device_endpoint.py: every action in every shape (tests/fuzz/device_world.py).
DEVICE_ENDPOINT_SEEDS = [bytes([action, shape]) for action in range(4) for shape in range(3)]
