"""One-time passwords and WebAuthn over the API (API key)."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from mfa_core.oath import OathKind
from pushd.appkeys import SERVICES
from pushd.errors import invalid_request
from pushd.wire import (
    client_ip,
    device_json,
    only_keys,
    optional_string,
    read_json,
    timestamp,
)


async def start_otp(request: web.Request) -> web.Response:
    body = await read_json(request, required=False)
    only_keys(body, {"kind"})
    kind = body.get("kind", "totp")
    if kind not in ("totp", "hotp"):
        raise invalid_request("kind must be totp or hotp")
    offer = await request.app[SERVICES].otp.start(
        request.match_info["username"], kind=OathKind(str(kind))
    )
    return web.json_response(
        {
            "id": offer.enrolment_id,
            "uri": offer.uri,
            "qr_svg": offer.qr_svg,
            "expires_at": timestamp(offer.expires_at),
        },
        status=201,
    )


async def confirm_otp(request: web.Request) -> web.Response:
    body = await read_json(request)
    only_keys(body, {"code"})
    device, codes = await request.app[SERVICES].otp.confirm(
        request.match_info["id"], body.get("code")
    )
    return web.json_response(
        {"device": device_json(device), "recovery_codes": list(codes)}, status=201
    )


async def verify_otp(request: web.Request) -> web.Response:
    body = await read_json(request)
    only_keys(body, {"code", "client_ip"})
    device = await request.app[SERVICES].otp.verify(
        request.match_info["username"], body.get("code"), client_ip=client_ip(body)
    )
    return web.json_response({"result": "accepted", "device": device_json(device)})


async def start_webauthn_registration(request: web.Request) -> web.Response:
    body = await read_json(request, required=False)
    only_keys(body, {"name"})
    started = await request.app[SERVICES].webauthn.start_registration(
        request.match_info["username"], name=optional_string(body, "name", max_chars=64)
    )
    return web.json_response(
        {
            "id": started.ceremony_id,
            "options": started.options,
            "expires_at": timestamp(started.expires_at),
        },
        status=201,
    )


async def complete_webauthn_registration(request: web.Request) -> web.Response:
    body = await read_json(request)
    only_keys(body, {"credential", "name"})
    device, codes = await request.app[SERVICES].webauthn.complete_registration(
        request.match_info["id"],
        _credential(body),
        name=optional_string(body, "name", max_chars=64),
    )
    return web.json_response(
        {"device": device_json(device), "recovery_codes": list(codes)}, status=201
    )


async def start_webauthn_authentication(request: web.Request) -> web.Response:
    started = await request.app[SERVICES].webauthn.start_authentication(
        request.match_info["username"]
    )
    return web.json_response(
        {
            "id": started.ceremony_id,
            "options": started.options,
            "expires_at": timestamp(started.expires_at),
        },
        status=201,
    )


async def complete_webauthn_authentication(request: web.Request) -> web.Response:
    body = await read_json(request)
    only_keys(body, {"credential", "client_ip"})
    device = await request.app[SERVICES].webauthn.complete_authentication(
        request.match_info["id"], _credential(body), client_ip=client_ip(body)
    )
    return web.json_response({"result": "accepted", "device": device_json(device)})


def _credential(body: Mapping[str, object]) -> Mapping[str, object]:
    credential = body.get("credential")
    if not isinstance(credential, dict):
        raise invalid_request("credential must be the browser's PublicKeyCredential as JSON")
    return credential
