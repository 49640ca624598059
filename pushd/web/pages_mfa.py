"""The second step: first-login choices, and signing in with push, OTP or a security key."""

from __future__ import annotations

from aiohttp import web

from mfa_core.profile import StepKind
from mfa_core.push import LoginContext, PushType
from pushd.appkeys import SERVICES
from pushd.errors import ApiError, invalid_request
from pushd.services.challenges import ChallengeRequest, ChallengeView
from pushd.web import csrf
from pushd.web.fetch import credential, for_fetch, wait_param
from pushd.web.flow import finish_sign_in, go, page, second_step, text
from pushd.web.messages import Refused, friendly, refusal
from pushd.web.security import client_ip
from pushd.web.session import Session, update

CANCEL_TO = {
    "recovery": "/login/recovery",
    "alternative": "/login/alternative",
    "methods": "/login/mfa",
}


async def setup_page(request: web.Request) -> web.StreamResponse:
    session = await second_step(request)
    status = await request.app[SERVICES].mfa.status(session.username)
    if status.next_step.kind is not StepKind.SETUP:
        raise go("/login/mfa")
    methods = [str(m) for m in status.next_step.methods]
    return await page(request, "setup.html", title="Protect your account", methods=methods)


async def setup_choice(request: web.Request) -> web.StreamResponse:
    """Skip (asked again next time) or opt out (not asked again): either way, signed in."""
    _, fields = await csrf.form(request)
    session = await second_step(request)
    choice = fields.get("choice", "")
    if choice not in ("skip", "opt_out"):
        raise invalid_request("choose one of the options on the page")
    await request.app[SERVICES].mfa.choose(session.username, choice)
    raise await finish_sign_in(request, session)


async def methods_page(request: web.Request) -> web.StreamResponse:
    return await _methods(request, await second_step(request))


async def _methods(
    request: web.Request, session: Session, *, error: str | None = None, status: int = 200
) -> web.Response:
    step = (await request.app[SERVICES].mfa.status(session.username)).next_step
    if step.kind is StepKind.SETUP:
        raise go("/login/setup")
    if step.kind is StepKind.NONE:
        raise await finish_sign_in(request, session)
    methods = [str(m) for m in step.methods]
    return await page(
        request, "methods.html", status=status, title="Confirm it's you", methods=methods,
        error=error,
    )  # fmt: skip


# --- push ---------------------------------------------------------------------------


async def push_send(request: web.Request) -> web.StreamResponse:
    await csrf.form(request)
    session = await second_step(request)
    services = request.app[SERVICES]
    number_matching = services.ctx.settings.web_number_matching
    agent = request.headers.get("User-Agent", "")[:512] or None
    wanted = ChallengeRequest(
        push_type=PushType.CHALLENGE if number_matching else PushType.DEFAULT,
        context=LoginContext(remote_ip=client_ip(request), user_agent=agent),
    )
    try:
        view = await services.challenges.create(session.username, wanted)
    except Refused as caught:
        e = refusal(caught)
        mine = e.details.get("challenge_id") == session.record.challenge_id
        if e.code == "challenge_pending" and mine:
            raise go("/login/push") from None
        return await _methods(request, session, error=friendly(e), status=e.status)
    await update(request, session, challenge_id=view.challenge_id)
    raise go("/login/push")


async def _challenge(request: web.Request, challenge_id: str, wait: float) -> ChallengeView:
    try:
        return await request.app[SERVICES].challenges.wait(challenge_id, wait)
    except ApiError as e:
        if e.code != "not_found":
            raise
        return ChallengeView(
            challenge_id=challenge_id, state="expired", reason="timeout", number=None, expires_at=0
        )


async def push_page(request: web.Request) -> web.StreamResponse:
    """The waiting page; once the phone approved, the sign-in completes here."""
    session = await second_step(request)
    challenge_id = session.record.challenge_id
    if not challenge_id:
        raise go("/login/mfa")
    view = await _challenge(request, challenge_id, 0)
    if view.state == "approved":
        raise await finish_sign_in(request, session)
    step = (await request.app[SERVICES].mfa.status(session.username)).next_step
    return await page(
        request,
        "push_wait.html",
        title="Check your phone" if view.state == "pending" else "Sign-in not approved",
        state=view.state,
        reason=view.reason,
        number=view.number,
        methods=[str(m) for m in step.methods],
    )


async def push_status(request: web.Request) -> web.StreamResponse:
    """For the page's script: long-polls the challenge (``?wait=`` seconds, at most 25)."""
    session = await for_fetch(second_step, request)
    challenge_id = session.record.challenge_id
    if not challenge_id:
        return web.json_response({"state": "none", "next": "/login/mfa"})
    view = await _challenge(request, challenge_id, wait_param(request))
    body: dict[str, object] = {"state": view.state, "number": view.number}
    if view.state != "pending":
        body["next"] = "/login/push"
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def push_cancel(request: web.Request) -> web.StreamResponse:
    """ "Use a recovery code" and the like: the pending notification is withdrawn first."""
    _, fields = await csrf.form(request)
    session = await second_step(request)
    challenge_id = session.record.challenge_id
    if challenge_id:
        try:
            await request.app[SERVICES].challenges.cancel(challenge_id)
        except ApiError as e:
            if e.code not in ("already_final", "not_found"):
                raise
        await update(request, session, challenge_id=None)
    raise go(CANCEL_TO.get(fields.get("next", ""), "/login/mfa"))


# --- one-time passwords ---------------------------------------------------------------


async def otp_page(request: web.Request) -> web.StreamResponse:
    await second_step(request)
    return await page(request, "otp_login.html", title="Enter your code", error=None)


async def otp_verify(request: web.Request) -> web.StreamResponse:
    _, fields = await csrf.form(request)
    session = await second_step(request)
    try:
        await request.app[SERVICES].otp.verify(
            session.username, text(fields, "code")[:20], client_ip=client_ip(request)
        )
    except Refused as caught:
        e = refusal(caught)
        return await page(
            request, "otp_login.html", status=e.status, title="Enter your code", error=friendly(e)
        )
    raise await finish_sign_in(request, session)


# --- WebAuthn ----------------------------------------------------------------------------


async def webauthn_page(request: web.Request) -> web.StreamResponse:
    await second_step(request)
    return await page(request, "webauthn_login.html", title="Use your security key")


async def webauthn_options(request: web.Request) -> web.StreamResponse:
    await csrf.json_body(request)
    session = await for_fetch(second_step, request)
    started = await request.app[SERVICES].webauthn.start_authentication(session.username)
    await update(request, session, ceremony_id=started.ceremony_id)
    return web.json_response({"options": started.options})


async def webauthn_verify(request: web.Request) -> web.StreamResponse:
    _, body = await csrf.json_body(request)
    session = await for_fetch(second_step, request)
    if not session.record.ceremony_id:
        raise ApiError(409, "not_found", "start again")
    await request.app[SERVICES].webauthn.complete_authentication(
        session.record.ceremony_id, credential(body), client_ip=client_ip(request)
    )
    done = await finish_sign_in(request, session)
    return web.json_response({"next": done.location})
