from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfa_core import webauthn as wa
from mfa_core.encoding import b64url_encode
from mfa_core.errors import DuplicateDevice, MfaError, PossibleClonedAuthenticator, WebAuthnRejected
from tests.support.soft_webauthn import SoftAuthenticator

RP = wa.RelyingParty(rp_id="localhost", name="Backstage", origins=("http://localhost:8080",))
ORIGIN = RP.origins[0]
NOW = 1000.0
CHALLENGE = bytes(range(32))


def register(
    key: SoftAuthenticator, existing: tuple[wa.WebAuthnCredential, ...] = ()
) -> wa.WebAuthnCredential:
    options = wa.registration_options(
        rp=RP,
        user_handle=b"user-handle-1",
        user_name="alice",
        display_name="Alice",
        existing=existing,
        challenge=CHALLENGE,
    )
    return wa.verify_registration(
        rp=RP,
        credential=key.create(options, ORIGIN),
        expected_challenge=CHALLENGE,
        existing=existing,
        name="Yubikey",
        now=NOW,
    )


def login_options(*credentials: wa.WebAuthnCredential) -> dict[str, Any]:
    return wa.authentication_options(rp=RP, credentials=credentials, challenge=CHALLENGE)


def test_registration_options_prefer_uv_and_resident_keys_and_exclude_existing() -> None:
    first = register(SoftAuthenticator())
    options = wa.registration_options(
        rp=RP,
        user_handle=b"u",
        user_name="alice",
        display_name="Alice",
        existing=[first],
        challenge=CHALLENGE,
    )
    assert options["rp"] == {"id": "localhost", "name": "Backstage"}
    assert options["challenge"] == b64url_encode(CHALLENGE)
    selection = options["authenticatorSelection"]
    assert isinstance(selection, dict)
    assert selection["residentKey"] == "preferred"
    assert selection["userVerification"] == "preferred"
    assert options["excludeCredentials"] == [
        {"id": b64url_encode(first.credential_id), "type": "public-key", "transports": ["usb"]}
    ]


def test_register_then_authenticate() -> None:
    key = SoftAuthenticator(aaguid=bytes(range(16)), transports=("usb", "nfc", "smoke-signal"))
    credential = register(key)
    assert credential.public_key
    assert credential.aaguid == "00010203-0405-0607-0809-0a0b0c0d0e0f"
    assert credential.transports == ("usb", "nfc")  # py_webauthn drops unknown transports
    assert (credential.sign_count, credential.name, credential.created_at) == (0, "Yubikey", NOW)
    assert not credential.backup_eligible
    options = login_options(credential)
    allowed = options["allowCredentials"]
    assert isinstance(allowed, list)
    assert allowed[0]["transports"] == ["usb", "nfc"]
    # A stored record naming a transport this library does not know still works.
    odd = login_options(replace(credential, transports=("ble", "smoke-signal")))
    assert odd["allowCredentials"] == [
        {"id": b64url_encode(credential.credential_id), "type": "public-key", "transports": ["ble"]}
    ]
    login = wa.verify_authentication(
        rp=RP,
        credential=key.get(options, ORIGIN),
        expected_challenge=CHALLENGE,
        credentials=[credential],
    )
    assert login.user_verified
    assert login.credential.sign_count == 1


def test_passkeys_report_backup_flags() -> None:
    credential = register(SoftAuthenticator(backup_eligible=True))
    assert (credential.backup_eligible, credential.backed_up) == (True, True)


def test_the_same_key_cannot_be_registered_twice() -> None:
    key = SoftAuthenticator()
    first = register(key)
    with pytest.raises(DuplicateDevice):
        register(key, existing=(first,))


def test_a_sign_count_that_goes_backwards_is_a_possible_clone() -> None:
    key = SoftAuthenticator()
    credential = replace(register(key), sign_count=5)
    for count in (5, 3):
        with pytest.raises(PossibleClonedAuthenticator):
            wa.verify_authentication(
                rp=RP,
                credential=key.get(login_options(credential), ORIGIN, sign_count=count),
                expected_challenge=CHALLENGE,
                credentials=[credential],
            )
    moved_on = wa.verify_authentication(
        rp=RP,
        credential=key.get(login_options(credential), ORIGIN, sign_count=6),
        expected_challenge=CHALLENGE,
        credentials=[credential],
    )
    assert moved_on.credential.sign_count == 6


def test_authenticators_that_never_count_are_fine() -> None:
    key = SoftAuthenticator()
    credential = register(key)
    for _ in range(2):
        login = wa.verify_authentication(
            rp=RP,
            credential=key.get(login_options(credential), ORIGIN, sign_count=0),
            expected_challenge=CHALLENGE,
            credentials=[credential],
        )
        assert login.credential.sign_count == 0


def test_authentication_refusals() -> None:
    key, other = SoftAuthenticator(), SoftAuthenticator()
    credential = register(key)
    options = login_options(credential)
    cases: list[dict[str, Any]] = [
        {"credential": other.get(options, ORIGIN)},  # not this user's key
        {"credential": key.get(options, "https://evil.example")},
        {"credential": key.get(options, ORIGIN, rp_id="evil.example")},
        {"credential": key.get(options, ORIGIN), "expected_challenge": bytes(32)},
        {"credential": "{not json"},
        {"credential": {"id": "x"}},
    ]
    for case in cases:
        with pytest.raises(WebAuthnRejected):
            wa.verify_authentication(
                rp=RP,
                credential=case["credential"],
                expected_challenge=case.get("expected_challenge", CHALLENGE),
                credentials=[credential],
            )


def test_registration_refusals() -> None:
    options = wa.registration_options(
        rp=RP, user_handle=b"u", user_name="a", display_name="A", existing=[], challenge=CHALLENGE
    )
    good = SoftAuthenticator().create(options, ORIGIN)
    wrong_origin = SoftAuthenticator().create(options, "https://evil.example")
    for credential, challenge in (
        (good, bytes(32)),
        (wrong_origin, CHALLENGE),
        ("[]", CHALLENGE),
        (json.dumps(good), bytes(32)),
        ("x" * (wa.MAX_CREDENTIAL_JSON_CHARS + 1), CHALLENGE),
    ):
        with pytest.raises(WebAuthnRejected):
            wa.verify_registration(
                rp=RP,
                credential=credential,
                expected_challenge=challenge,
                existing=[],
                name="k",
                now=NOW,
            )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=12,
)
credential_like = st.fixed_dictionaries(
    {
        "id": st.text(max_size=10),
        "rawId": st.text(max_size=10),
        "type": st.sampled_from(["public-key", "x"]),
        "response": st.dictionaries(
            st.sampled_from(
                ["clientDataJSON", "attestationObject", "authenticatorData", "signature"]
            ),
            st.text(max_size=40),
        ),
    }
)


@settings(max_examples=150)
@given(st.one_of(credential_like, st.dictionaries(st.text(max_size=8), json_values)))
def test_any_json_verifies_or_raises_mfa_error(credential: dict[str, object]) -> None:
    stored = wa.WebAuthnCredential(
        credential_id=b"x",
        public_key=b"",
        sign_count=0,
        transports=(),
        aaguid="",
        backup_eligible=False,
        backed_up=False,
        name="k",
        created_at=0,
    )
    for verify in (
        lambda: wa.verify_registration(
            rp=RP, credential=credential, expected_challenge=CHALLENGE, existing=[], name="k", now=0
        ),
        lambda: wa.verify_authentication(
            rp=RP, credential=credential, expected_challenge=CHALLENGE, credentials=[stored]
        ),
    ):
        with contextlib.suppress(MfaError):
            verify()
