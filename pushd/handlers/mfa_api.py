"""Sign-in, the MFA profile, devices, recovery codes and re-authentication (API key)."""

from __future__ import annotations

from aiohttp import web

from mfa_core.profile import next_step
from pushd.appkeys import SERVICES
from pushd.wire import (
    client_ip,
    device_json,
    mfa_json,
    next_step_json,
    only_keys,
    read_json,
    required_string,
    timestamp,
)


async def login(request: web.Request) -> web.Response:
    """Password check by username or email; answers what the MFA step must ask."""
    services = request.app[SERVICES]
    body = await read_json(request)
    only_keys(body, {"login", "password", "client_ip"})
    user = await services.login.check_password(
        required_string(body, "login", max_chars=320),
        required_string(body, "password"),
        client_ip=client_ip(body),
    )
    step = next_step(user.profile, recovery_codes_remaining=user.recovery_codes_remaining)
    return web.json_response({"username": user.account.username, "next_step": next_step_json(step)})


async def mfa_status(request: web.Request) -> web.Response:
    status = await request.app[SERVICES].mfa.status(request.match_info["username"])
    return web.json_response(mfa_json(status))


async def mfa_choice(request: web.Request) -> web.Response:
    choice = {"skip": "skip", "opt-out": "opt_out", "opt-in": "opt_in"}[
        request.match_info["choice"]
    ]
    status = await request.app[SERVICES].mfa.choose(request.match_info["username"], choice)
    return web.json_response(mfa_json(status))


async def list_devices(request: web.Request) -> web.Response:
    status = await request.app[SERVICES].mfa.status(request.match_info["username"])
    return web.json_response({"devices": [device_json(d) for d in status.user.profile.devices]})


async def rename_device(request: web.Request) -> web.Response:
    body = await read_json(request)
    only_keys(body, {"name"})
    device = await request.app[SERVICES].mfa.rename(
        request.match_info["username"], request.match_info["device_id"], body.get("name")
    )
    return web.json_response(device_json(device))


async def remove_device(request: web.Request) -> web.Response:
    body = await read_json(request, required=False)
    only_keys(body, {"reauth_token"})
    token = body.get("reauth_token") or request.headers.get("X-Reauth-Token")
    status = await request.app[SERVICES].mfa.remove(
        request.match_info["username"], request.match_info["device_id"], token
    )
    return web.json_response(mfa_json(status))


async def reauthenticate(request: web.Request) -> web.Response:
    body = await read_json(request)
    only_keys(body, {"password", "client_ip"})
    token, expires_at = await request.app[SERVICES].reauth.start(
        request.match_info["username"],
        required_string(body, "password"),
        client_ip=client_ip(body),
    )
    return web.json_response({"reauth_token": token, "expires_at": timestamp(expires_at)})


async def recovery_codes_left(request: web.Request) -> web.Response:
    status = await request.app[SERVICES].mfa.status(request.match_info["username"])
    return web.json_response({"remaining": status.user.recovery_codes_remaining})


async def regenerate_recovery_codes(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await read_json(request, required=False)
    only_keys(body, {"reauth_token"})
    status = await services.mfa.status(request.match_info["username"])
    token = body.get("reauth_token") or request.headers.get("X-Reauth-Token")
    await services.reauth.checked_at(status.user, token)
    codes = await services.codes.regenerate(status.user)
    return web.json_response({"recovery_codes": list(codes)}, status=201)


async def verify_recovery_code(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await read_json(request)
    only_keys(body, {"code", "client_ip"})
    status = await services.mfa.status(request.match_info["username"])
    remaining = await services.codes.redeem(
        status.user, body.get("code"), client_ip=client_ip(body)
    )
    return web.json_response({"result": "accepted", "remaining": remaining})
