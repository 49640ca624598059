from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mfa_core import push
from mfa_core.errors import InvalidParameter, InvalidUri, MfaError
from mfa_core.oath import OathKind, OathParameters
from mfa_core.push_uri import CombinedRegistration, PushRegistration
from tests.support.vectors import FORGEROCK

BASE = PushRegistration(
    issuer="Backstage",
    account="alice",
    registration_url="https://sso.example.com/push/device?_action=register",
    authentication_url="https://sso.example.com/push/device?_action=authenticate",
    secret=bytes(range(32)),
    challenge=bytes(range(32, 64)),
    message_id="REGISTER:8be951c6-af83-438d-8f74-421bd18650421570561063169",
    load_balancer_cookie="amlbcookie=01",
)


def test_build_writes_every_key_unencoded() -> None:
    uri = push.build_registration_uri(
        replace(
            BASE,
            background_colour="519387",
            image_url="https://sso.example.com/logo.png",
            user_id="u-1",
            device_profile_id="p-1",
        )
    )
    assert uri.startswith("pushauth://push/Backstage:alice?r=")
    query = dict(item.split("=", 1) for item in uri.split("?", 1)[1].split("&"))
    assert set(query) == {"r", "a", "s", "c", "m", "l", "issuer", "b", "image", "uid", "pid"}
    assert query["m"] == BASE.message_id
    assert query["l"] == "YW1sYmNvb2tpZT0wMQ"
    assert "%" not in uri


def test_refresh_url_is_derived_from_r() -> None:
    assert BASE.refresh_url == "https://sso.example.com/push/device?_action=refresh"


@pytest.mark.parametrize(
    ("issuer", "account"),
    [
        ("Back stage", "alice smith"),
        ("Backstage", "alice:work"),
        ("Bäckstage ✓", "ålice@example.com"),
        ("Acme Inc.", "a/b?c&d=e#f"),
    ],
)
def test_labels_with_spaces_colons_and_unicode_round_trip(issuer: str, account: str) -> None:
    registration = replace(BASE, issuer=issuer, account=account)
    assert push.parse_registration_uri(push.build_registration_uri(registration)) == registration


def test_issuer_parameter_overrides_the_label() -> None:
    uri = FORGEROCK["registration_uri"][0]["uri"]
    assert push.parse_registration_uri(uri).issuer == "ForgeRock"
    without_param = uri.replace("&issuer=Rm9yZ2VSb2Nr", "")
    assert push.parse_registration_uri(without_param).issuer == "forgerock"


def test_label_with_an_encoded_separator_and_no_issuer() -> None:
    uri = push.build_registration_uri(BASE).replace("Backstage:alice", "Backstage%3Aalice")
    assert push.parse_registration_uri(uri).account == "alice"
    bare = push.build_registration_uri(BASE).replace("/Backstage:alice", "/alice")
    parsed = push.parse_registration_uri(bare)
    assert (parsed.issuer, parsed.account) == ("Backstage", "alice")
    no_issuer = bare.replace("&issuer=QmFja3N0YWdl", "")
    with pytest.raises(InvalidUri):
        push.parse_registration_uri(no_issuer)


def test_optional_values_and_unknown_keys() -> None:
    uri = push.build_registration_uri(replace(BASE, load_balancer_cookie=None)) + "&future=1&&"
    parsed = push.parse_registration_uri(uri)
    assert parsed.load_balancer_cookie is None
    assert parsed.image_url is None


def good_uri() -> str:
    return push.build_registration_uri(BASE)


@pytest.mark.parametrize(
    "uri",
    [
        good_uri().replace("pushauth://", "otpauth://"),
        good_uri().replace("://push/", "://pull/"),
        good_uri().replace("/Backstage:alice", "/Backstage:"),
        good_uri().replace("&s=", "&s=!!"),
        good_uri().replace("&s=", "&x="),
        good_uri() + "&s=AAAA",
        good_uri() + "&novalue",
        good_uri().replace("&c=", "&c=&old="),
        good_uri().split("&s=")[0] + "&s=AAAA&c=AAAA&m=x",
        good_uri().replace("issuer=QmFja3N0YWdl", "issuer=_w"),
        good_uri().replace("/Backstage:alice", "/%ff:alice"),
        good_uri().replace("?r=", "?r=_w&x="),
        "pushauth://[::1/x?y",
        "pushauth://push/" + "a" * 9000,
    ],
)
def test_rejects(uri: str) -> None:
    with pytest.raises(InvalidUri):
        push.parse_registration_uri(uri)


def test_rejects_a_registration_url_without_the_action() -> None:
    uri = push.build_registration_uri(BASE)
    from mfa_core.encoding import b64url_encode

    wrong_r = b64url_encode(b"https://sso.example.com/push/device")
    r_value = uri.split("r=", 1)[1].split("&", 1)[0]
    with pytest.raises(InvalidUri):
        push.parse_registration_uri(uri.replace(r_value, wrong_r))


def test_rejects_non_strings() -> None:
    with pytest.raises(InvalidUri):
        push.parse_registration_uri(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"registration_url": "https://x/?_action=other"},
        {"authentication_url": "https://x/"},
        {"secret": bytes(31)},
        {"challenge": b""},
        {"background_colour": "#fff"},
        {"message_id": "AUTHENTICATE:8be951c6-af83-438d-8f74-421bd18650421570561063169"},
    ],
)
def test_build_refuses(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidParameter):
        push.build_registration_uri(replace(BASE, **changes))  # type: ignore[arg-type]


OATH = OathParameters(
    kind=OathKind.TOTP, secret=bytes(range(20)), issuer="Backstage", account="alice"
)


def test_combined_uri_round_trip() -> None:
    combined = CombinedRegistration(
        push=replace(BASE, image_url="https://sso.example.com/logo.png"), oath=OATH
    )
    uri = push.build_combined_uri(combined)
    assert uri.startswith("mfauth://totp/Backstage:alice?")
    assert "image=https://sso.example.com/logo.png" in uri
    assert "secret=AAAQEAYEAUDAOCAJBIFQYDIOB4" in uri
    assert push.parse_combined_uri(uri) == combined


def test_combined_hotp() -> None:
    hotp = replace(OATH, kind=OathKind.HOTP, counter=7)
    combined = CombinedRegistration(push=BASE, oath=hotp)
    assert push.parse_combined_uri(push.build_combined_uri(combined)).oath.counter == 7


def test_combined_refuses_mismatched_accounts() -> None:
    with pytest.raises(InvalidParameter):
        push.build_combined_uri(CombinedRegistration(push=BASE, oath=replace(OATH, account="bob")))


labels = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30).filter(
    lambda s: s.strip() == s and s != ""
)


@given(
    issuer=labels,
    account=labels,
    secret=st.binary(min_size=32, max_size=64),
    challenge=st.binary(min_size=1, max_size=64),
    cookie=st.none() | st.text(max_size=30),
)
def test_round_trip_property(
    issuer: str, account: str, secret: bytes, challenge: bytes, cookie: str | None
) -> None:
    registration = replace(
        BASE,
        issuer=issuer,
        account=account,
        secret=secret,
        challenge=challenge,
        load_balancer_cookie=cookie or None,
    )
    assert push.parse_registration_uri(push.build_registration_uri(registration)) == registration


@given(st.text(max_size=400))
def test_any_text_parses_or_raises_mfa_error(text: str) -> None:
    for parser in (push.parse_registration_uri, push.parse_combined_uri):
        with contextlib.suppress(MfaError):
            parser(text)


@given(st.lists(st.sampled_from(["r=", "a=", "s=", "c=", "m=", "&", "=", "%", "AA", ":", "/"])))
def test_spliced_uris_parse_or_raise_mfa_error(pieces: list[str]) -> None:
    with contextlib.suppress(MfaError):
        push.parse_registration_uri("pushauth://push/a:b?" + "".join(pieces))
