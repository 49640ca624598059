from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mfa_core import push_replies as replies
from mfa_core.errors import InvalidDeviceReply, MfaError
from mfa_core.jws import sign_jwt, verify_jwt

SECRET = bytes(range(32))
DEVICE = replies.DeviceInfo(
    push_token="fcm-token-1",
    device_name="Pixel 9",
    device_type="android",
    transport=replies.Transport.FCM,
)


def test_registration_reply_round_trip() -> None:
    claims = replies.registration_claims(
        response="resp=", mechanism_uid="3f1c2d4e-0000-4000-8000-000000000001", device=DEVICE
    )
    assert claims["communicationType"] == "gcm"
    parsed = replies.parse_registration_claims(verify_jwt(sign_jwt(claims, SECRET), SECRET))
    assert parsed.device == DEVICE
    assert parsed.response == "resp="


@pytest.mark.parametrize("kind", ["apns", "APNS"])
def test_apns_and_case_insensitive_transport(kind: str) -> None:
    claims = {**replies.device_info_claims(DEVICE), "communicationType": kind}
    assert replies.parse_device_info(claims).transport is replies.Transport.APNS


def test_fcm_alias_and_missing_optional_fields() -> None:
    info = replies.parse_device_info({"deviceId": "t", "communicationType": "fcm"})
    assert (info.transport, info.device_name, info.device_type) == (replies.Transport.FCM, "", "")


@pytest.mark.parametrize(
    "claims",
    [
        {"deviceId": "t", "communicationType": "sms"},
        {"deviceId": "", "communicationType": "gcm"},
        {"deviceId": 5, "communicationType": "gcm"},
        {"deviceId": "t", "communicationType": "gcm", "deviceName": 7},
        {"deviceId": "t" * 5000, "communicationType": "gcm"},
        {"deviceId": "t", "communicationType": "gcm", "deviceName": "n" * 5000},
    ],
)
def test_device_info_refuses(claims: dict[str, object]) -> None:
    with pytest.raises(InvalidDeviceReply):
        replies.parse_device_info(claims)


def test_authentication_claims_round_trip() -> None:
    approve = replies.authentication_claims(response="r", chosen_number=34)
    assert approve == {"response": "r", "challengeResponse": "34"}
    parsed = replies.parse_authentication_claims(approve)
    assert (parsed.denied, parsed.chosen_number) == (False, 34)
    deny = replies.parse_authentication_claims(
        replies.authentication_claims(response="r", deny=True)
    )
    assert deny.denied
    assert deny.chosen_number is None


@pytest.mark.parametrize("deny_value", [True, False, "yes", 0, {}])
def test_any_non_null_deny_counts_as_deny(deny_value: object) -> None:
    assert replies.parse_authentication_claims({"response": "r", "deny": deny_value}).denied


def test_null_deny_is_not_deny_and_numbers_may_be_ints() -> None:
    parsed = replies.parse_authentication_claims(
        {"response": "r", "deny": None, "challengeResponse": 56}
    )
    assert (parsed.denied, parsed.chosen_number) == (False, 56)


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"response": ""},
        {"response": "r", "challengeResponse": "3.4"},
        {"response": "r", "challengeResponse": "١٢"},
        {"response": "r", "challengeResponse": "1234"},
        {"response": "r", "challengeResponse": True},
        {"response": "r", "challengeResponse": [1]},
    ],
)
def test_authentication_claims_refuse(claims: dict[str, object]) -> None:
    with pytest.raises(InvalidDeviceReply):
        replies.parse_authentication_claims(claims)


def test_envelopes() -> None:
    envelope = replies.parse_device_envelope(b'{"messageId":"REGISTER:x","jwt":"a.b.c"}')
    assert (envelope.message_id, envelope.jwt) == ("REGISTER:x", "a.b.c")
    refresh = replies.parse_refresh_envelope(b'{"mechanismUid":"m","username":"u","jwt":"j"}')
    assert (refresh.mechanism_uid, refresh.username, refresh.jwt) == ("m", "u", "j")
    anonymous = replies.parse_refresh_envelope(b'{"mechanismUid":"m","username":"","jwt":"j"}')
    assert anonymous.username is None


def test_envelope_accepts_escaped_slashes() -> None:
    body = json.dumps({"messageId": "A\\/B", "jwt": "j"}).encode()
    assert replies.parse_device_envelope(body).message_id == "A\\/B"
    assert replies.parse_device_envelope(b'{"messageId":"A\\/B","jwt":"j"}').message_id == "A/B"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b"[]",
        b'{"messageId": 1, "jwt": "j"}',
        b'{"messageId": "m"}',
        b'{"messageId": "m", "jwt": "j", "jwt": "k"}',
        b"\xff",
        b'{"messageId": "m", "jwt": "' + b"j" * 20000 + b'"}',
        "not bytes",
    ],
)
def test_envelope_refuses(body: bytes) -> None:
    with pytest.raises(InvalidDeviceReply):
        replies.parse_device_envelope(body)


@given(st.binary(max_size=200))
def test_any_body_parses_or_raises_mfa_error(body: bytes) -> None:
    for parser in (replies.parse_device_envelope, replies.parse_refresh_envelope):
        with contextlib.suppress(MfaError):
            parser(body)


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=10)


@given(
    st.dictionaries(st.sampled_from(["response", "deny", "challengeResponse", "x"]), json_scalars)
)
def test_any_claims_parse_or_raise_mfa_error(claims: dict[str, object]) -> None:
    for parser in (
        replies.parse_authentication_claims,
        replies.parse_registration_claims,
        replies.parse_device_info,
    ):
        with contextlib.suppress(MfaError):
            parser(claims)
