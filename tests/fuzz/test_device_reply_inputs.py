"""What a phone (or anyone who can reach /push/device) sends: bodies, claims, message ids."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mfa_core.push import Notification as PushNotification
from mfa_core.push import (
    NumberMatch,
    PushType,
    new_number_match,
    notification_claims,
    parse_notification_claims,
)
from mfa_core.push_poll import parse_poll_claims, poll_claims
from mfa_core.push_replies import (
    AuthenticationReply,
    DeviceInfo,
    Transport,
    authentication_claims,
    parse_authentication_claims,
    parse_registration_claims,
    registration_claims,
)
from tests.fuzz.strategies import any_text, fuzz_settings, json_objects, json_values
from tests.fuzz.targets import (
    NOW,
    check_device_body,
    check_device_claims,
    check_device_claims_json,
    check_message_id,
)
from tests.support.rng import seeded_rng

FIELDS = ["messageId", "jwt", "mechanismUid", "username", "response", "deviceId",
          "deviceName", "deviceType", "communicationType", "challengeResponse", "deny",
          "iat", "nonce", "u", "c", "l", "t", "i", "m", "k", "n", "p", "x", "d"]  # fmt: skip
protocol_objects = st.dictionaries(st.sampled_from(FIELDS) | any_text, json_values, max_size=8)


@fuzz_settings(200)
@given(st.binary(max_size=400))
def test_any_bytes_are_an_envelope_or_invalid_device_reply(body: bytes) -> None:
    check_device_body(body)


@fuzz_settings(150)
@given(protocol_objects | json_objects)
def test_any_json_object_is_an_envelope_or_invalid_device_reply(fields: dict[str, object]) -> None:
    check_device_body(json.dumps(fields).encode())


@fuzz_settings(200)
@given(st.text(max_size=200).map(str.encode))
def test_form_bodies_as_pushd_receives_them(body: bytes) -> None:
    """A form post (or any text) lands on the same JSON parser."""
    check_device_body(body)
    check_device_body(b"messageId=" + body + b"&jwt=x")


@fuzz_settings(200)
@given(protocol_objects)
def test_any_claims_parse_or_raise_invalid_device_reply(claims: dict[str, object]) -> None:
    check_device_claims_json(json.dumps(claims).encode())


@fuzz_settings(200)
@given(st.binary(max_size=300))
def test_any_payload_bytes_parse_or_raise(payload: bytes) -> None:
    check_device_claims_json(payload)


@fuzz_settings(200)
@given(
    st.text(max_size=60)
    | st.builds(lambda kind, uuid, ms: f"{kind}:{uuid}{ms}",
                st.sampled_from(["REGISTER", "AUTHENTICATE", "register", ""]),
                st.uuids(), st.integers(min_value=-1, max_value=10**16))
    | json_values
)  # fmt: skip
def test_message_ids_parse_or_raise_invalid_message_id(text: object) -> None:
    check_message_id(text)


# --- round trips: what authsim builds, pushd reads back ------------------------------------

device_infos = st.builds(
    DeviceInfo,
    push_token=st.text(min_size=1, max_size=30),
    device_name=st.text(max_size=30),
    device_type=st.text(max_size=30),
    transport=st.sampled_from(Transport),
)


@fuzz_settings(150)
@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30), device_infos)
def test_registration_claims_round_trip(response: str, uid: str, device: DeviceInfo) -> None:
    claims = registration_claims(response=response, mechanism_uid=uid, device=device)
    parsed = parse_registration_claims(json.loads(json.dumps(claims)))
    assert (parsed.response, parsed.mechanism_uid, parsed.device) == (response, uid, device)


@fuzz_settings(150)
@given(st.text(min_size=1, max_size=30), st.booleans(), st.none() | st.integers(10, 99))
def test_authentication_claims_round_trip(response: str, deny: bool, number: int | None) -> None:
    claims = authentication_claims(response=response, deny=deny, chosen_number=number)
    parsed = parse_authentication_claims(json.loads(json.dumps(claims)))
    assert parsed == AuthenticationReply(response=response, denied=deny, chosen_number=number)


@fuzz_settings(100)
@given(st.text(min_size=1, max_size=30), st.integers(min_value=0, max_value=2**32))
def test_poll_claims_round_trip(uid: str, seed: int) -> None:
    claims = poll_claims(mechanism_uid=uid, now=NOW, rng=seeded_rng(seed))
    parsed = parse_poll_claims(json.loads(json.dumps(claims)), now=NOW)
    assert (parsed.mechanism_uid, parsed.issued_at, parsed.nonce) == (
        uid,
        int(NOW),
        claims["nonce"],
    )


@fuzz_settings(150)
@given(
    st.text(min_size=1, max_size=30),
    st.binary(min_size=1, max_size=40),
    st.text(max_size=30),
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=0, max_value=10**15),
    st.text(max_size=60),
    st.sampled_from(PushType),
    st.integers(min_value=0, max_value=2**32),
    st.none() | st.text(max_size=30),
)
def test_notification_claims_round_trip(  # noqa: PLR0917 - one argument per claim
    uid: str,
    challenge: bytes,
    cookie: str,
    ttl: int,
    created: int,
    message: str,
    push_type: PushType,
    seed: int,
    username: str | None,
) -> None:
    numbers: NumberMatch | None = (
        new_number_match(seeded_rng(seed)) if push_type is PushType.CHALLENGE else None
    )
    notification = PushNotification(
        mechanism_uid=uid,
        challenge=challenge,
        load_balancer_cookie=cookie,
        ttl_seconds=ttl,
        created_at_ms=created,
        message=message,
        push_type=push_type,
        numbers=numbers.choices if numbers else None,
        username=username,
    )
    claims = json.loads(json.dumps(notification_claims(notification)))
    assert parse_notification_claims(claims) == notification
    check_device_claims(claims)


def test_a_poll_iat_longer_than_int_parses_is_refused() -> None:
    """int() refuses strings past 4300 digits with ValueError: a signed poll request with such
    an ``iat`` was a 500 from the device endpoint (fixed: only InvalidDeviceReply)."""
    check_device_claims({"mechanismUid": "m", "nonce": "n" * 22, "iat": "1" * 5000})
