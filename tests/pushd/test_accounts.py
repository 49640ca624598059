"""Accounts and account recovery, with real SMTP and a real SMS gateway on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.support.harness import Harness
from tests.support.outbox import Outbox, outbox

STORES = ("sqlite", "redis")  # every test here runs on both stores

PASSWORD = "a long enough passphrase"


@asynccontextmanager
async def running(make_harness: Any, **changes: Any) -> AsyncIterator[tuple[Harness, Outbox]]:
    async with outbox() as box, make_harness(**box.settings(), **changes) as h:
        yield h, box


async def sign_up(h: Harness, box: Outbox, name: str = "alice", **extra: Any) -> Any:
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD, **extra}
    _, created = await h.call("POST", "/v1/accounts", json=body, expect=201)
    mail = await box.email()
    assert mail.to == f"{name}@example.com"
    assert "Backstage" in mail.subject + mail.body
    return created, mail


async def test_sign_up_and_verify_the_email(make_harness: Any) -> None:
    async with running(make_harness) as (h, box):
        created, mail = await sign_up(h, box, phone="+44 20 7946 0958")
        assert created == {
            "username": "alice",
            "email": "alice@example.com",
            "email_verified": False,
            "phone": "+442079460958",
            "email_verification": "sent",
        }
        link = mail.link_token()
        assert f"/verify-email?token={link}" in mail.body
        _, verified = await h.call(
            "POST", "/v1/accounts/verify-email", json={"token": link}, expect=200
        )
        assert verified["email_verified"] is True
        status, error = await h.call("POST", "/v1/accounts/verify-email", json={"token": link})
        assert (status, error["error"]["code"]) == (400, "invalid_token")  # a link works once
        # Forgotten username: the email address signs in.
        assert (
            await h.call(
                "POST", "/v1/login", json={"login": "alice@example.com", "password": PASSWORD}
            )
        )[0] == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"username": "bob", "email": "bob@example.com", "password": "short"}, "invalid_request"),
        ({"username": "bob", "email": "nope", "password": PASSWORD}, "invalid_request"),
        ({"username": "bob", "password": PASSWORD}, "invalid_request"),
        (
            {"username": "bob", "email": "b@example.com", "password": PASSWORD, "phone": "0207"},
            "invalid_request",
        ),
    ],
)
async def test_sign_up_refusals(make_harness: Any, body: dict[str, object], code: str) -> None:
    async with running(make_harness) as (h, box):
        status, error = await h.call("POST", "/v1/accounts", json=body)
        assert (status, error["error"]["code"]) == (400, code)
        assert box.emails.empty()


async def test_password_reset(make_harness: Any) -> None:
    async with running(make_harness) as (h, box):
        _, mail = await sign_up(h, box)
        await h.call(
            "POST", "/v1/accounts/verify-email", json={"token": mail.link_token()}, expect=200
        )
        await h.create_user("ghost")  # exists, but has no verified email
        token = await h.reauth("alice", PASSWORD)
        for who in ("alice", "nobody", "ghost", "ALICE@example.com"):
            _, answer = await h.call("POST", "/v1/password-resets", json={"login": who}, expect=202)
            assert answer["status"] == "accepted"  # the same answer for everyone
        first, second = await box.email(), await box.email()  # alice's two, nobody else's
        assert box.emails.empty()
        assert first.to == second.to == "alice@example.com"
        status, error = await h.call(
            "POST",
            "/v1/password-resets/complete",
            json={"token": first.link_token(), "password": "short"},
        )
        assert (status, error["error"]["code"]) == (400, "invalid_request")
        _, done = await h.call(
            "POST",
            "/v1/password-resets/complete",
            json={"token": first.link_token(), "password": "a brand new one"},
            expect=200,
        )
        assert done == {"username": "alice"}
        status, error = await h.call(
            "POST",
            "/v1/password-resets/complete",
            json={"token": first.link_token(), "password": "x" * 12},
        )
        assert (status, error["error"]["code"]) == (400, "invalid_token")  # reused
        assert (
            await h.call(
                "POST", "/v1/login", json={"login": "alice", "password": "a brand new one"}
            )
        )[0] == 200
        assert (await h.call("POST", "/v1/login", json={"login": "alice", "password": PASSWORD}))[
            0
        ] == 401
        # Re-authentications made before the reset no longer count.
        await h.enrol("alice")
        _, devices = await h.call("GET", "/v1/users/alice/devices", expect=200)
        status, _ = await h.call(
            "DELETE",
            f"/v1/users/alice/devices/{devices['devices'][0]['id']}",
            json={"reauth_token": token},
        )
        assert status == 403


async def test_an_expired_reset_link_is_refused(make_harness: Any) -> None:
    from tests.pushd.store.conftest import FakeClock

    clock = FakeClock(time.time())
    async with running(make_harness, clock=clock) as (h, box):
        _, mail = await sign_up(h, box)
        await h.call(
            "POST", "/v1/accounts/verify-email", json={"token": mail.link_token()}, expect=200
        )
        await h.call("POST", "/v1/password-resets", json={"login": "alice"}, expect=202)
        link = (await box.email()).link_token()
        clock.now += 3600
        status, error = await h.call(
            "POST",
            "/v1/password-resets/complete",
            json={"token": link, "password": "a brand new one"},
        )
        assert (status, error["error"]["code"]) == (400, "invalid_token")


async def verified_user(h: Harness, box: Outbox, name: str = "carol") -> None:
    _, mail = await sign_up(h, box, name, phone="+1 650 253 0000")
    await h.call("POST", "/v1/accounts/verify-email", json={"token": mail.link_token()}, expect=200)


async def test_the_alternative_method_needs_both_codes(make_harness: Any) -> None:
    async with running(make_harness) as (h, box):
        await verified_user(h, box)
        _, started = await h.call("POST", "/v1/users/carol/alternative", expect=201)
        assert (started["sms_to"], started["email_to"]) == ("+16•••••••00", "c•••@example.com")
        sms, mail = await box.text(), await box.email()
        assert sms.to == "+16502530000"
        assert len(sms.body) < 160
        sms_code, email_code = sms.code(), mail.code()
        verify = f"/v1/alternative/{started['id']}/verify"
        for pair in ((sms_code, "000000"), ("000000", email_code), (email_code, sms_code)):
            status, error = await h.call(
                "POST", verify, json={"sms_code": pair[0], "email_code": pair[1]}
            )
            assert (status, error["error"]["code"]) == (401, "invalid_code")
        _, ok = await h.call(
            "POST", verify, json={"sms_code": sms_code, "email_code": email_code}, expect=200
        )
        assert ok == {"result": "accepted", "username": "carol", "next": "review_mfa"}
        _, mfa = await h.call("GET", "/v1/users/carol/mfa", expect=200)
        assert mfa["mfa_review_due"] is True
        status, error = await h.call(
            "POST", verify, json={"sms_code": sms_code, "email_code": email_code}
        )
        assert (status, error["error"]["code"]) == (409, "already_used")


async def test_alternative_attempts_resends_and_expiry(make_harness: Any) -> None:
    from tests.pushd.store.conftest import FakeClock

    clock = FakeClock(time.time())
    async with running(make_harness, clock=clock, throttle_max_failures=50) as (h, box):
        await verified_user(h, box)
        _, started = await h.call("POST", "/v1/users/carol/alternative", expect=201)
        await box.text(), await box.email()
        for _ in range(2):
            _, resent = await h.call("POST", f"/v1/alternative/{started['id']}/resend", expect=200)
            await box.text(), await box.email()
        assert resent["sends_left"] == 0
        status, error = await h.call("POST", f"/v1/alternative/{started['id']}/resend")
        assert (status, error["error"]["code"]) == (429, "resend_limit")
        verify = f"/v1/alternative/{started['id']}/verify"
        for _ in range(5):
            assert (await h.call("POST", verify, json={"sms_code": "1", "email_code": "2"}))[
                0
            ] == 401
        status, error = await h.call("POST", verify, json={"sms_code": "1", "email_code": "2"})
        assert (status, error["error"]["code"]) == (429, "attempts_exhausted")
        _, other = await h.call("POST", "/v1/users/carol/alternative", expect=201)
        await box.text(), await box.email()
        clock.now += 601
        status, error = await h.call(
            "POST",
            f"/v1/alternative/{other['id']}/verify",
            json={"sms_code": "1", "email_code": "2"},
        )
        assert (status, error["error"]["code"]) == (410, "expired")


async def test_the_alternative_method_says_what_is_missing(make_harness: Any) -> None:
    async with running(make_harness) as (h, box):
        await h.create_user("dave", email="dave@example.com")  # no phone, email not verified
        status, error = await h.call("POST", "/v1/users/dave/alternative")
        assert status == 409
        assert error["error"]["code"] == "alternative_unavailable"
        assert error["error"]["missing"] == ["sms", "email"]
        assert error["error"]["manual_verification"] is True
        assert box.texts.empty()


async def test_sms_failures_are_retried_then_reported(make_harness: Any) -> None:
    async with running(make_harness) as (h, box):
        await verified_user(h, box)
        box.sms_status[:] = [503]
        await h.call("POST", "/v1/users/carol/alternative", expect=201)  # retried, then sent
        await box.text(), await box.email()
        box.sms_status[:] = [400]
        status, error = await h.call("POST", "/v1/users/carol/alternative")
        assert (status, error["error"]["code"]) == (502, "delivery_failed")


async def test_contact_details_are_confirmed_or_updated(make_harness: Any) -> None:
    async with running(make_harness, contact_review_days=30) as (h, box):
        await h.create_user("erin", email="erin@example.com")
        _, contact = await h.call("GET", "/v1/users/erin/contact", expect=200)
        assert contact["review_due"] is True
        _, confirmed = await h.call("POST", "/v1/users/erin/contact", json={}, expect=200)
        assert confirmed["review_due"] is False
        _, mfa = await h.call("GET", "/v1/users/erin/mfa", expect=200)
        assert mfa["contact_review_due"] is False
        _, changed = await h.call(
            "POST",
            "/v1/users/erin/contact",
            json={"email": "erin@example.org", "phone": "+44 20 7946 0958"},
            expect=200,
        )
        assert (changed["email"], changed["email_verified"]) == ("erin@example.org", False)
        verification, notice = await box.email(), await box.email()
        assert verification.to == "erin@example.org"
        assert notice.to == "erin@example.com"  # the old address hears of the change
        assert (await h.call("POST", "/v1/users/erin/contact", json={"phone": "12"}))[0] == 400
