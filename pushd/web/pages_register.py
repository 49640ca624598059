"""Registering a device: push (QR code, live wait, test notification), one-time passwords
(QR code and a first code) and security keys; each ends on the recovery codes page."""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence

from aiohttp import web

from mfa_core.oath import OathKind
from pushd.appkeys import SERVICES
from pushd.errors import ApiError
from pushd.services.registrations import RegistrationView
from pushd.web import csrf
from pushd.web.fetch import credential, for_fetch, wait_param
from pushd.web.flow import finishing, go, page, registering, text
from pushd.web.messages import Refused, friendly, refusal
from pushd.web.render import qr_markup
from pushd.web.session import Session, seal, unseal, update

CODES_PAGE = "/recovery-codes"
LIVE_STATES = ("pending", "registered")


def back_of(session: Session) -> str:
    return "/settings" if session.signed_in else "/login/setup"


async def _refused(request: web.Request, session: Session, error: ApiError) -> web.Response:
    return await page(
        request, "message.html", status=error.status, title="That did not work",
        message=friendly(error), link=(back_of(session), "Back"),
    )  # fmt: skip


async def _codes_ready(request: web.Request, session: Session, codes: Sequence[str]) -> Session:
    """Keep the new codes (sealed) for the codes page; the registration is over."""
    return await update(
        request,
        session,
        sealed_codes=seal(request, "\n".join(codes)),
        registration_id=None,
        otp_enrolment_id=None,
        ceremony_id=None,
        sealed_offer=b"",
    )


# --- push ----------------------------------------------------------------------------


async def push_start(request: web.Request) -> web.StreamResponse:
    await csrf.form(request)
    session = await registering(request)
    try:
        view = await request.app[SERVICES].registrations.start(session.username)
    except Refused as caught:
        e = refusal(caught)
        return await _refused(request, session, e)
    await update(
        request,
        session,
        registration_id=view.registration_id,
        sealed_offer=seal(request, view.uri or ""),
    )
    raise go("/register/push")


async def _registration(
    request: web.Request, session: Session, wait: float, seen: str | None
) -> RegistrationView:
    """The registration's state; the first look after it is confirmed keeps its codes."""
    registration_id = session.record.registration_id
    if not registration_id:
        raise go(back_of(session))
    try:
        view = await request.app[SERVICES].registrations.wait(registration_id, wait, seen)
    except ApiError as e:
        if e.code != "not_found":
            raise
        return RegistrationView(
            registration_id=registration_id, state="expired", reason=None, expires_at=0
        )
    if view.recovery_codes is not None:
        await _codes_ready(request, session, view.recovery_codes)
    return view


async def push_page(request: web.Request) -> web.StreamResponse:
    session = await finishing(request)
    view = await _registration(request, session, 0, None)
    if view.state == "confirmed":
        raise go(CODES_PAGE)
    uri = unseal(request, session.record.sealed_offer)
    state = view.state if uri else "cancelled"
    return await page(
        request,
        "register_push.html",
        title="Set up Push Auth",
        state=state,
        qr=qr_markup(uri) if uri else "",
        uri=uri,
        back=back_of(session),
    )


async def push_status(request: web.Request) -> web.StreamResponse:
    """For the page's script: long-polls until the state is no longer ``?seen=``."""
    session = await for_fetch(finishing, request)
    seen = request.query.get("seen") or None
    view = await _registration(request, session, wait_param(request), seen)
    body: dict[str, object] = {"state": view.state}
    if view.state == "confirmed":
        body["next"] = CODES_PAGE
    elif view.state not in LIVE_STATES:
        body["next"] = "/register/push"
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def push_cancel(request: web.Request) -> web.StreamResponse:
    await csrf.form(request)
    session = await finishing(request)
    if session.record.registration_id:
        try:
            await request.app[SERVICES].registrations.cancel(session.record.registration_id)
        except ApiError as e:
            if e.code not in ("already_final", "not_found"):
                raise
    await update(request, session, registration_id=None, sealed_offer=b"")
    raise go(back_of(session))


# --- one-time passwords -------------------------------------------------------------------


async def otp_start(request: web.Request) -> web.StreamResponse:
    _, fields = await csrf.form(request)
    session = await registering(request)
    kind = OathKind.HOTP if fields.get("kind") == "hotp" else OathKind.TOTP
    try:
        offer = await request.app[SERVICES].otp.start(session.username, kind=kind)
    except Refused as caught:
        e = refusal(caught)
        return await _refused(request, session, e)
    await update(
        request,
        session,
        otp_enrolment_id=offer.enrolment_id,
        sealed_offer=seal(request, offer.uri),
    )
    raise go("/register/otp")


async def otp_page(request: web.Request) -> web.StreamResponse:
    session = await finishing(request)
    return await _otp_page(request, session)


async def _otp_page(
    request: web.Request, session: Session, *, error: str | None = None, status: int = 200
) -> web.Response:
    uri = unseal(request, session.record.sealed_offer)
    if not session.record.otp_enrolment_id or not uri.startswith("otpauth://"):
        raise go(back_of(session))
    secret = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query).get("secret", [""])[0]
    return await page(
        request,
        "register_otp.html",
        status=status,
        title="Set up one-time passwords",
        qr=qr_markup(uri),
        uri=uri,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        back=back_of(session),
        error=error,
    )


async def otp_confirm(request: web.Request) -> web.StreamResponse:
    _, fields = await csrf.form(request)
    session = await finishing(request)
    if not session.record.otp_enrolment_id:
        raise go(back_of(session))
    try:
        _, codes = await request.app[SERVICES].otp.confirm(
            session.record.otp_enrolment_id, text(fields, "code")[:20]
        )
    except Refused as caught:
        e = refusal(caught)
        return await _otp_page(request, session, error=friendly(e), status=e.status)
    await _codes_ready(request, session, codes)
    raise go(CODES_PAGE)


# --- security keys --------------------------------------------------------------------------


async def webauthn_page(request: web.Request) -> web.StreamResponse:
    session = await registering(request)
    return await page(
        request, "register_webauthn.html", title="Add a security key", back=back_of(session)
    )


async def webauthn_options(request: web.Request) -> web.StreamResponse:
    _, body = await csrf.json_body(request)
    session = await for_fetch(registering, request)
    name = body.get("name")
    started = await request.app[SERVICES].webauthn.start_registration(
        session.username, name=name.strip()[:64] or None if isinstance(name, str) else None
    )
    await update(request, session, ceremony_id=started.ceremony_id)
    return web.json_response({"options": started.options})


async def webauthn_verify(request: web.Request) -> web.StreamResponse:
    _, body = await csrf.json_body(request)
    session = await for_fetch(finishing, request)
    if not session.record.ceremony_id:
        raise ApiError(409, "not_found", "start again")
    name = body.get("name")
    _, codes = await request.app[SERVICES].webauthn.complete_registration(
        session.record.ceremony_id,
        credential(body),
        name=name.strip()[:64] or None if isinstance(name, str) else None,
    )
    await _codes_ready(request, session, codes)
    return web.json_response({"next": CODES_PAGE})
