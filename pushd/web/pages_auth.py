"""Signing in and out, sign-up, email verification and the forgotten password."""

from __future__ import annotations

from aiohttp import web

from pushd.appkeys import SERVICES
from pushd.services.alternative import mask_email
from pushd.web import csrf
from pushd.web.flow import after_password, go, page, place_of, text
from pushd.web.messages import Refused, friendly, refusal
from pushd.web.security import client_ip
from pushd.web.session import end, load

MAX_LOGIN_CHARS = 320
MAX_PASSWORD_CHARS = 1024


async def home(request: web.Request) -> web.StreamResponse:
    raise go(place_of(await load(request)))


async def login_form(request: web.Request) -> web.StreamResponse:
    session = await load(request)
    if session is not None and session.record.password_ok:
        raise go(place_of(session))
    return await page(request, "login.html", title="Sign in", login="", error=None)


async def login(request: web.Request) -> web.StreamResponse:
    session, fields = await csrf.form(request)
    name, password = text(fields, "login"), fields.get("password", "")
    if not name or not password:
        return await _login_again(request, name, "Enter your username or email and your password.")
    try:
        user = await request.app[SERVICES].login.check_password(
            name[:MAX_LOGIN_CHARS], password[:MAX_PASSWORD_CHARS], client_ip=client_ip(request)
        )
    except Refused as caught:
        e = refusal(caught)
        return await _login_again(request, name, friendly(e), status=e.status)
    raise await after_password(request, session, user.account.username)


async def _login_again(
    request: web.Request, name: str, error: str, *, status: int = 400
) -> web.Response:
    return await page(
        request, "login.html", status=status, title="Sign in", login=name, error=error
    )


async def logout(request: web.Request) -> web.StreamResponse:
    session, _ = await csrf.form(request)
    await end(request, session)
    raise go("/login?notice=signed_out")


async def signup_form(request: web.Request) -> web.StreamResponse:
    return await page(request, "signup.html", title="Create an account", values={}, error=None)


async def signup(request: web.Request) -> web.StreamResponse:
    _, fields = await csrf.form(request)
    values = {key: text(fields, key) for key in ("username", "email", "phone")}
    password = fields.get("password", "")
    error = None
    if not values["username"] or not values["email"] or not password:
        error = "Enter a username, an email address and a password."
    elif password != fields.get("password2", ""):
        error = "The two passwords are not the same."
    if error is None:
        try:
            user = await request.app[SERVICES].accounts.sign_up(
                username=values["username"][:128],
                email=values["email"],
                phone=values["phone"] or None,
                password=password[:MAX_PASSWORD_CHARS],
            )
        except Refused as caught:
            e = refusal(caught)
            error = friendly(e)
        else:
            return await page(
                request,
                "message.html",
                title="Check your email",
                message=f"We sent a link to {mask_email(user.account.email or '')}. Open it to"
                " verify your address, then sign in.",
                link=("/login", "Go to sign in"),
            )
    return await page(
        request, "signup.html", status=400, title="Create an account", values=values, error=error
    )


async def verify_email_form(request: web.Request) -> web.StreamResponse:
    """The link from the email shows a button: a mail scanner's GET spends nothing."""
    token = request.query.get("token", "")[:200]
    return await page(request, "verify_email.html", title="Verify your email", token=token)


async def verify_email(request: web.Request) -> web.StreamResponse:
    session, fields = await csrf.form(request)
    try:
        await request.app[SERVICES].accounts.verify_email(fields.get("token", ""))
    except Refused as caught:
        e = refusal(caught)
        return await page(
            request, "message.html", status=e.status, title="Link not valid", message=friendly(e),
            link=("/login", "Go to sign in"),
        )  # fmt: skip
    next_place = "/settings" if session.signed_in else "/login"
    return await page(
        request,
        "message.html",
        title="Email verified",
        message="Thank you: your email address is verified.",
        link=(next_place, "Continue" if session.signed_in else "Sign in"),
    )


async def forgot_form(request: web.Request) -> web.StreamResponse:
    return await page(request, "forgot_password.html", title="Forgotten password", sent=False)


async def forgot(request: web.Request) -> web.StreamResponse:
    _, fields = await csrf.form(request)
    name = text(fields, "login")[:MAX_LOGIN_CHARS]
    if not name:
        return await page(
            request, "forgot_password.html", status=400, title="Forgotten password", sent=False,
            error="Enter your username or email address.",
        )  # fmt: skip
    await request.app[SERVICES].accounts.request_password_reset(name)
    return await page(request, "forgot_password.html", title="Check your email", sent=True)


async def reset_form(request: web.Request) -> web.StreamResponse:
    token = request.query.get("token", "")[:200]
    return await page(request, "reset_password.html", title="Choose a new password", token=token)


async def reset(request: web.Request) -> web.StreamResponse:
    session, fields = await csrf.form(request)
    token, password = fields.get("token", ""), fields.get("password", "")
    error = "The two passwords are not the same." if password != fields.get("password2") else None
    if error is None:
        try:
            await request.app[SERVICES].accounts.reset_password(
                token, password[:MAX_PASSWORD_CHARS]
            )
        except Refused as caught:
            e = refusal(caught)
            error = friendly(e)
        else:
            await end(request, session)  # every session of this account ended with the reset
            raise go("/login?notice=password_changed")
    return await page(
        request, "reset_password.html", status=400, title="Choose a new password", token=token,
        error=error,
    )  # fmt: skip
