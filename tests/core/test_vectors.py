"""Every entry of shared/vectors/ through mfa_core, used exactly as given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mfa_core import oath, push
from mfa_core.encoding import b64_decode_any, b64_encode
from mfa_core.jws import sign_jwt, verify_jwt
from tests.support.vectors import FORGEROCK, RFC_OATH, VECTORS_DIR

SHARED = Path(__file__).resolve().parents[3] / "shared" / "vectors"


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/ is not beside this checkout")
@pytest.mark.parametrize("name", ["forgerock-push.json", "rfc-oath.json"])
def test_vendored_vectors_are_byte_identical_to_shared(name: str) -> None:
    assert (VECTORS_DIR / name).read_bytes() == (SHARED / name).read_bytes()


def _ids(entries: list[dict[str, Any]]) -> list[str]:
    return [f"{i}-{e.get('algorithm', e.get('kind', ''))}" for i, e in enumerate(entries)]


@pytest.mark.parametrize(
    "vector", FORGEROCK["challenge_response"], ids=_ids(FORGEROCK["challenge_response"])
)
def test_challenge_response(vector: dict[str, Any]) -> None:
    secret = b64_decode_any(vector["secret"])
    challenge = b64_decode_any(vector["challenge"])
    assert push.challenge_response(secret, challenge) == vector["expected_response"]
    push.verify_challenge_response(secret, challenge, vector["expected_response"])


@pytest.mark.parametrize("vector", FORGEROCK["client_jwt"])
def test_client_jwt_matches_byte_for_byte(vector: dict[str, Any]) -> None:
    secret = b64_decode_any(vector["secret_b64"])
    claims = dict(vector["claims_in_order"])
    token = sign_jwt(claims, secret)
    assert token == vector["expected_jwt"]
    assert verify_jwt(vector["expected_jwt"], secret) == claims


@pytest.mark.parametrize("vector", FORGEROCK["hotp"], ids=_ids(FORGEROCK["hotp"]))
def test_forgerock_hotp(vector: dict[str, Any]) -> None:
    params = oath.parse_otpauth_uri(
        f"otpauth://hotp/ForgeRock:user?secret={vector['secret_base32']}"
        f"&algorithm={vector['algorithm'].upper()}&digits={vector['digits']}"
        f"&counter={vector['uri_counter']}"
    )
    counters = vector.get("sequence_counters_used", [vector.get("counter_used")])
    expected = vector.get("expected_sequence", [vector.get("expected")])
    for counter, code in zip(counters, expected, strict=True):
        got = oath.hotp(params.secret, counter, digits=params.digits, algorithm=params.algorithm)
        assert got == code
        assert oath.code_at(params, counter) == code
    # Android shows counter+1 first: the verifier's look-ahead window accepts it.
    assert oath.verify_hotp(params, expected[0], next_counter=vector["uri_counter"]) == counters[0]


@pytest.mark.parametrize("vector", FORGEROCK["totp"], ids=_ids(FORGEROCK["totp"]))
def test_forgerock_totp(vector: dict[str, Any]) -> None:
    secret = oath.parse_otpauth_uri(
        f"otpauth://totp/ForgeRock:user?secret={vector['secret_base32']}"
    ).secret
    times = vector.get("times_ms", [vector.get("time_ms")])
    expected = vector.get("expected_sequence", [vector.get("expected")])
    for time_ms, code in zip(times, expected, strict=True):
        now = time_ms / 1000
        got = oath.totp(
            secret,
            now,
            period=vector["period"],
            digits=vector["digits"],
            algorithm=vector["algorithm"],
        )
        assert got == code


@pytest.mark.parametrize("vector", FORGEROCK["registration_uri"])
def test_registration_uri(vector: dict[str, Any]) -> None:
    parsed = push.parse_registration_uri(vector["uri"])
    decoded = vector["decoded"]
    assert parsed.account == decoded["account"]
    assert parsed.issuer == decoded["issuer"]
    assert parsed.authentication_url == decoded["a"]
    assert parsed.registration_url == decoded["r"]
    assert b64_encode(parsed.secret) == decoded["secret_b64"]
    assert b64_encode(parsed.challenge) == decoded["challenge_b64"]
    assert parsed.load_balancer_cookie == decoded["l"]
    assert parsed.message_id == decoded["m"]
    assert parsed.background_colour == decoded["b"]
    response = push.challenge_response(parsed.secret, parsed.challenge)
    assert response == vector["expected_registration_response"]
    # What we build from it parses back to the same registration.
    assert push.parse_registration_uri(push.build_registration_uri(parsed)) == parsed


RFC_HOTP = RFC_OATH["rfc4226_hotp"]


@pytest.mark.parametrize("vector", RFC_HOTP["vectors"], ids=lambda v: str(v["count"]))
def test_rfc4226_hotp(vector: dict[str, Any]) -> None:
    secret = bytes.fromhex(RFC_HOTP["secret_hex"])
    assert oath.hotp(secret, vector["count"], digits=RFC_HOTP["digits"]) == vector["hotp"]


RFC_TOTP = RFC_OATH["rfc6238_totp"]


@pytest.mark.parametrize("vector", RFC_TOTP["vectors"], ids=lambda v: f"{v['mode']}-{v['time']}")
def test_rfc6238_totp(vector: dict[str, Any]) -> None:
    seed = RFC_TOTP["seeds"][vector["mode"]]
    secret = bytes.fromhex(seed["hex"])
    algorithm = vector["mode"].lower()
    got = oath.totp(
        secret,
        vector["time"],
        period=RFC_TOTP["time_step_x"],
        digits=RFC_TOTP["digits"],
        algorithm=algorithm,
    )
    assert got == vector["totp"]
    assert f"{oath.totp_step(vector['time'], RFC_TOTP['time_step_x']):016X}" == vector["T_hex"]
