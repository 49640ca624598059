"""Auth, errors, operations endpoints and the OpenAPI description, over HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from pushd.appkeys import SERVICES
from pushd.openapi import openapi_spec
from pushd.services.api_keys import Scope, create_key, revoke_key
from pushd.web.security import is_page
from tests.support.harness import Harness

STORES = ("sqlite", "redis")  # every test here runs on both stores


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer pk_wrong", "Basic dXNlcjpwYXNz", "bearer  "],
)
async def test_api_needs_a_valid_key(harness: Harness, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await harness.client.post("/v1/users/alice/push/challenges", headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="pushd"'
    assert await response.json() == {
        "error": {"code": "unauthorized", "message": "a valid API key is required"}
    }


async def test_admin_keys_do_not_open_the_login_api(harness: Harness) -> None:
    store = harness.app[SERVICES].ctx.store
    admin = await create_key(store, "ops", Scope.ADMIN, now=time.time())
    response = await harness.client.post(
        "/v1/users/alice/push/registrations", headers={"Authorization": f"Bearer {admin}"}
    )
    assert response.status == 401


async def test_scheme_is_case_insensitive_and_revocation_works(harness: Harness) -> None:
    store = harness.app[SERVICES].ctx.store
    key = await create_key(store, "temp", Scope.API, now=time.time())
    headers = {"Authorization": f"bearer {key}"}
    assert (
        await harness.client.post("/v1/users/a/push/registrations", headers=headers)
    ).status == 201
    assert await revoke_key(store, "temp") == 1
    assert (
        await harness.client.post("/v1/users/b/push/registrations", headers=headers)
    ).status == 401


async def test_unknown_routes_and_methods_are_json_errors(harness: Harness) -> None:
    response = await harness.client.get("/v1/nothing-here", headers=harness.auth)
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"
    response = await harness.client.put("/v1/push/challenges/x", headers=harness.auth)
    assert response.status == 405
    assert (await response.json())["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


async def test_oversized_and_malformed_bodies(harness: Harness) -> None:
    path = "/v1/users/alice/push/registrations"
    big = await harness.client.post(path, data=b"{" + b" " * 70_000 + b"}", headers=harness.auth)
    assert big.status == 413
    assert (await big.json())["error"]["code"] == "payload_too_large"
    for body in (b"{", b"\xff\xfe", b"[" * 5000 + b"]" * 5000, b"null"):
        response = await harness.client.post(path, data=body, headers=harness.auth)
        assert response.status == 400, body[:10]
        assert (await response.json())["error"]["code"] == "invalid_request"


async def test_health_and_readiness(harness: Harness) -> None:
    assert await (await harness.client.get("/healthz")).json() == {"status": "ok"}
    assert await (await harness.client.get("/readyz")).json() == {
        "status": "ok",
        "store": "up",
        "bus": "up",
    }


async def test_metrics_are_prometheus_text(harness: Harness) -> None:
    await harness.enrol("alice")
    response = await harness.client.get("/metrics")
    text = await response.text()
    assert response.headers["Content-Type"].startswith("text/plain")
    for name in (
        "pushd_registrations_total",
        "pushd_challenges_sent_total",
        "pushd_decision_seconds",
        "pushd_waiters",
        "pushd_device_replies_rejected_total",
        "pushd_push_sends_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    assert 'pushd_registrations_total{outcome="confirmed"} 1.0' in text


def test_the_spec_is_valid_openapi_3_1() -> None:
    validate(openapi_spec())


async def test_every_route_is_in_the_spec(harness: Harness) -> None:
    documented = {
        (path, method.upper()) for path, item in openapi_spec()["paths"].items() for method in item
    }
    served = {
        (route.resource.canonical, route.method)
        for route in harness.app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"
        and not is_page(route.resource.canonical)  # the hosted pages are not the API
    }
    undocumented = {r for r in served if r not in documented} - {
        ("/metrics", "GET"),
        ("/v1/openapi.json", "GET"),
    }
    assert undocumented == set()


async def test_the_spec_is_served(harness: Harness) -> None:
    response = await harness.client.get("/v1/openapi.json")
    assert response.status == 200
    assert (await response.json())["openapi"] == "3.1.0"


def schema(name: str) -> dict[str, Any]:
    spec = openapi_spec()
    return {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}


async def test_answers_match_their_schemas(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("alice")
    _, started = await harness.call("POST", "/v1/users/zed/push/registrations", expect=201)
    jsonschema.validate(started, schema("Registration"))
    _, created = await harness.call(
        "POST", "/v1/users/alice/push/challenges", json={"type": "challenge"}, expect=201
    )
    jsonschema.validate(created, schema("Challenge"))
    _, conflict = await harness.call("POST", "/v1/users/alice/push/challenges", expect=409)
    jsonschema.validate(conflict, schema("Error"))
    message = await harness.transport.next()
    await phone.answer(enrolled, message, number=created["number"])
    _, done = await harness.call("GET", f"/v1/push/challenges/{created['id']}?wait=5", expect=200)
    jsonschema.validate(done, schema("Challenge"))


async def test_mfa_answers_match_their_schemas(harness: Harness) -> None:
    import time as clock

    from mfa_core.oath import code_at, parse_otpauth_uri, totp_step
    from tests.support.soft_webauthn import SoftAuthenticator

    user = await harness.create_user("zed", email="zed@example.com")
    jsonschema.validate(user, schema("AdminUser"))
    _, result = await harness.call(
        "POST", "/v1/login", json={"login": "zed", "password": "correct horse battery"}, expect=200
    )
    jsonschema.validate(result, schema("LoginResult"))
    _, offer = await harness.call("POST", "/v1/users/zed/otp/registrations", expect=201)
    jsonschema.validate(offer, schema("OtpOffer"))
    params = parse_otpauth_uri(offer["uri"])
    code = code_at(params, totp_step(clock.time()))
    _, registered = await harness.call(
        "POST", f"/v1/otp/registrations/{offer['id']}/confirm", json={"code": code}, expect=201
    )
    jsonschema.validate(registered, schema("Registered"))
    _, started = await harness.call("POST", "/v1/users/zed/webauthn/registrations", expect=201)
    jsonschema.validate(started, schema("WebAuthnStart"))
    key = SoftAuthenticator()
    await harness.call(
        "POST", f"/v1/webauthn/registrations/{started['id']}",
        json={"credential": key.create(started["options"], harness.services.ctx.settings.base_url)},
        expect=201,
    )  # fmt: skip
    _, mfa = await harness.call("GET", "/v1/users/zed/mfa", expect=200)
    jsonschema.validate(mfa, schema("Mfa"))
    _, accepted = await harness.call(
        "POST", "/v1/users/zed/recovery-codes/verify",
        json={"code": registered["recovery_codes"][0]}, expect=200,
    )  # fmt: skip
    jsonschema.validate(accepted, schema("Accepted"))
    _, events = await harness.call("GET", "/v1/admin/audit?username=zed", expect=200, admin=True)
    jsonschema.validate(events, schema("AuditEvents"))
    _, locks = await harness.call("GET", "/v1/admin/lockouts", expect=200, admin=True)
    jsonschema.validate(locks, schema("Lockouts"))


async def test_a_body_that_arrives_in_pieces_is_read_whole(harness: Harness) -> None:
    """``content.read(n)`` returns the first piece only; the API must wait for the rest."""
    await harness.enrol("alice")
    message = "Sign in to Backstage from a new laptop"

    async def pieces() -> AsyncIterator[bytes]:
        body = json.dumps({"message": message}).encode()
        for start in range(0, len(body), 7):
            yield body[start : start + 7]
            await asyncio.sleep(0.01)  # each piece its own chunk on the wire

    response = await harness.client.post(
        "/v1/users/alice/push/challenges", data=pieces(), headers=harness.auth
    )
    assert response.status == 201, await response.text()
    sent = await harness.transport.next()
    assert sent.alert == message
