from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mfa_core.encoding import b64url_encode
from mfa_core.errors import InvalidJwt, InvalidParameter, MfaError
from mfa_core.jws import HEADER_SEGMENT, MAX_TOKEN_CHARS, sign_jwt, verify_jwt

KEY = bytes(range(32))


def forge(header: dict[str, object] | bytes, payload: bytes, key: bytes = KEY) -> str:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    signing_input = f"{b64url_encode(raw)}.{b64url_encode(payload)}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url_encode(mac)}"


def test_header_is_exactly_the_compact_form_ios_needs() -> None:
    assert HEADER_SEGMENT == "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9"
    assert len(HEADER_SEGMENT) % 4 == 0
    assert sign_jwt({"a": "b"}, KEY).startswith(HEADER_SEGMENT + ".")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=8))
def test_round_trip(claims: dict[str, object]) -> None:
    assert verify_jwt(sign_jwt(claims, KEY), KEY) == claims


def test_keeps_claim_order_and_compact_json() -> None:
    token = sign_jwt({"z": "1", "a": "/"}, KEY)
    payload = token.split(".")[1]
    assert base64.urlsafe_b64decode(payload + "==") == b'{"z":"1","a":"/"}'


def test_accepts_another_spelling_of_the_hs256_header() -> None:
    token = forge({"alg": "HS256", "typ": "JWT", "kid": "x"}, b'{"ok":1}')
    assert verify_jwt(token, KEY) == {"ok": 1}


def test_accepts_escaped_slashes_as_ios_writes_them() -> None:
    token = forge({"alg": "HS256"}, b'{"url":"https:\\/\\/example.com"}')
    assert verify_jwt(token, KEY) == {"url": "https://example.com"}


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (forge({"alg": "none"}, b"{}"), "jwt_algorithm"),
        (forge({"alg": "HS512"}, b"{}"), "jwt_algorithm"),
        (forge({"alg": "RS256"}, b"{}"), "jwt_algorithm"),
        (forge({"typ": "JWT"}, b"{}"), "jwt_algorithm"),
        (forge({"alg": "HS256", "crit": ["exp"]}, b"{}"), "jwt_algorithm"),
        (forge({"alg": "HS256"}, b"{}", key=bytes(32)), "jwt_signature"),
        (forge({"alg": "HS256"}, b"[1,2]"), "jwt_malformed"),
        (forge({"alg": "HS256"}, b"not json"), "jwt_malformed"),
        (forge({"alg": "HS256"}, b'{"a":1,"a":2}'), "jwt_malformed"),
        (forge({"alg": "HS256"}, b'{"a":NaN}'), "jwt_malformed"),
        (forge({"alg": "HS256"}, b"\xff\xfe"), "jwt_malformed"),
        (forge({"alg": "HS256"}, b"[" * 2500 + b"]" * 2500), "jwt_malformed"),
        (forge(b"[]", b"{}"), "jwt_malformed"),
        (HEADER_SEGMENT + ".e30", "jwt_malformed"),
        (HEADER_SEGMENT + ".e30.sig.extra", "jwt_malformed"),
        (HEADER_SEGMENT + ".e30.!!!", "jwt_malformed"),
        ("é.e30.abc", "jwt_malformed"),
        ("", "jwt_malformed"),
        ("a" * (MAX_TOKEN_CHARS + 1), "jwt_too_large"),
    ],
)
def test_rejects(token: str, reason: str) -> None:
    with pytest.raises(InvalidJwt) as caught:
        verify_jwt(token, KEY)
    assert caught.value.reason == reason


def test_none_algorithm_without_signature_is_rejected() -> None:
    none_header = b64url_encode(b'{"alg":"none"}')
    unsigned = f"{none_header}.{b64url_encode(b'{}')}."
    with pytest.raises(InvalidJwt):
        verify_jwt(unsigned, KEY)


def test_tampered_payload_fails_signature() -> None:
    header, _, signature = sign_jwt({"deny": False}, KEY).split(".")
    payload = b64url_encode(b'{"deny":true}')
    tampered = f"{header}.{payload}.{signature}"
    with pytest.raises(InvalidJwt) as caught:
        verify_jwt(tampered, KEY)
    assert caught.value.reason == "jwt_signature"


def test_non_string_token() -> None:
    with pytest.raises(InvalidJwt):
        verify_jwt(None, KEY)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [b"", b"short", bytes(31)])
def test_short_keys_are_refused_both_ways(key: bytes) -> None:
    with pytest.raises(InvalidParameter):
        sign_jwt({}, key)
    with pytest.raises(InvalidParameter):
        verify_jwt(sign_jwt({}, KEY), key)


@given(st.text(max_size=300))
def test_any_text_verifies_or_raises_mfa_error(token: str) -> None:
    with contextlib.suppress(MfaError):
        verify_jwt(token, KEY)


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_any_signed_segments_verify_or_raise_invalid_jwt(header: bytes, payload: bytes) -> None:
    with contextlib.suppress(InvalidJwt):
        verify_jwt(forge(header, payload), KEY)
