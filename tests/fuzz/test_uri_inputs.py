"""pushauth://, mfauth:// and otpauth:// URIs: a scanned QR code is outside input."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from mfa_core.oath import OathParameters, build_otpauth_uri, parse_otpauth_uri
from mfa_core.push_uri import (
    CombinedRegistration,
    PushRegistration,
    build_combined_uri,
    build_registration_uri,
    parse_registration_uri,
)
from tests.fuzz.strategies import (
    any_text,
    fuzz_settings,
    oath_parameters,
    push_registrations,
    uri_pieces,
)
from tests.fuzz.targets import check_otpauth_uri, check_push_uri, normalised, splice


@fuzz_settings(200)
@given(any_text | st.text(max_size=300))
def test_any_text_is_a_registration_or_invalid_uri(text: str) -> None:
    check_push_uri(text)
    check_push_uri("pushauth://push/" + text)
    check_push_uri("mfauth://totp/" + text)


@fuzz_settings(200)
@given(any_text | st.text(max_size=300))
def test_any_text_is_an_otpauth_uri_or_invalid_uri(text: str) -> None:
    check_otpauth_uri(text)
    check_otpauth_uri("otpauth://totp/" + text)
    check_otpauth_uri("otpauth://hotp/a:b?secret=" + text)


@fuzz_settings(200)
@given(push_registrations())
def test_valid_registrations_round_trip(registration: PushRegistration) -> None:
    uri = build_registration_uri(registration)
    assert parse_registration_uri(uri) == registration
    check_push_uri(uri)


@fuzz_settings(150)
@given(push_registrations(), oath_parameters(with_issuer=False))
def test_valid_combined_codes_round_trip(push: PushRegistration, oath: OathParameters) -> None:
    combined = CombinedRegistration(
        push=replace(push, image_url=None),  # mfauth carries the image unencoded: tested below
        oath=replace(oath, issuer=push.issuer, account=push.account),
    )
    check_push_uri(build_combined_uri(combined))


@fuzz_settings(200)
@given(oath_parameters())
def test_valid_otpauth_uris_round_trip(params: OathParameters) -> None:
    uri = build_otpauth_uri(params)
    assert parse_otpauth_uri(uri) == normalised(params)
    check_otpauth_uri(uri)


@fuzz_settings(250)
@given(
    push_registrations(),
    st.integers(min_value=0),
    st.integers(min_value=0, max_value=7),
    st.lists(uri_pieces, max_size=6).map("".join) | any_text,
)
def test_mutated_registration_uris_parse_or_raise_invalid_uri(
    registration: PushRegistration, at: int, cut: int, insert: str
) -> None:
    check_push_uri(splice(build_registration_uri(registration), at, cut, insert))


@fuzz_settings(250)
@given(
    oath_parameters(),
    st.integers(min_value=0),
    st.integers(min_value=0, max_value=7),
    st.lists(uri_pieces, max_size=6).map("".join) | any_text,
)
def test_mutated_otpauth_uris_parse_or_raise_invalid_uri(
    params: OathParameters, at: int, cut: int, insert: str
) -> None:
    check_otpauth_uri(splice(build_otpauth_uri(params), at, cut, insert))


@fuzz_settings(200)
@given(st.lists(uri_pieces | any_text, max_size=12).map("".join))
def test_query_strings_of_the_keys_the_parsers_look_for(query: str) -> None:
    check_push_uri("pushauth://push/Issuer:alice?" + query)
    check_push_uri("mfauth://hotp/Issuer:alice?" + query)
    check_otpauth_uri("otpauth://totp/Issuer:alice?" + query)
