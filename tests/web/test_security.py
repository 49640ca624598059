"""The pages' security rules, without a browser: CSRF, cookies, headers, sessions, errors."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from pushd.web.security import CSP
from tests.support.harness import PASSWORD, Harness
from tests.support.outbox import outbox
from tests.web.visitor import visitor

STORES = ("sqlite", "redis")  # sessions live in the store: both stores keep them


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def page_posts(harness: Harness) -> list[str]:
    """Every POST route of the pages (not the API), with a made-up path parameter."""
    paths = set()
    for route in harness.app.router.routes():
        info = route.resource.canonical if route.resource else ""
        if route.method == "POST" and not info.startswith(("/v1/", "/push/")):
            paths.add(re.sub(r"\{[^}]+\}", "some-id", info))
    return sorted(paths)


async def test_every_form_needs_the_sessions_csrf_token(harness: Harness) -> None:
    await harness.create_user("alice")
    posts = page_posts(harness)
    assert {"/login", "/logout", "/signup", "/login/push", "/settings/opt-in"} <= set(posts)
    async with visitor(harness) as person:
        for path in posts:  # no session at all
            answer = await person.post(path, {"login": "alice"}, csrf=False)
            assert answer.status == 403, path
            assert answer.headers["Content-Type"].startswith("text/html"), path
            assert answer.has("This form has expired"), path
        await person.get("/login")
        for path in posts:  # a session, but no token or a wrong one
            assert (await person.post(path, csrf=False, follow=False)).status == 403, path
            wrong = await person.post(path, {"csrf": "x" * 43}, follow=False)
            assert wrong.status == 403, path
        # The right token from another site is refused too.
        for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
            answer = await person.post(
                "/login", {"login": "alice", "password": PASSWORD}, headers=headers
            )
            assert answer.status == 403
        signed_in = await person.post("/login", {"login": "alice", "password": PASSWORD})
        assert signed_in.path == "/login/setup"


async def test_fetch_calls_need_the_csrf_header(harness: Harness) -> None:
    await harness.create_user("alice")
    async with visitor(harness) as person:
        await person.sign_in("alice")
        url = person.url("/register/webauthn/options")
        headers = {"Accept": "application/json"}
        async with person.session.post(url, json={}, headers=headers) as response:
            assert response.status == 403
            assert (await response.json())["error"]["code"] == "csrf_failed"
        headers["X-CSRF-Token"] = person.token
        async with person.session.post(url, json={}, headers=headers) as response:
            assert response.status == 200
            assert "challenge" in (await response.json())["options"]


async def test_cookies_and_security_headers(harness: Harness) -> None:
    async with visitor(harness) as person:
        answer = await person.get("/login")
        cookie = answer.headers["Set-Cookie"]
        assert cookie.startswith("pushd_session=")
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Path=/" in cookie
        assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
        assert answer.headers["Content-Security-Policy"] == CSP
        assert "'unsafe-inline'" not in CSP
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["Cache-Control"] == "no-store"
        assert "<script>" not in answer.text
        assert " style=" not in answer.text
        assert not re.search(r"\son[a-z]+=", answer.text)  # no inline event handlers
        css = await person.get("/static/pushd.css?v=1")
        assert css.headers["Cache-Control"].startswith("public")
        assert css.headers["X-Content-Type-Options"] == "nosniff"
    status, body = await harness.call("GET", "/v1/users/nobody/mfa")  # the API is unchanged
    assert (status, body["error"]["code"]) == (404, "user_not_found")


async def test_secure_cookie_behind_tls(make_harness: Any) -> None:
    async with make_harness(public_url="https://login.example.com") as h, visitor(h) as person:
        answer = await person.get("/login")
        cookie = answer.headers["Set-Cookie"]
        assert cookie.startswith("__Host-pushd_session=")
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_the_session_id_changes_at_each_privilege_change(harness: Harness) -> None:
    await harness.create_user("alice")
    async with visitor(harness) as person, visitor(harness) as attacker:
        await person.get("/login")
        anonymous = person.cookie()
        assert anonymous is not None
        token_before = person.token
        # The attacker planted this anonymous id (fixation): it must not become a login.
        attacker.session.cookie_jar.update_cookies({anonymous.key: anonymous.value})
        answer = await person.post("/login", {"login": "alice", "password": PASSWORD})
        assert answer.path == "/login/setup"
        after_password = person.cookie()
        assert after_password is not None
        assert after_password.value != anonymous.value
        assert person.token != token_before
        assert (await attacker.get("/login/setup")).path == "/login"
        await person.post("/login/setup", {"choice": "skip"})
        signed_in = person.cookie()
        assert signed_in is not None
        assert signed_in.value not in (anonymous.value, after_password.value)
        assert (await person.get("/settings")).status == 200
        # The id from the password step opens nothing any more.
        attacker.session.cookie_jar.update_cookies({anonymous.key: after_password.value})
        assert (await attacker.get("/settings")).path == "/login"


async def test_a_password_reset_ends_every_session(make_harness: Any) -> None:
    async with outbox() as box, make_harness(**box.settings()) as h:
        await h.create_user("alice", email="alice@example.com")
        await h.call(
            "PATCH", "/v1/admin/users/alice", json={"email_verified": True}, admin=True, expect=200
        )
        async with visitor(h) as laptop, visitor(h) as phone:
            await laptop.sign_in("alice")
            await laptop.post("/login/setup", {"choice": "skip"})
            assert (await laptop.get("/settings")).status == 200
            await phone.get("/forgot-password")
            sent = await phone.post("/forgot-password", {"login": "alice@example.com"})
            assert sent.has("Check your email")
            mail = await box.email()
            link = f"/reset-password?token={mail.link_token()}"
            assert link in mail.body
            form = await phone.get(link)
            assert form.has("Choose a new password")
            mismatch = await phone.post(
                "/reset-password",
                {"token": mail.link_token(), "password": "a new passphrase", "password2": "x"},
            )
            assert mismatch.has("The two passwords are not the same.")
            done = await phone.post(
                "/reset-password",
                {
                    "token": mail.link_token(),
                    "password": "a new passphrase",
                    "password2": "a new passphrase",
                },
            )
            assert done.path == "/login?notice=password_changed"
            assert done.has("Your password was changed")
            ended = await laptop.get("/settings")
            assert ended.path == "/login"
            another = "another passphrase"
            again = await phone.post(
                "/reset-password",
                {"token": mail.link_token(), "password": another, "password2": another},
            )
            assert again.has("This link is not valid any more")
            assert (await laptop.sign_in("alice", "a new passphrase")).path == "/login/setup"


async def test_an_idle_session_ends(make_harness: Any) -> None:
    clock = Clock()
    async with make_harness(clock=clock) as h, visitor(h) as person:
        await h.create_user("alice")
        await person.sign_in("alice")
        await person.post("/login/setup", {"choice": "skip"})
        clock.now += 25 * 60
        assert (await person.get("/settings")).status == 200  # still in use: kept alive
        clock.now += 25 * 60
        assert (await person.get("/settings")).status == 200
        clock.now += 31 * 60
        assert (await person.get("/settings")).path == "/login"


async def test_error_pages_are_html_and_the_api_stays_json(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.create_user("alice")
    async with visitor(harness) as person:
        missing = await person.get("/no/such/page")
        assert missing.status == 404
        assert missing.headers["Content-Type"].startswith("text/html")
        assert missing.has("Page not found")
        assert missing.headers["Content-Security-Policy"] == CSP
        wrong_method = await person.post("/settings/devices/x", {})
        assert wrong_method.status == 405
        assert wrong_method.has("cannot be used that way")

        await person.sign_in("alice")
        await person.post("/login/setup", {"choice": "skip"})
        gone = await person.get("/settings/devices/not-a-device")
        assert (gone.status, gone.has("That device is not registered any more.")) == (404, True)

        async def broken(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("secret internals")

        monkeypatch.setattr(harness.services.mfa, "status", broken)
        failed = await person.get("/settings")
        assert failed.status == 500
        assert failed.has("Something went wrong")
        for leak in ("Traceback", "RuntimeError", "secret internals", "pushd/"):
            assert leak not in failed.text
    for path in ("/v1/nothing-here", "/push/nothing"):
        response = await harness.client.get(path, headers=harness.auth)
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"
    assert (await (await harness.client.get("/healthz")).json()) is not None


async def test_wrong_passwords_get_a_clear_message_then_a_lockout(harness: Harness) -> None:
    await harness.create_user("alice")
    async with visitor(harness) as person:
        await person.get("/login")
        for _ in range(5):
            wrong = await person.post("/login", {"login": "alice", "password": "not it at all"})
            assert wrong.status == 401
            assert wrong.has("That username or password is not right.")
            assert wrong.first(r'value="([^"]*)" autocomplete="username"') == "alice"
        locked = await person.post("/login", {"login": "alice", "password": PASSWORD})
        assert locked.status == 429
        assert locked.has("Too many wrong attempts. Try again in")
        empty = await person.post("/login", {"login": "", "password": ""})
        assert empty.has("Enter your username or email and your password.")
