"""The authentication settings page: devices (rename, remove with the password asked
again), recovery codes (regenerate), contact details, opting back in, adding a method."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from mfa_core.profile import Device, Method, setup_offers
from pushd.appkeys import SERVICES
from pushd.errors import ApiError
from pushd.web import csrf
from pushd.web.flow import go, page, signed_in, text
from pushd.web.messages import Refused, friendly, refusal
from pushd.web.security import client_ip
from pushd.web.session import Session, seal, update

KIND_LABELS = {"webauthn": "Security key", "push": "Push Auth", "oath": "One-time passwords"}
MAX_PASSWORD_CHARS = 1024


@dataclass(frozen=True, slots=True)
class DeviceRow:
    device_id: str
    kind: str
    kind_label: str
    name: str
    added: str
    last_used: str


def _day(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return f"{moment.day} {moment:%b %Y}"


def _row(device: Device) -> DeviceRow:
    return DeviceRow(
        device_id=device.device_id,
        kind=str(device.kind),
        kind_label=KIND_LABELS.get(str(device.kind), str(device.kind)),
        name=device.name,
        added=_day(device.created_at),
        last_used=_day(device.last_used_at) if device.last_used_at else "",
    )


async def settings_page(request: web.Request) -> web.StreamResponse:
    session = await signed_in(request)
    status = await request.app[SERVICES].mfa.status(session.username)
    user, account = status.user, status.user.account
    offers = [str(m) for m in setup_offers(user.profile) if m not in (Method.SKIP, Method.OPT_OUT)]
    return await page(
        request,
        "settings.html",
        session=session,
        title="Authentication settings",
        devices=[_row(d) for d in user.profile.devices],
        remaining=user.recovery_codes_remaining,
        state=str(user.profile.state),
        offers=offers if str(user.profile.state) != "opted_out" else [],
        review_due=account.mfa_review_due,
        contact_due=status.contact_review_due,
        push_suspended=status.push_suspended,
        email=account.email or "",
        email_verified=account.email_verified,
        phone=account.phone or "",
    )


async def _device_page(
    request: web.Request,
    session: Session,
    device_id: str,
    *,
    rename_error: str | None = None,
    remove_error: str | None = None,
    status: int = 200,
) -> web.Response:
    user = (await request.app[SERVICES].mfa.status(session.username)).user
    device = user.profile.device(device_id)  # UnknownDevice: the error page says so
    return await page(
        request,
        "device.html",
        status=status,
        title=device.name,
        device=_row(device),
        last=len(user.profile.devices) == 1,
        rename_error=rename_error,
        remove_error=remove_error,
    )


async def device_page(request: web.Request) -> web.StreamResponse:
    session = await signed_in(request)
    return await _device_page(request, session, request.match_info["device_id"])


async def device_rename(request: web.Request) -> web.StreamResponse:
    _, fields = await csrf.form(request)
    session = await signed_in(request)
    device_id = request.match_info["device_id"]
    try:
        await request.app[SERVICES].mfa.rename(session.username, device_id, text(fields, "name"))
    except Refused as caught:
        e = refusal(caught)
        return await _device_page(
            request, session, device_id, rename_error=friendly(e), status=e.status
        )
    raise go("/settings?notice=renamed")


async def device_remove(request: web.Request) -> web.StreamResponse:
    _, fields = await csrf.form(request)
    session = await signed_in(request)
    device_id = request.match_info["device_id"]
    services = request.app[SERVICES]
    try:
        token = await _reauthenticate(request, session, fields.get("password", ""))
        await services.mfa.remove(session.username, device_id, token)
    except Refused as caught:
        e = refusal(caught)
        return await _device_page(
            request, session, device_id, remove_error=_password_error(e), status=e.status
        )
    raise go("/settings?notice=removed")


async def _reauthenticate(request: web.Request, session: Session, password: str) -> str:
    if not password:
        raise ApiError(400, "invalid_credentials", "enter your password")
    token, _ = await request.app[SERVICES].reauth.start(
        session.username, password[:MAX_PASSWORD_CHARS], client_ip=client_ip(request)
    )
    return token


def _password_error(error: ApiError) -> str:
    if error.code == "invalid_credentials":
        return "That password is not right."
    return friendly(error)


async def regenerate_page(request: web.Request) -> web.StreamResponse:
    await signed_in(request)
    return await page(request, "regenerate.html", title="New recovery codes", error=None)


async def regenerate(request: web.Request) -> web.StreamResponse:
    _, fields = await csrf.form(request)
    session = await signed_in(request)
    services = request.app[SERVICES]
    try:
        token = await _reauthenticate(request, session, fields.get("password", ""))
        user = (await services.mfa.status(session.username)).user
        await services.reauth.checked_at(user, token)
        codes = await services.codes.regenerate(user)
    except Refused as caught:
        e = refusal(caught)
        return await page(
            request, "regenerate.html", status=e.status, title="New recovery codes",
            error=_password_error(e),
        )  # fmt: skip
    await update(request, session, sealed_codes=seal(request, "\n".join(codes)))
    raise go("/recovery-codes")


async def contact_page(request: web.Request) -> web.StreamResponse:
    session = await signed_in(request)
    return await _contact_page(request, session)


async def _contact_page(
    request: web.Request,
    session: Session,
    *,
    error: str | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> web.Response:
    account = (await request.app[SERVICES].mfa.status(session.username)).user.account
    shown = values or {"email": account.email or "", "phone": account.phone or ""}
    return await page(
        request, "contact.html", status=status, title="Contact details", error=error,
        email=shown["email"], phone=shown["phone"],
    )  # fmt: skip


async def contact_save(request: web.Request) -> web.StreamResponse:
    """``action=confirm``: the details are still right; ``action=save``: change them."""
    _, fields = await csrf.form(request)
    session = await signed_in(request)
    services = request.app[SERVICES]
    if fields.get("action") == "confirm":
        await services.accounts.update_contact(session.username, {})
        raise go("/settings?notice=contact_confirmed")
    values = {"email": text(fields, "email"), "phone": text(fields, "phone")}
    before = (await services.mfa.status(session.username)).user.account.email
    changes: dict[str, object] = {"phone": values["phone"] or None}
    if values["email"]:
        changes["email"] = values["email"]
    try:
        user = await services.accounts.update_contact(session.username, changes)
    except Refused as caught:
        e = refusal(caught)
        return await _contact_page(
            request, session, error=friendly(e), status=e.status, values=values
        )
    changed = user.account.email != before
    raise go(f"/settings?notice={'verify_sent' if changed else 'contact_saved'}")


async def opt_in(request: web.Request) -> web.StreamResponse:
    await csrf.form(request)
    session = await signed_in(request)
    await request.app[SERVICES].mfa.choose(session.username, "opt_in")
    raise go("/settings?notice=opted_in")
