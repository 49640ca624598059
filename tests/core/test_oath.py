from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mfa_core import oath
from mfa_core.errors import CodeMismatch, CodeReplayed, InvalidParameter, InvalidUri, MfaError
from tests.support.rng import seeded_rng

SECRET = b"12345678901234567890"
TOTP = oath.OathParameters(kind=oath.OathKind.TOTP, secret=SECRET, issuer="Backstage", account="a")
HOTP = replace(TOTP, kind=oath.OathKind.HOTP)
NOW = 1_111_111_109.0  # RFC 6238 step 0x23523EC


@pytest.mark.parametrize("algorithm", oath.ENROLMENT_ALGORITHMS)
@pytest.mark.parametrize("digits", [6, 8])
def test_enrolment(algorithm: str, digits: int) -> None:
    params = oath.new_oath_parameters(
        seeded_rng(),
        kind=oath.OathKind.TOTP,
        issuer="Backstage",
        account="alice@example.com",
        digits=digits,
        algorithm=algorithm,
    )
    assert len(params.secret) * 8 >= 160
    uri = oath.build_otpauth_uri(params)
    assert uri.startswith("otpauth://totp/Backstage:alice@example.com?secret=")
    assert f"algorithm={algorithm.upper()}" in uri
    assert "=" not in uri.split("secret=")[1].split("&")[0]
    assert oath.parse_otpauth_uri(uri) == params


def test_enrolment_refuses_what_apps_cannot_show() -> None:
    kwargs: dict[str, Any]
    for kwargs in ({"digits": 7}, {"algorithm": "md5"}, {"period": 0}, {"period": 301}):
        with pytest.raises(InvalidParameter):
            oath.new_oath_parameters(
                seeded_rng(), kind=oath.OathKind.TOTP, issuer="B", account="a", **kwargs
            )


def test_hotp_uri_carries_the_counter_and_no_issuer_when_none() -> None:
    params = replace(HOTP, issuer=None, counter=5)
    uri = oath.build_otpauth_uri(params)
    assert "counter=5" in uri
    assert "period" not in uri
    assert "issuer=" not in uri
    parsed = oath.parse_otpauth_uri(uri)
    assert (parsed.issuer, parsed.counter) == (None, 5)


def test_parse_google_style_uri() -> None:
    parsed = oath.parse_otpauth_uri(
        "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"
        "&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
    )
    assert (parsed.issuer, parsed.account, parsed.digits) == ("ACME Co", "john.doe@email.com", 6)
    lower = oath.parse_otpauth_uri("otpauth://totp/a?secret=hxdm vjec jjws rb3h")
    assert lower.secret == oath.parse_otpauth_uri("otpauth://totp/a?secret=HXDMVJECJJWSRB3H").secret


@pytest.mark.parametrize(
    "uri",
    [
        "otpauth://totp/a?secret=!!!!!!!!",
        "otpauth://totp/a?secret=AAAA",
        "otpauth://totp/a",
        "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&digits=7",
        "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&digits=x",
        "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&algorithm=SHA3",
        "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQ&period=0",
        "otpauth://hotp/a?secret=GEZDGNBVGY3TQOJQ&counter=-1",
        "otpauth://sms/a?secret=GEZDGNBVGY3TQOJQ",
    ],
)
def test_parse_refuses(uri: str) -> None:
    with pytest.raises(InvalidUri):
        oath.parse_otpauth_uri(uri)


def test_build_refuses_unshowable_digits() -> None:
    with pytest.raises(InvalidParameter):
        oath.build_otpauth_uri(replace(TOTP, digits=10))


@pytest.mark.parametrize(
    ("kwargs"), [{"digits": 5}, {"digits": 11}, {"algorithm": "sha3_256"}, {"counter": -1}]
)
def test_hotp_refuses(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"counter": 0, **kwargs}
    counter = args.pop("counter")
    with pytest.raises(InvalidParameter):
        oath.hotp(SECRET, counter, **args)  # type: ignore[arg-type]


def test_totp_refuses_bad_period() -> None:
    with pytest.raises(InvalidParameter):
        oath.totp(SECRET, NOW, period=0)


def code(step: int) -> str:
    return oath.code_at(TOTP, step)


def test_verify_totp_returns_the_matched_step() -> None:
    step = oath.totp_step(NOW)
    assert oath.verify_totp(TOTP, code(step), now=NOW) == step
    assert oath.verify_totp(TOTP, code(step - 1), now=NOW) == step - 1
    assert oath.verify_totp(TOTP, code(step + 1), now=NOW) == step + 1
    with pytest.raises(CodeMismatch):
        oath.verify_totp(TOTP, code(step + 2), now=NOW)
    assert oath.verify_totp(TOTP, code(step + 2), now=NOW, window=2) == step + 2
    with pytest.raises(CodeMismatch):
        oath.verify_totp(TOTP, code(step - 1), now=NOW, window=0)


def test_verify_totp_replay_guard() -> None:
    step = oath.totp_step(NOW)
    accepted = oath.verify_totp(TOTP, code(step), now=NOW)
    with pytest.raises(CodeReplayed):
        oath.verify_totp(TOTP, code(step), now=NOW, last_accepted_step=accepted)
    with pytest.raises(CodeReplayed):  # an older step after a newer one: refused too
        oath.verify_totp(TOTP, code(step - 1), now=NOW, last_accepted_step=accepted)
    assert oath.verify_totp(TOTP, code(step + 1), now=NOW, last_accepted_step=accepted) == step + 1


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", None, 123456])
def test_verify_totp_refuses_malformed_codes(bad: object) -> None:
    with pytest.raises(CodeMismatch):
        oath.verify_totp(TOTP, bad, now=NOW)  # type: ignore[arg-type]


def test_verify_totp_near_the_epoch_does_not_go_negative() -> None:
    assert oath.verify_totp(TOTP, code(0), now=1.0) == 0


def test_verify_refuses_negative_windows() -> None:
    with pytest.raises(InvalidParameter):
        oath.verify_totp(TOTP, code(0), now=NOW, window=-1)
    with pytest.raises(InvalidParameter):
        oath.verify_hotp(HOTP, "000000", next_counter=0, look_ahead=-1)
    with pytest.raises(InvalidParameter):
        oath.verify_hotp(HOTP, "000000", next_counter=-1)


def test_hotp_accepts_android_and_ios_first_codes_and_resynchronises() -> None:
    ios_first = oath.code_at(HOTP, 0)
    android_first = oath.code_at(HOTP, 1)
    assert oath.verify_hotp(HOTP, ios_first, next_counter=0) == 0
    assert oath.verify_hotp(HOTP, android_first, next_counter=0) == 1
    # After a match at i the caller stores i+1; codes before it are refused.
    assert oath.verify_hotp(HOTP, oath.code_at(HOTP, 2), next_counter=2) == 2
    with pytest.raises(CodeMismatch):
        oath.verify_hotp(HOTP, android_first, next_counter=2)
    # A phone that ran ahead (codes generated but not used) is resynchronised.
    assert oath.verify_hotp(HOTP, oath.code_at(HOTP, 9), next_counter=0) == 9
    with pytest.raises(CodeMismatch):
        oath.verify_hotp(HOTP, oath.code_at(HOTP, 11), next_counter=0)


@given(st.text(max_size=200))
def test_any_text_parses_or_raises_mfa_error(text: str) -> None:
    with contextlib.suppress(MfaError):
        oath.parse_otpauth_uri(text)


@given(
    st.sampled_from(["secret=", "GEZDGNBV", "&", "digits=", "8", "period=", "counter=", "=", "9"])
)
def test_spliced_queries_parse_or_raise(piece: str) -> None:
    with contextlib.suppress(MfaError):
        oath.parse_otpauth_uri("otpauth://hotp/a?secret=GEZDGNBVGY3TQOJQ&" + piece * 3)


@given(st.binary(min_size=10, max_size=64), st.integers(0, 2**40), st.sampled_from([6, 8]))
def test_any_step_verifies_its_own_code(secret: bytes, step: int, digits: int) -> None:
    params = replace(TOTP, secret=secret, digits=digits)
    now = step * 30 + 15
    assert oath.verify_totp(params, oath.totp(secret, now, digits=digits), now=now) == step
