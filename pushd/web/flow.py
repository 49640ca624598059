"""Where a session stands and where it goes next: the guards every page starts with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from mfa_core.profile import StepKind
from pushd.appkeys import SERVICES
from pushd.web.render import html, render_text
from pushd.web.session import Session, ensure, load, rotate

SETTINGS = "/settings"
NOTICES = {
    "signed_out": "You are signed out.",
    "renamed": "The device was renamed.",
    "removed": "The device was removed.",
    "opted_in": "Two-step verification is back on: choose a method below.",
    "contact_saved": "Your contact details are saved.",
    "contact_confirmed": "Thank you for confirming your contact details.",
    "verify_sent": "We sent a link to your new email address: open it to verify the address.",
    "password_changed": "Your password was changed. Sign in with the new one.",
    "session_ended": "Your session ended. Sign in again.",
    "codes_sent": "We sent new codes: the earlier ones no longer work.",
    "codes_saved": "Done. Keep your recovery codes somewhere safe.",
}
PENDING_CLEARED: dict[str, Any] = {
    "challenge_id": None,
    "registration_id": None,
    "otp_enrolment_id": None,
    "ceremony_id": None,
    "alternative_id": None,
    "alternative_to": "",
    "sealed_offer": b"",
}


async def page(
    request: web.Request,
    template: str,
    *,
    status: int = 200,
    session: Session | None = None,
    **values: object,
) -> web.Response:
    """Render a page; every page has a session, for the CSRF token of its forms."""
    current = session or await ensure(request)
    notice = NOTICES.get(request.query.get("notice", ""))
    body = render_text(
        request,
        template,
        status=status,
        csrf_token=current.record.csrf_token,
        signed_in=current.signed_in,
        values={"notice": notice, "username": current.username, **values},
    )
    return html(body, status=status)


def go(location: str) -> web.HTTPSeeOther:
    """A redirect after a form (303: the next request is a GET)."""
    return web.HTTPSeeOther(location)


def place_of(session: Session | None) -> str:
    if session is None or not session.record.password_ok:
        return "/login"
    return SETTINGS if session.record.mfa_ok else "/login/mfa"


async def signed_in(request: web.Request) -> Session:
    session = await load(request)
    if session is None or not session.signed_in:
        raise go(place_of(session))
    return session


async def second_step(request: web.Request) -> Session:
    """Password accepted, second factor still to come."""
    session = await load(request)
    if session is None or not session.record.password_ok or session.record.mfa_ok:
        raise go(place_of(session))
    return session


async def registering(request: web.Request) -> Session:
    """Signed in, or at a first login's set-up step: allowed to register a device."""
    session = await load(request)
    if session is not None and session.signed_in:
        return session
    if session is None or not session.record.password_ok:
        raise go("/login")
    status = await request.app[SERVICES].mfa.status(session.username)
    if status.next_step.kind is not StepKind.SETUP:
        raise go("/login/mfa")
    return session


async def finishing(request: web.Request) -> Session:
    """A registration this session started may finish even though, the moment the device
    was added, the account stopped being at its set-up step."""
    session = await load(request)
    record = session.record if session else None
    in_progress = record is not None and (
        record.registration_id or record.otp_enrolment_id or record.ceremony_id
    )
    if session is not None and record is not None and record.password_ok and in_progress:
        return session
    return await registering(request)


async def after_password(
    request: web.Request, session: Session | None, username: str
) -> web.HTTPSeeOther:
    """The password was right: a new session id, then the step the profile calls for."""
    status = await request.app[SERVICES].mfa.status(username)
    done = status.next_step.kind is StepKind.NONE
    await rotate(
        request,
        session,
        username=status.user.account.username,
        user_id=status.user.user_id,
        password_ok=True,
        mfa_ok=done,
        sealed_codes=b"",
        **PENDING_CLEARED,
    )
    if done:
        return go(SETTINGS)
    return go("/login/setup" if status.next_step.kind is StepKind.SETUP else "/login/mfa")


async def finish_sign_in(
    request: web.Request, session: Session, to: str = SETTINGS
) -> web.HTTPSeeOther:
    """The second factor passed (or was set up, skipped or opted out of): a new session id."""
    await rotate(request, session, mfa_ok=True, **PENDING_CLEARED)
    return go(to)


def text(fields: Mapping[str, str], name: str) -> str:
    return fields.get(name, "").strip()
