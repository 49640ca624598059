"""Compact HS256 JWS: every device reply is one, from whoever can reach the device endpoint."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mfa_core.encoding import b64url_encode
from mfa_core.jws import HEADER_SEGMENT, sign_jwt
from tests.fuzz.strategies import any_text, clean_json_objects, fuzz_settings
from tests.fuzz.targets import KEY, check_jws, check_jws_mutant, mac_segment, splice, text_of

segments = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
TOKEN = sign_jwt({"response": "x", "mechanismUid": "m", "deny": True}, KEY)


@fuzz_settings(300)
@given(any_text | st.binary(max_size=300).map(text_of))
def test_any_text_verifies_or_raises_invalid_jwt(token: str) -> None:
    check_jws(token)


@fuzz_settings(300)
@given(segments, segments, segments)
def test_three_base64url_segments_verify_or_raise_invalid_jwt(
    header: str, payload: str, signature: str
) -> None:
    check_jws(f"{header}.{payload}.{signature}")
    check_jws(f"{HEADER_SEGMENT}.{payload}.{signature}")


@fuzz_settings(200)
@given(st.binary(max_size=200), st.binary(max_size=200))
def test_correctly_signed_garbage_verifies_or_raises_invalid_jwt(
    header: bytes, payload: bytes
) -> None:
    signing_input = f"{b64url_encode(header)}.{b64url_encode(payload)}"
    check_jws(f"{signing_input}.{mac_segment(signing_input)}")


@fuzz_settings(150)
@given(clean_json_objects)
def test_signed_claims_round_trip(claims: dict[str, object]) -> None:
    check_jws(sign_jwt(claims, KEY))


@fuzz_settings(300)
@given(
    st.integers(min_value=0),
    st.integers(min_value=0, max_value=7),
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.", max_size=4
    )
    | any_text,
)
def test_a_mutated_token_never_verifies(at: int, cut: int, insert: str) -> None:
    check_jws_mutant(TOKEN, splice(TOKEN, at, cut, insert))


def test_every_spelling_of_the_last_signature_character_but_one_is_refused() -> None:
    """b64decode ignores the unused low bits of the last character: 43 characters carry
    256 bits and 2 more, so three other spellings decoded to the same MAC (fixed)."""
    body, _, signature = TOKEN.rpartition(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for last in alphabet:
        check_jws_mutant(TOKEN, f"{body}.{signature[:-1]}{last}")
