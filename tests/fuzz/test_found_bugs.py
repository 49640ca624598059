"""What the property tests and the fuzzers found, each pinned down as the input that found it.

Lone surrogates: JSON's ``"\\ud800"`` escape parses to a Python string that no hash, HMAC,
signature, SQLite or Redis write can encode, so it surfaced as a UnicodeEncodeError (a 500)
far from the parser. The parsers now refuse it (mfa_core.jsonutil, pushd.wire, mfa_core.uri)
and the verifiers treat it as a mismatch. Form bodies that are not text in their declared
charset were a 500 from aiohttp's form parser; they are a 400 now.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mfa_core.errors import CodeMismatch, InvalidUri, MalformedInput, ResponseMismatch
from mfa_core.jsonutil import parse_json_object
from mfa_core.oath import OathKind, OathParameters, parse_otpauth_uri, verify_totp
from mfa_core.push import verify_challenge_response
from mfa_core.recovery import hash_recovery_codes, redeem_recovery_code
from pushd.handlers.device import BAD_REQUEST
from tests.fuzz.targets import KEY
from tests.support.harness import Harness
from tests.support.rng import seeded_rng
from tests.web.visitor import Visitor

SURROGATE = "\ud800"


@pytest.mark.parametrize(
    "body", [b'{"a":"\\ud800"}', b'{"\\udfff":1}', b'{"a":[{"b":"x\\udc00"}]}']
)
def test_json_with_a_lone_surrogate_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedInput):
        parse_json_object(body)
    assert parse_json_object(b'{"a":"\\ud83d\\ude00"}') == {"a": "\U0001f600"}  # a pair is text


def test_verifiers_call_a_lone_surrogate_a_mismatch() -> None:
    params = OathParameters(kind=OathKind.TOTP, secret=KEY[:20], account="alice")
    with pytest.raises(CodeMismatch):
        verify_totp(params, SURROGATE, now=0)
    with pytest.raises(ResponseMismatch):
        verify_challenge_response(KEY, b"challenge", SURROGATE)
    codes = hash_recovery_codes(["abcdefghij"], owner="d", key=KEY, rng=seeded_rng(), now=0)
    with pytest.raises(CodeMismatch):
        redeem_recovery_code((codes,), SURROGATE + "bcdefghij", key=KEY)


def test_a_uri_with_a_lone_surrogate_is_invalid() -> None:
    with pytest.raises(InvalidUri):
        parse_otpauth_uri(f"otpauth://totp/a{SURROGATE}:b?secret=JBSWY3DPEHPK3PXPJBSW")


async def post(h: Harness, path: str, body: bytes, **headers: str) -> tuple[int, Any]:
    url = str(h.client.make_url(path))
    async with h.session.post(url, data=body, headers={**h.auth, **headers}) as response:
        return response.status, json.loads(await response.read())


@pytest.mark.parametrize("action", ["refresh", "pending", "register", "authenticate"])
async def test_device_endpoint_refuses_a_lone_surrogate_with_the_fixed_400(
    harness: Harness, action: str
) -> None:
    """Was a 500 for refresh and pending: the mechanism uid went to the store unencodable."""
    for body in (b'{"mechanismUid":"\\ud800","jwt":"x"}', b'{"messageId":"\\ud800","jwt":"x"}'):
        assert await post(harness, f"/push/device?_action={action}", body) == (400, BAD_REQUEST)


async def test_the_api_refuses_a_lone_surrogate_with_400(harness: Harness) -> None:
    """Were 500s: the message was signed into the notification, the code and the password
    hashed."""
    _, _, _ = await harness.enrol("alice")
    cases = [
        ("/v1/users/alice/push/challenges", b'{"message":"\\ud800"}'),
        ("/v1/users/alice/push/challenges", b'{"context":{"user_agent":"\\ud800"}}'),
        ("/v1/users/alice/recovery-codes/verify", b'{"code":"\\ud800"}'),
        ("/v1/login", b'{"login":"alice","password":"\\ud800"}'),
    ]
    for path, body in cases:
        status, answer = await post(harness, path, body, **{"Content-Type": "application/json"})
        assert (status, answer["error"]["code"]) == (400, "invalid_request"), (path, answer)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"login=\xff\xfe&password=\xed\xa0\x80"),
        ("application/x-www-form-urlencoded; charset=no-such-charset", b"login=a&password=b"),
        ("multipart/form-data; boundary=x",
         b'\r\n--x\r\nContent-Disposition: form-data; name="login"\r\n\r\n\xff\r\n--x--\r\n'),
    ],
)  # fmt: skip
async def test_a_form_that_is_not_text_is_a_400_page(
    harness: Harness, content_type: str, body: bytes
) -> None:
    visitor = Visitor(harness.client.make_url("/"))
    try:
        await visitor.get("/login")
        token = f"csrf={visitor.token}&".encode()
        if content_type.startswith("multipart/"):
            token = b'--x\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n'
            token += visitor.token.encode()
        async with visitor.session.post(
            visitor.url("/login"), data=token + body, headers={"Content-Type": content_type}
        ) as response:
            assert response.status == 400
    finally:
        await visitor.close()
