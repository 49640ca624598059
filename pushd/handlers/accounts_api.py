"""Accounts and account recovery over the API (API key): sign-up, links, the
alternative method, contact details and manual-verification cases."""

from __future__ import annotations

from aiohttp import web

from pushd.appkeys import SERVICES
from pushd.errors import ApiError
from pushd.services.alternative import AlternativeView
from pushd.services.cases import MAX_EVIDENCE_BYTES
from pushd.store.records import CaseRecord, UserRecord
from pushd.wire import (
    client_ip,
    only_keys,
    optional_string,
    read_json,
    read_limited,
    required_string,
    timestamp,
)


async def sign_up(request: web.Request) -> web.Response:
    body = await read_json(request)
    only_keys(body, {"username", "email", "phone", "password"})
    user = await request.app[SERVICES].accounts.sign_up(
        username=required_string(body, "username", max_chars=128),
        email=body.get("email"),
        phone=body.get("phone"),
        password=required_string(body, "password"),
    )
    return web.json_response(contact_json(user) | {"email_verification": "sent"}, status=201)


async def verify_email(request: web.Request) -> web.Response:
    body = await read_json(request)
    only_keys(body, {"token"})
    user = await request.app[SERVICES].accounts.verify_email(body.get("token"))
    return web.json_response(contact_json(user))


async def request_password_reset(request: web.Request) -> web.Response:
    body = await read_json(request)
    only_keys(body, {"login"})
    await request.app[SERVICES].accounts.request_password_reset(body.get("login"))
    message = "if the account exists and has a verified email, a link is on its way"
    return web.json_response({"status": "accepted", "message": message}, status=202)


async def reset_password(request: web.Request) -> web.Response:
    body = await read_json(request)
    only_keys(body, {"token", "password"})
    user = await request.app[SERVICES].accounts.reset_password(
        body.get("token"), required_string(body, "password")
    )
    return web.json_response({"username": user.account.username})


async def contact(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if request.method == "GET":
        status = await services.mfa.status(request.match_info["username"])
        return web.json_response(
            contact_json(
                status.user, services.ctx.clock(), services.ctx.settings.contact_review_days
            )
        )
    body = await read_json(request, required=False)
    only_keys(body, {"email", "phone"})
    user = await services.accounts.update_contact(request.match_info["username"], body)
    return web.json_response(
        contact_json(user, services.ctx.clock(), services.ctx.settings.contact_review_days)
    )


async def start_alternative(request: web.Request) -> web.Response:
    view = await request.app[SERVICES].alternative.start(request.match_info["username"])
    return web.json_response(alternative_json(view), status=201)


async def resend_alternative(request: web.Request) -> web.Response:
    view = await request.app[SERVICES].alternative.resend(request.match_info["id"])
    return web.json_response(alternative_json(view))


async def verify_alternative(request: web.Request) -> web.Response:
    body = await read_json(request)
    only_keys(body, {"sms_code", "email_code", "client_ip"})
    user = await request.app[SERVICES].alternative.verify(
        request.match_info["id"],
        sms_code=body.get("sms_code"),
        email_code=body.get("email_code"),
        client_ip=client_ip(body),
    )
    return web.json_response(
        {"result": "accepted", "username": user.account.username, "next": "review_mfa"}
    )


async def open_case(request: web.Request) -> web.Response:
    body = await read_json(request, required=False)
    only_keys(body, {"note"})
    record = await request.app[SERVICES].cases.open(
        request.match_info["username"], note=optional_string(body, "note", max_chars=1000) or ""
    )
    return web.json_response(case_json(record), status=201)


async def upload_evidence(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_EVIDENCE_BYTES:
        raise ApiError(413, "payload_too_large", "the document must be under 10 MB")
    data = await read_limited(request, MAX_EVIDENCE_BYTES)
    record = await request.app[SERVICES].cases.add_evidence(
        request.match_info["id"], content_type=request.content_type, data=data
    )
    return web.json_response(case_json(record))


async def get_case(request: web.Request) -> web.Response:
    record = await request.app[SERVICES].cases.get(request.match_info["id"])
    return web.json_response(case_json(record))


def contact_json(
    user: UserRecord, now: float | None = None, every_days: int | None = None
) -> dict[str, object]:
    from mfa_core.account_recovery import contact_review_due  # noqa: PLC0415

    account = user.account
    out: dict[str, object] = {
        "username": account.username,
        "email": account.email,
        "email_verified": account.email_verified,
        "phone": account.phone,
    }
    if now is not None and every_days is not None:
        out["review_due"] = contact_review_due(
            account.contact_confirmed_at, now=now, every_days=every_days
        )
    return out


def alternative_json(view: AlternativeView) -> dict[str, object]:
    return {
        "id": view.alternative_id,
        "sms_to": view.sms_to,
        "email_to": view.email_to,
        "sends_left": view.sends_left,
        "expires_at": timestamp(view.expires_at),
    }


def case_json(record: CaseRecord, *, operator: bool = False) -> dict[str, object]:
    case = record.case
    out: dict[str, object] = {
        "id": case.case_id,
        "state": str(case.state),
        "opened_at": timestamp(case.opened_at),
    }
    if case.decided_at is not None:
        out["decided_at"] = timestamp(case.decided_at)
    if operator:
        out |= {
            "username": case.username,
            "note": record.note,
            "has_document": case.evidence_ref is not None,
            "document_type": record.evidence_type or None,
            "document_destroyed": case.evidence_destroyed,
            "checks": [
                {
                    "check": str(c.check),
                    "passed": c.passed,
                    "operator": c.operator,
                    "at": timestamp(c.at),
                    "note": c.note,
                }
                for c in case.checks
            ],
            "decided_by": case.decided_by,
            "decision_note": case.decision_note,
        }
    return out
