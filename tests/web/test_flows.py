"""Every flow a form can do, without JavaScript: the pages as plain HTML forms."""

from __future__ import annotations

import re
import time
from typing import Any

from mfa_core.oath import code_at, parse_otpauth_uri, totp_step
from pushd.delivery.base import SendOutcome, SendResult
from tests.support.harness import PASSWORD, Harness
from tests.support.outbox import outbox
from tests.web.visitor import Answer, Visitor, visitor


def totp_code(uri: str, *, steps_ahead: int = 0) -> str:
    params = parse_otpauth_uri(uri)
    return code_at(params, totp_step(time.time(), params.period) + steps_ahead)


async def signed_in_after_skip(person: Visitor, name: str) -> Answer:
    await person.sign_in(name)
    return await person.post("/login/setup", {"choice": "skip"})


async def test_first_login_skip_opt_out_and_opt_back_in(harness: Harness) -> None:
    await harness.create_user("alice")
    async with visitor(harness) as person:
        setup = await person.sign_in("alice")
        assert setup.path == "/login/setup"
        for words in ("Skip", "Opt out", "Not recommended", "Security key", "Push Auth",
                      "One-time password"):  # fmt: skip
            assert setup.has(words), words
        assert (await person.get("/settings")).path == "/login/setup"  # not signed in yet
        skipped = await person.post("/login/setup", {"choice": "skip"})
        assert skipped.path == "/settings"
        assert skipped.has("Two-step verification is not set up")
        await person.sign_out()
        # Skipping asks again at the next login; opting out does not.
        assert (await person.sign_in("alice")).path == "/login/setup"
        opted_out = await person.post("/login/setup", {"choice": "opt_out"})
        assert opted_out.has("Two-step verification is off")
        assert opted_out.has("not recommended")
        await person.sign_out()
        assert (await person.sign_in("alice")).path == "/settings"
        back_in = await person.post("/settings/opt-in")
        assert back_in.path == "/settings?notice=opted_in"
        assert back_in.has("Two-step verification is back on")
        await person.sign_out()
        assert (await person.sign_in("alice")).path == "/login/setup"
        bogus = await person.post("/login/setup", {"choice": "anything"})
        assert bogus.status == 400


async def test_otp_registration_and_login(harness: Harness) -> None:
    await harness.create_user("alice")
    async with visitor(harness) as person:
        await person.sign_in("alice")
        register = await person.post("/register/otp")
        assert register.path == "/register/otp"
        assert register.headers["Cache-Control"] == "no-store"
        assert "<svg" in register.text
        uri = register.first(r'href="(otpauth://[^"]+)"')
        secret = re.sub(r"\s", "", register.first(r'<code class="secret">([^<]+)</code>'))
        assert f"secret={secret}" in uri
        wrong = await person.post("/register/otp/confirm", {"code": "000000"})
        assert wrong.status == 401
        assert wrong.has("That code is not right.")
        codes_page = await person.post("/register/otp/confirm", {"code": totp_code(uri)})
        assert codes_page.path == "/recovery-codes"
        codes = re.findall(r"<li><code>([^<]+)</code></li>", codes_page.text)
        assert len(codes) == 10
        download = await person.get("/recovery-codes.txt")
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert download.headers["Cache-Control"] == "no-store"
        assert all(code in download.text for code in codes)
        saved = await person.post("/recovery-codes")
        assert saved.path == "/settings"
        assert saved.has("Authenticator app")
        assert (await person.get("/recovery-codes")).path == "/settings"  # shown once
        await person.sign_out()

        assert (await person.sign_in("alice")).path == "/login/mfa"
        assert (await person.get("/login/otp")).has("Enter your code")
        refused = await person.post("/login/otp", {"code": "123456"})
        assert refused.has("That code is not right.")
        done = await person.post("/login/otp", {"code": totp_code(uri, steps_ahead=1)})
        assert done.path == "/settings"


async def test_recovery_code_sign_in(harness: Harness) -> None:
    await harness.create_user("alice")
    _, _, codes = await harness.enrol("alice")
    async with visitor(harness) as person:
        methods = await person.sign_in("alice")
        assert methods.path == "/login/mfa"
        assert methods.has("Use a recovery code")
        assert (await person.get("/login/recovery")).status == 200
        wrong = await person.post("/login/recovery", {"code": "not-a-code"})
        assert wrong.has("That code is not right.")
        done = await person.post("/login/recovery", {"code": codes[0]})
        assert done.path == "/settings"
        assert done.has("You signed in without your usual device")
        assert done.has("9 codes left")
        await person.sign_out()
        await person.sign_in("alice")
        reused = await person.post("/login/recovery", {"code": codes[0]})
        assert reused.has("That code is not right.")


async def test_push_login_with_the_check_again_button(harness: Harness) -> None:
    await harness.create_user("alice")
    phone, enrolled, _ = await harness.enrol("alice")
    async with visitor(harness) as person:
        await person.sign_in("alice")
        waiting = await person.post("/login/push")
        assert waiting.path == "/login/push"
        assert waiting.has("Check your phone")
        assert waiting.has('aria-live="polite"')
        number = int(waiting.first(r'<span class="visually-hidden">Number to tap: </span>(\d+)'))
        sent = await harness.transport.next()
        again = await person.get("/login/push")  # "Check again" before the phone answers
        assert again.has("Waiting for a response")
        async with person.session.get(person.url("/login/push/status?wait=0")) as response:
            assert (await response.json()) == {"state": "pending", "number": number}
        assert await phone.answer(enrolled, sent, number=number) == 200
        done = await person.get("/login/push")
        assert done.path == "/settings"


async def test_push_denied_then_cancelled_for_a_recovery_code(make_harness: Any) -> None:
    async with make_harness(web_number_matching=False, push_denial_backoff=0.0) as h:
        await h.create_user("alice")
        phone, enrolled, codes = await h.enrol("alice")
        async with visitor(h) as person:
            await person.sign_in("alice")
            waiting = await person.post("/login/push")
            assert waiting.has("tap <strong>Approve</strong>")
            assert await phone.answer(enrolled, await h.transport.next(), approve=False) == 200
            denied = await person.get("/login/push")
            assert denied.has("Sign-in denied")
            assert denied.has("Send a new request")
            await person.post("/login/push")
            pending = await h.transport.next()
            status, body = await h.call("GET", f"/v1/push/challenges/{pending.key}")
            assert body["state"] == "pending"
            moved = await person.post("/login/push/cancel", {"next": "recovery"})
            assert moved.path == "/login/recovery"
            status, body = await h.call("GET", f"/v1/push/challenges/{pending.key}")
            assert (status, body["state"]) == (200, "cancelled")
            assert (await person.post("/login/recovery", {"code": codes[1]})).path == "/settings"


async def test_push_delivery_failure_explains_what_to_do(harness: Harness) -> None:
    await harness.create_user("alice")
    await harness.enrol("alice")
    harness.transport.script.append(
        SendResult(outcome=SendOutcome.UNREGISTERED, reason="Unregistered")
    )
    async with visitor(harness) as person:
        await person.sign_in("alice")
        await person.post("/login/push")
        await harness.transport.next()
        async with person.session.get(person.url("/login/push/status?wait=5")) as response:
            answer = await response.json()
        assert answer["state"] == "delivery_failed"
        assert answer["next"] == "/login/push"
        failed = await person.get("/login/push")
        assert failed.has("We could not reach your phone")
        assert failed.has("Open the authenticator app")
        again = await person.post("/login/push")  # the token is now stale: a clear refusal
        assert again.status == 409
        assert again.has("We cannot reach your phone: open the authenticator app")
        assert again.has("Use a recovery code")


async def test_removing_a_device_asks_for_the_password_again(harness: Harness) -> None:
    await harness.create_user("alice")
    _, _, codes = await harness.enrol("alice")
    async with visitor(harness) as person:
        await person.sign_in("alice")
        await person.post("/login/recovery", {"code": codes[0]})
        settings = await person.get("/settings")
        device_path = settings.first(r'href="(/settings/devices/[^"]+)" aria-label="Rename')
        device = await person.get(device_path)
        assert device.has("Confirm your password")
        renamed = await person.post(f"{device_path}/rename", {"name": "Work phone"})
        assert renamed.has("The device was renamed.")
        assert renamed.has('aria-label="Rename or remove Work phone"')
        bad_name = await person.post(f"{device_path}/rename", {"name": ""})
        assert bad_name.status == 400
        wrong = await person.post(f"{device_path}/remove", {"password": "not my password"})
        assert wrong.has("That password is not right.")
        assert (await person.get("/settings")).has("Work phone")
        removed = await person.post(f"{device_path}/remove", {"password": PASSWORD})
        assert removed.path == "/settings?notice=removed"
        assert not removed.has("Work phone")
        assert removed.has("Two-step verification is not set up")


async def test_regenerating_recovery_codes(harness: Harness) -> None:
    await harness.create_user("alice")
    _, _, old = await harness.enrol("alice")
    async with visitor(harness) as person:
        await person.sign_in("alice")
        settings = await person.post("/login/recovery", {"code": old[0]})
        assert settings.has('aria-label="Regenerate recovery codes"')
        form = await person.get("/settings/recovery-codes")
        assert form.has("Confirm your password")
        wrong = await person.post("/settings/recovery-codes", {"password": "nope nope nope"})
        assert wrong.has("That password is not right.")
        fresh = await person.post("/settings/recovery-codes", {"password": PASSWORD})
        assert fresh.path == "/recovery-codes"
        new = re.findall(r"<li><code>([^<]+)</code></li>", fresh.text)
        assert len(new) == 10
        assert not set(new) & set(old)
        assert (await person.post("/recovery-codes")).has("10 codes left")
        await person.sign_out()
        await person.sign_in("alice")
        assert (await person.post("/login/recovery", {"code": old[1]})).has("not right")
        assert (await person.post("/login/recovery", {"code": new[0]})).path == "/settings"


async def test_alternative_method_needs_a_phone_and_points_to_manual_verification(
    harness: Harness,
) -> None:
    await harness.create_user("alice", email="alice@example.com")
    await harness.enrol("alice")
    async with visitor(harness) as person:
        await person.sign_in("alice")
        start = await person.get("/login/alternative")
        assert start.has("Send the codes")
        refused = await person.post("/login/alternative/start")
        assert refused.status == 409
        assert refused.has("needs a phone number")
        assert refused.has('href="/login/case"')


async def test_alternative_method_with_sms_and_email_codes(make_harness: Any) -> None:
    async with outbox() as box, make_harness(**box.settings()) as h:
        await h.create_user("alice", email="alice@example.com", phone="+442079460958")
        await h.call(
            "PATCH", "/v1/admin/users/alice", json={"email_verified": True}, admin=True, expect=200
        )
        await h.enrol("alice")
        async with visitor(h) as person:
            await person.sign_in("alice")
            sent = await person.post("/login/alternative/start")
            assert sent.path == "/login/alternative"
            assert sent.has("+44")
            assert sent.has("a•••@example.com")
            sms, mail = await box.text(), await box.email()
            wrong = await person.post(
                "/login/alternative/verify", {"sms_code": sms.code(), "email_code": "000000"}
            )
            assert wrong.has("That code is not right.")
            done = await person.post(
                "/login/alternative/verify", {"sms_code": sms.code(), "email_code": mail.code()}
            )
            assert done.path == "/settings"
            assert done.has("You signed in without your usual device")


async def test_contact_details_prompt_and_change(make_harness: Any) -> None:
    async with outbox() as box, make_harness(**box.settings(), contact_review_days=1) as h:
        await h.create_user("alice", email="alice@example.com")
        async with visitor(h) as person:
            settings = await signed_in_after_skip(person, "alice")
            assert settings.has("Are your contact details still right?")
            confirmed = await person.post("/settings/contact", {"action": "confirm"})
            assert confirmed.has("Thank you for confirming")
            assert not confirmed.has("Are your contact details still right?")
            bad = await person.post(
                "/settings/contact", {"action": "save", "email": "nope", "phone": ""}
            )
            assert bad.status == 400
            assert bad.has("Not an email address.")
            changed = await person.post(
                "/settings/contact",
                {"action": "save", "email": "new@example.com", "phone": "+44 20 7946 0958"},
            )
            assert changed.has("We sent a link to your new email address")
            assert changed.has("+442079460958")
            link = (await box.email()).link_token()
            assert (await box.email()).to == "alice@example.com"  # the old address is told
            verify = await person.get(f"/verify-email?token={link}")
            assert verify.has("Verify my email address")
            verified = await person.post("/verify-email", {"token": link})
            assert verified.has("your email address is verified")


async def test_sign_up_and_verify_without_javascript(make_harness: Any) -> None:
    async with outbox() as box, make_harness(**box.settings()) as h, visitor(h) as person:
        await person.get("/signup")
        short = await person.post(
            "/signup",
            {"username": "bob", "email": "bob@example.com", "password": "short",
             "password2": "short"},
        )  # fmt: skip
        assert short.status == 400
        assert short.has("A password is 10 to 1024 characters.")
        assert short.has('value="bob@example.com"')
        made = await person.post(
            "/signup",
            {"username": "bob", "email": "bob@example.com", "phone": "",
             "password": PASSWORD, "password2": PASSWORD},
        )  # fmt: skip
        assert made.has("Check your email")
        token = (await box.email()).link_token()
        await person.get(f"/verify-email?token={token}")
        assert (await person.post("/verify-email", {"token": token})).has("verified")
        assert (await person.sign_in("bob@example.com")).path == "/login/setup"


async def test_push_registration_at_first_login_when_the_phone_is_quicker(
    harness: Harness,
) -> None:
    """The phone finishes before the page looks again: the account is no longer at its
    set-up step, but the registration this session started still ends on its codes."""
    await harness.create_user("alice")
    async with visitor(harness) as person:
        await person.sign_in("alice")
        page = await person.post("/register/push")
        assert page.path == "/register/push"
        assert page.headers["Cache-Control"] == "no-store"
        assert page.has("Waiting for your phone to scan the code")
        uri = page.first(r'href="(pushauth://[^"]+)"')
        phone = harness.phone()
        status, enrolled = await phone.scan(uri)
        assert status == 200
        assert await phone.answer(enrolled, await harness.transport.next()) == 200
        async with person.session.get(
            person.url("/register/push/status?wait=5&seen=registered")
        ) as response:
            assert await response.json() == {"state": "confirmed", "next": "/recovery-codes"}
        codes = await person.get("/recovery-codes")
        assert len(re.findall(r"<li><code>", codes.text)) == 10
        done = await person.post("/recovery-codes")
        assert done.path == "/settings"
        assert done.has("Push Auth · added")
