"""The FCM stand-in: Google's token endpoint (through google-auth) and FCM HTTP v1 sends."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from authenticator_sim.gateway import Gateway
from authenticator_sim.gateway.credentials import load_or_create
from authenticator_sim.gateway.fcm_auth import AccessTokens
from authenticator_sim.gateway.stats import Stats
from tests.sim.fcm_clients import access_token, http_client, message, send_path

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture
async def fcm(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    token = await access_token(gateway)
    async with http_client(gateway, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def _error(response: httpx.Response) -> tuple[int, str, str | None]:
    error = response.json()["error"]
    details = error.get("details") or [{}]
    assert error["code"] == response.status_code
    return response.status_code, error["status"], details[0].get("errorCode")


async def test_google_auth_token_then_a_send_reaches_the_inbox(
    gateway: Gateway, fcm: httpx.AsyncClient
) -> None:
    response = await fcm.post(
        send_path(gateway), json=message("fcm-1", messageId="m1", message="j.w.t")
    )
    assert response.status_code == 200
    assert response.json()["name"].startswith(f"projects/{gateway.fcm_project}/messages/")
    item = await gateway.inbox.next("fcm-1", within=5)
    assert item is not None
    assert (item.platform, item.message_id, item.jwt) == ("fcm", "m1", "j.w.t")
    assert item.payload["android"] == {"priority": "high"}
    assert gateway.stats()["access_tokens_issued"] == 1


async def test_validate_only_delivers_nothing(gateway: Gateway, fcm: httpx.AsyncClient) -> None:
    body = {**message("fcm-2", messageId="m2"), "validate_only": True}
    assert (await fcm.post(send_path(gateway), json=body)).status_code == 200
    assert gateway.inbox.take("fcm-2") == []


@pytest.mark.parametrize(
    ("error_code", "status", "canonical"),
    [
        ("UNREGISTERED", 404, "NOT_FOUND"),
        ("SENDER_ID_MISMATCH", 403, "PERMISSION_DENIED"),
        ("INVALID_ARGUMENT", 400, "INVALID_ARGUMENT"),
        ("QUOTA_EXCEEDED", 429, "RESOURCE_EXHAUSTED"),
        ("UNAVAILABLE", 503, "UNAVAILABLE"),
        ("INTERNAL", 500, "INTERNAL"),
        ("THIRD_PARTY_AUTH_ERROR", 401, "UNAUTHENTICATED"),
    ],
)
async def test_fault_error_codes_use_fcm_v1_bodies(
    gateway: Gateway, fcm: httpx.AsyncClient, error_code: str, status: int, canonical: str
) -> None:
    gateway.faults.add(platform="fcm", token="fcm-3", status=500, reason=error_code, count=1)
    response = await fcm.post(send_path(gateway), json=message("fcm-3"))
    assert _error(response) == (status, canonical, error_code)
    detail = response.json()["error"]["details"][0]
    assert detail["@type"] == "type.googleapis.com/google.firebase.fcm.v1.FcmError"
    assert (await fcm.post(send_path(gateway), json=message("fcm-3"))).status_code == 200


async def test_a_fault_without_reason_gets_the_error_code_of_its_status(
    gateway: Gateway, fcm: httpx.AsyncClient
) -> None:
    gateway.faults.add(platform="fcm", status=404, count=1)
    response = await fcm.post(send_path(gateway), json=message("fcm-5"))
    assert _error(response) == (404, "NOT_FOUND", "UNREGISTERED")


async def test_a_stall_delays_an_fcm_answer(gateway: Gateway, fcm: httpx.AsyncClient) -> None:
    gateway.faults.add(platform="fcm", status=200, stall=0.2, count=1)
    started = time.monotonic()
    assert (await fcm.post(send_path(gateway), json=message("fcm-4"))).status_code == 200
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (message("t", big="x" * 4094), (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")),
        ({"message": {"data": {"a": "b"}}}, (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")),
        (
            {"message": {"token": "t", "data": {"n": 1}}},
            (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"),
        ),
        ({"messages": []}, (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")),
        ({"message": {"topic": "news"}}, (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")),
        ({"message": {"token": "a", "fid": "b"}}, (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")),
    ],
)
async def test_invalid_messages(
    gateway: Gateway, fcm: httpx.AsyncClient, body: dict[str, Any], expected: tuple[int, str, str]
) -> None:
    response = await fcm.post(send_path(gateway), json=body)
    assert _error(response) == expected


async def test_the_data_limit_is_4096_bytes(gateway: Gateway, fcm: httpx.AsyncClient) -> None:
    fits = await fcm.post(send_path(gateway), json=message("t", big="x" * 4093))
    too_big = await fcm.post(send_path(gateway), json=message("t", big="x" * 4094))
    assert fits.status_code == 200
    assert too_big.json()["error"]["message"] == "Message is too big"


async def test_another_project_is_a_sender_id_mismatch(
    gateway: Gateway, fcm: httpx.AsyncClient
) -> None:
    response = await fcm.post(send_path(gateway, "someone-else"), json=message("t"))
    assert _error(response) == (403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH")


@pytest.mark.parametrize("authorization", [None, "Bearer made-up", "Basic abc"])
async def test_sends_need_an_issued_access_token(
    gateway: Gateway, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with http_client(gateway, headers=headers) as client:
        response = await client.post(send_path(gateway), json=message("t"))
    assert _error(response) == (401, "UNAUTHENTICATED", None)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_access_tokens_do_not_survive_a_restart(gateway_dir: Any) -> None:
    async with Gateway(gateway_dir) as first:
        token = await access_token(first)
    async with Gateway(gateway_dir) as second:
        headers = {"Authorization": f"Bearer {token}"}
        async with http_client(second, headers=headers) as client:
            response = await client.post(send_path(second), json=message("t"))
    assert response.status_code == 401


async def test_access_tokens_expire_after_an_hour(gateway: Gateway) -> None:
    now = [time.time()]
    credentials = load_or_create(gateway.directory)
    tokens = AccessTokens(credentials, stats=Stats(), clock=lambda: now[0])
    assertion = _assertion(gateway.directory, iat=now[0])
    granted = tokens.grant({"grant_type": JWT_BEARER, "assertion": assertion})
    assert granted["expires_in"] == 3600
    assert granted["token_type"] == "Bearer"
    assert tokens.valid(granted["access_token"])
    now[0] += 3601
    assert not tokens.valid(granted["access_token"])


def _assertion(
    gateway_dir: Any,
    *,
    iat: float | None = None,
    lifetime: int = 3600,
    aud: str = "https://oauth2.googleapis.com/token",
    iss: str | None = None,
    key: Any = None,
    kid: str | None = None,
) -> str:
    account = json.loads((gateway_dir / "fcm-service-account.json").read_text())
    issued = int(time.time() if iat is None else iat)
    claims = {
        "iss": iss or account["client_email"],
        "aud": aud,
        "scope": "https://www.googleapis.com/auth/firebase.messaging",
        "iat": issued,
        "exp": issued + lifetime,
    }
    headers = {"kid": kid or account["private_key_id"]}
    return jwt.encode(claims, key or account["private_key"], algorithm="RS256", headers=headers)


def _foreign_rsa_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize(
    ("options", "grant_type", "error"),
    [
        ({}, JWT_BEARER, None),
        ({"aud": "TOKEN_URI"}, JWT_BEARER, None),
        ({}, "client_credentials", "unsupported_grant_type"),
        ({"key": _foreign_rsa_key()}, JWT_BEARER, "invalid_grant"),
        ({"kid": "0" * 40}, JWT_BEARER, "invalid_grant"),
        ({"iss": "someone@example.com"}, JWT_BEARER, "invalid_grant"),
        ({"aud": "https://example.com/token"}, JWT_BEARER, "invalid_grant"),
        ({"lifetime": 7200}, JWT_BEARER, "invalid_grant"),
        ({"iat": time.time() - 7200}, JWT_BEARER, "invalid_grant"),
    ],
)
async def test_the_token_endpoint(
    gateway: Gateway, options: dict[str, Any], grant_type: str, error: str | None
) -> None:
    if options.get("aud") == "TOKEN_URI":
        options["aud"] = f"{gateway.fcm_endpoint}/token"
    form = {"grant_type": grant_type, "assertion": _assertion(gateway.directory, **options)}
    async with http_client(gateway) as client:
        response = await client.post("/token", data=form)
    if error is None:
        assert response.status_code == 200
        assert response.json()["access_token"]
    else:
        assert response.status_code == 400
        assert response.json()["error"] == error
