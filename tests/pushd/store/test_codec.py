from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mfa_core.oath import OathKind
from mfa_core.profile import Device, DeviceKind, MfaProfile, ProfileState
from mfa_core.push import NumberMatch, PushType
from mfa_core.push_replies import Transport
from mfa_core.push_state import Flow, new_transaction
from mfa_core.recovery import RecoveryCodeSet
from mfa_core.webauthn import WebAuthnCredential
from pushd.store.codec import CodecError, decode, encode
from pushd.store.records import (
    Account,
    ChallengeRecord,
    OathDevice,
    PushDevice,
    PushGuard,
    UserRecord,
    WebAuthnDevice,
)

USER = UserRecord(
    user_id="u1",
    account=Account(username="alice", created_at=1.0, email="a@example.com", phone="+4420"),
    profile=MfaProfile(
        state=ProfileState.ENROLLED,
        devices=(Device(device_id="d1", kind=DeviceKind.PUSH, name="Pixel", created_at=2.0),),
        state_changed_at=2,
    ),
    push=(
        PushDevice(
            device_id="d1",
            mechanism_uid="m1",
            sealed_secret=b"\x01sealed",
            push_token="tok",
            transport=Transport.FCM,
            device_name="Pixel",
            device_type="android",
            registered_at=2.0,
        ),
    ),
    oath=(
        OathDevice(
            device_id="d2",
            kind=OathKind.TOTP,
            sealed_secret=b"s",
            digits=6,
            algorithm="sha1",
            period=30,
            last_step=5,
        ),
    ),
    webauthn=(
        WebAuthnDevice(
            device_id="d3",
            credential=WebAuthnCredential(
                credential_id=b"id",
                public_key=b"pk",
                sign_count=3,
                transports=("usb", "nfc"),
                aaguid="0000",
                backup_eligible=False,
                backed_up=False,
                name="Key",
                created_at=3.0,
            ),
        ),
    ),
    recovery=(
        RecoveryCodeSet(
            owner="d1", salt=b"salt", digests=(b"a", b"b"), used=frozenset({1}), created_at=4.0
        ),
    ),
)


def test_round_trips_every_record_type() -> None:
    assert decode(encode(USER), UserRecord) == USER
    challenge = ChallengeRecord(
        challenge_id="c",
        message_id="AUTHENTICATE:x",
        user_id="u1",
        username="alice",
        device_id="d1",
        mechanism_uid="m1",
        sealed_secret=b"s",
        challenge=b"c" * 32,
        push_type=PushType.CHALLENGE,
        message="hi",
        txn=new_transaction(Flow.CHALLENGE, now=1.0, ttl_seconds=120),
        number=NumberMatch(choices=(10, 20, 30), answer=20),
    )
    assert decode(encode(challenge), ChallengeRecord) == challenge
    assert decode(encode(PushGuard(recent=(1.0, 2.5))), PushGuard) == PushGuard(recent=(1.0, 2.5))


def test_fields_added_later_take_their_defaults_and_removed_ones_are_ignored() -> None:
    old = msgpack.packb([1, {"recent": [1.0], "retired_field": 3}])
    assert decode(old, PushGuard) == PushGuard(recent=(1.0,))


@dataclass(frozen=True, slots=True, kw_only=True)
class Versioned2:
    SCHEMA_VERSION: ClassVar[int] = 2
    MIGRATIONS: ClassVar[dict[int, Any]] = {1: lambda f: {"name": f["old_name"]}}
    name: str
    tags: dict[str, int] = field(default_factory=dict)


class Colour(enum.StrEnum):
    RED = "red"


@dataclass(frozen=True, slots=True)
class Mixed:
    colour: Colour
    maybe: int | None
    either: int | str
    anything: Any


def test_migrations_run_in_order() -> None:
    assert decode(msgpack.packb([1, {"old_name": "x"}]), Versioned2) == Versioned2(name="x")
    assert decode(encode(Versioned2(name="y", tags={"a": 1})), Versioned2).tags == {"a": 1}


def test_unions_enums_and_any() -> None:
    value = Mixed(colour=Colour.RED, maybe=None, either="s", anything=[1, {"x": b"y"}])
    assert decode(encode(value), Mixed) == value
    assert decode(encode(Mixed(Colour.RED, 3, 4, None)), Mixed).either == 4


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1",
        msgpack.packb({"not": "a list"}),
        msgpack.packb([1]),
        msgpack.packb(["1", {}]),
        msgpack.packb([3, {}]),  # newer than this code
        msgpack.packb([0, {}]),  # older, with no migration
        msgpack.packb([1, {"recent": "nope"}]),
        msgpack.packb([1, {"recent": [True]}]),
        msgpack.packb([1, {"fraud_signals": 1.5}]),
        msgpack.packb([1, {"fraud_signals": True}]),
        msgpack.packb([1, {"suspended_at": "x"}]),
        msgpack.packb([1, [1, 2]]),
        msgpack.packb([1, {}]) + b"extra",
    ],
)
def test_malformed_records_raise_codec_error(data: bytes) -> None:
    with pytest.raises(CodecError):
        decode(data, PushGuard)


@pytest.mark.parametrize(
    "fields",
    [
        {"colour": "blue", "maybe": None, "either": 1, "anything": 1},
        {"colour": "red", "maybe": None, "either": 1.5, "anything": 1},
        {"colour": "red", "maybe": None, "either": 1},
    ],
)
def test_wrong_shapes_raise_codec_error(fields: dict[str, object]) -> None:
    with pytest.raises(CodecError):
        decode(msgpack.packb([1, fields]), Mixed)
    with pytest.raises(CodecError):
        decode(msgpack.packb([2, {"name": "x", "tags": [1]}]), Versioned2)


def test_oversized_records_are_refused() -> None:
    with pytest.raises(CodecError, match="too large"):
        decode(b"\x00" * (4 * 1024 * 1024 + 1), PushGuard)


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_codec_error(data: bytes) -> None:
    with contextlib.suppress(CodecError):
        decode(data, UserRecord)
