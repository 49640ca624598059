"""Regression tests for what schemathesis found (see test_openapi.py), each on its own.

* ``POST /v1/users/{u}/push/challenges`` with a ``type`` that is an object or a list was a 500:
  the value was looked up in a set before its type was checked (unhashable).
* The spec left out answers pushd gives: 400 on most operations (a bad username, an unknown
  body field), 404 for an unknown user on five of them, and it listed ``payload_too_large``
  as a 400 when it is a 413.
* The spec listed request fields the server refuses as unknown: ``client_ip`` when confirming
  an OTP registration or completing a WebAuthn registration, ``name`` when completing a
  WebAuthn authentication.
* The phone's endpoint did not document ``_action=pending`` (the poll fallback), whose 200
  carries the waiting notifications rather than ``{}``.
"""

from __future__ import annotations

import itertools
from typing import Any

import jsonschema
import pytest

from pushd.openapi import openapi_spec
from tests.support.harness import Harness

SPEC = openapi_spec()
OPERATIONS = [
    (path, method, op)
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if path.startswith("/v1/")
]
_users = itertools.count(1)


@pytest.mark.parametrize("push_type", [{}, [], ["default"], {"default": 1}, 7, True, None])
async def test_a_challenge_type_of_the_wrong_kind_is_a_400(
    harness: Harness, push_type: object
) -> None:
    await harness.enrol("alice")
    status, body = await harness.call(
        "POST", "/v1/users/alice/push/challenges", json={"type": push_type}
    )
    assert status == 400, body
    assert body["error"]["code"] == "invalid_request"


def test_every_api_operation_documents_its_error_answers() -> None:
    for path, method, op in OPERATIONS:
        codes = set(op["responses"])
        label = f"{method.upper()} {path}"
        assert {"400", "401"} <= codes, label
        body = op.get("requestBody", {}).get("content", {})
        if "application/json" in body:
            assert "413" in codes, label
        if "{username}" in path and not path.endswith("/push/registrations"):
            assert "404" in codes, label  # (starting a push registration creates the user)
        assert "payload_too_large" not in op["responses"]["400"]["description"], label


def concrete(path: str, username: str) -> str:
    return (
        path.replace("{username}", username)
        .replace("{choice}", "skip")
        .replace("{decision}", "approve")
        .replace("{device_id}", "made-up")
        .replace("{id}", "made-up")
    )


async def test_an_unknown_user_gets_a_documented_answer_everywhere(harness: Harness) -> None:
    for path, method, op in OPERATIONS:
        if "{username}" not in path:
            continue
        name = f"nobody{next(_users)}"
        admin = path.startswith("/v1/admin/")
        status, body = await harness.call(
            method.upper(), concrete(path, name), json={}, admin=admin
        )
        assert str(status) in op["responses"], (method, path, status, body)


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def sample(schema: dict[str, Any]) -> object:
    """A value of the schema's type (the content does not matter, only the field names)."""
    schema = resolve(schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "string")
    kind = next(k for k in kind if k != "null") if isinstance(kind, list) else kind
    values: dict[str, object] = {"string": "x" * 12, "boolean": True, "integer": 1, "number": 1}
    if kind == "object":
        return {name: sample(prop) for name, prop in schema.get("properties", {}).items()}
    return values.get(kind, "x")


async def test_every_documented_request_field_is_accepted(harness: Harness) -> None:
    await harness.create_user("alice")
    for path, method, op in OPERATIONS:
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        body = sample(content["application/json"]["schema"])
        admin = path.startswith("/v1/admin/")
        _, answer = await harness.call(
            method.upper(), concrete(path, "alice"), json=body, admin=admin
        )
        message = answer.get("error", {}).get("message", "")
        assert not message.startswith("unknown field"), (method, path, message)


async def test_the_poll_fallbacks_answer_is_documented(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("alice")
    await harness.push_login("alice")
    status, body = await phone.pending(enrolled)
    assert status == 200
    assert len(body["notifications"]) == 1
    operation = SPEC["paths"]["/push/device"]["post"]
    action = next(p for p in operation["parameters"] if p["name"] == "_action")
    assert "pending" in action["schema"]["enum"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**schema, "components": SPEC["components"]})
    jsonschema.validate({}, {**schema, "components": SPEC["components"]})
