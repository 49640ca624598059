"""The login pages' push API (bearer API key)."""

from __future__ import annotations

from aiohttp import web

from pushd.appkeys import SERVICES
from pushd.wire import (
    challenge_json,
    challenge_request,
    only_keys,
    optional_string,
    read_json,
    registration_json,
    wait_seconds,
)


async def start_registration(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await read_json(request, required=False)
    only_keys(body, {"issuer", "account_name"})
    view = await services.registrations.start(
        request.match_info["username"],
        issuer=optional_string(body, "issuer", max_chars=64),
        account_name=optional_string(body, "account_name", max_chars=64),
    )
    return web.json_response(registration_json(view), status=201)


async def get_registration(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    wait = wait_seconds(request, services.ctx.settings.max_wait)
    seen = request.query.get("seen")
    view = await services.registrations.wait(request.match_info["id"], wait, seen)
    return web.json_response(registration_json(view), headers={"Cache-Control": "no-store"})


async def cancel_registration(request: web.Request) -> web.Response:
    view = await request.app[SERVICES].registrations.cancel(request.match_info["id"])
    return web.json_response(registration_json(view))


async def create_challenge(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    parsed = challenge_request(await read_json(request, required=False))
    view = await services.challenges.create(request.match_info["username"], parsed)
    return web.json_response(challenge_json(view), status=201)


async def get_challenge(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    wait = wait_seconds(request, services.ctx.settings.max_wait)
    view = await services.challenges.wait(request.match_info["id"], wait)
    return web.json_response(challenge_json(view), headers={"Cache-Control": "no-store"})


async def cancel_challenge(request: web.Request) -> web.Response:
    view = await request.app[SERVICES].challenges.cancel(request.match_info["id"])
    return web.json_response(challenge_json(view))
