"""The operators' API (admin keys only): users, MFA resets, lockouts, the audit log."""

from __future__ import annotations

from aiohttp import web

from pushd.appkeys import SERVICES
from pushd.errors import invalid_request
from pushd.handlers.accounts_api import case_json
from pushd.services.throttle import locked_for
from pushd.services.users import create_user, require_user, update_account
from pushd.wire import (
    audit_json,
    only_keys,
    optional_string,
    read_json,
    required_string,
    time_range,
    timestamp,
    user_json,
)

ACTOR = "admin-api"


async def create(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await read_json(request)
    only_keys(body, {"username", "email", "phone", "password"})
    user = await create_user(
        services.ctx,
        services.passwords,
        username=required_string(body, "username", max_chars=128),
        email=body.get("email"),
        phone=body.get("phone"),
        password=body.get("password"),
    )
    await services.audit.record(
        "admin",
        user_id=user.user_id,
        username=user.account.username,
        actor=ACTOR,
        detail="user created",
    )
    return web.json_response(user_json(user), status=201)


async def show(request: web.Request) -> web.Response:
    user = (await require_user(request.app[SERVICES].ctx, request.match_info["username"])).record
    return web.json_response(user_json(user))


async def update(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await read_json(request)
    only_keys(body, {"email", "phone", "password", "email_verified"})
    user = await update_account(
        services.ctx, services.passwords, request.match_info["username"], body
    )
    await services.audit.record(
        "admin",
        user_id=user.user_id,
        username=user.account.username,
        actor=ACTOR,
        detail="account updated: " + ", ".join(sorted(body)),
    )
    return web.json_response(user_json(user))


async def reset_mfa(request: web.Request) -> web.Response:
    user = await request.app[SERVICES].admin.reset_mfa(request.match_info["username"], actor=ACTOR)
    return web.json_response(user_json(user))


async def unlock(request: web.Request) -> web.Response:
    lifted = await request.app[SERVICES].admin.unlock(request.match_info["username"], actor=ACTOR)
    return web.json_response({"lifted": lifted})


async def audit(request: web.Request) -> web.Response:
    since, until = time_range(request)
    try:
        limit = int(request.query.get("limit", "500"))
    except ValueError:
        raise invalid_request("limit must be a number") from None
    if not 1 <= limit <= 5000:
        raise invalid_request("limit must be 1..5000")
    events = await request.app[SERVICES].admin.audit(
        request.query.get("username"), since=since, until=until, limit=limit
    )
    return web.json_response({"events": [audit_json(e) for e in events]})


async def lockouts(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    now = services.ctx.clock()
    found = await services.throttler.lockouts()
    return web.json_response(
        {
            "lockouts": [
                {
                    "subject": key,
                    "locked_until": timestamp(t.locked_until),
                    "retry_after": int(locked_for(t, now) + 0.999),
                    "lockouts": t.lockouts,
                }
                for key, t in found
            ]
        }
    )


async def list_cases(request: web.Request) -> web.Response:
    records = await request.app[SERVICES].cases.list(request.query.get("state"))
    return web.json_response({"cases": [case_json(r, operator=True) for r in records]})


async def show_case(request: web.Request) -> web.Response:
    record = await request.app[SERVICES].cases.get(request.match_info["id"])
    return web.json_response(case_json(record, operator=True))


async def case_evidence(request: web.Request) -> web.Response:
    data, kind = await request.app[SERVICES].cases.evidence(request.match_info["id"], actor=ACTOR)
    return web.Response(body=data, content_type=kind, headers={"Cache-Control": "no-store"})


async def case_check(request: web.Request) -> web.Response:
    body = await read_json(request)
    only_keys(body, {"check", "passed", "note"})
    passed = body.get("passed")
    if not isinstance(passed, bool):
        raise invalid_request("passed must be true or false")
    record = await request.app[SERVICES].cases.check(
        request.match_info["id"],
        required_string(body, "check", max_chars=64),
        passed=passed,
        note=optional_string(body, "note", max_chars=1000) or "",
        actor=ACTOR,
    )
    return web.json_response(case_json(record, operator=True))


async def decide_case(request: web.Request) -> web.Response:
    body = await read_json(request, required=False)
    only_keys(body, {"note"})
    record = await request.app[SERVICES].cases.decide(
        request.match_info["id"],
        approve=request.match_info["decision"] == "approve",
        note=optional_string(body, "note", max_chars=1000) or "",
        actor=ACTOR,
    )
    return web.json_response(case_json(record, operator=True))
