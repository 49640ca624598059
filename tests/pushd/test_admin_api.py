"""The operators' API: users, MFA reset, unlock, lockouts, and the audit log."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.harness import Harness

STORES = ("sqlite", "redis")  # every test here runs on both stores


async def test_admin_keys_only(harness: Harness) -> None:
    status, _ = await harness.call("GET", "/v1/admin/lockouts")  # an API key
    assert status == 401
    assert (await harness.call("GET", "/v1/admin/lockouts", admin=True))[0] == 200


async def test_create_show_and_update_users(harness: Harness) -> None:
    user = await harness.create_user("alice", email="alice@Example.com", phone="+44 20 7946 0958")
    assert user["email"] == "alice@example.com"
    assert user["phone"] == "+442079460958"
    assert user["has_password"] is True
    assert "password" not in json.dumps(user).replace("has_password", "")
    _, shown = await harness.call("GET", "/v1/admin/users/alice", expect=200, admin=True)
    assert shown == user
    _, updated = await harness.call(
        "PATCH", "/v1/admin/users/alice",
        json={"email": "a@example.org", "phone": None, "email_verified": True}, expect=200,
        admin=True,
    )  # fmt: skip
    assert (updated["email"], updated["phone"], updated["email_verified"]) == (
        "a@example.org", None, True,
    )  # fmt: skip
    await harness.call(
        "PATCH", "/v1/admin/users/alice", json={"password": "a new passphrase"}, expect=200,
        admin=True,
    )  # fmt: skip
    assert (
        await harness.call(
            "POST", "/v1/login", json={"login": "alice", "password": "a new passphrase"}
        )
    )[0] == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"username": "alice"}, 409, "username_taken"),
        ({"username": "ALICE"}, 409, "username_taken"),
        ({"username": "other", "email": "alice@example.com"}, 409, "email_taken"),
        ({"username": "bad name"}, 400, "invalid_request"),
        ({"username": "p", "password": "short"}, 400, "invalid_request"),
        ({"username": "p", "password": "p" * 12}, 400, "invalid_request"),
        ({"username": "p", "email": "not-an-email"}, 400, "invalid_request"),
        ({"username": "p", "phone": "07946 0958"}, 400, "invalid_request"),
        ({"email": "x@example.com"}, 400, "invalid_request"),
    ],
)
async def test_bad_users_are_refused(harness: Harness, body: dict[str, object], status: int,
                                     code: str) -> None:  # fmt: skip
    await harness.create_user("alice", email="alice@example.com")
    got, error = await harness.call("POST", "/v1/admin/users", json=body, admin=True)
    assert (got, error["error"]["code"]) == (status, code)
    _, again = await harness.call("GET", "/v1/admin/users/alice", expect=200, admin=True)
    assert again["email"] == "alice@example.com"  # nothing changed


async def test_reset_mfa_is_the_manual_recovery_outcome(harness: Harness) -> None:
    await harness.create_user("bob")
    await harness.enrol("bob")
    _, reset = await harness.call("POST", "/v1/admin/users/bob/mfa/reset", expect=200, admin=True)
    assert (reset["mfa_state"], reset["devices"], reset["recovery_codes_remaining"]) == (
        "unset",
        [],
        0,
    )
    _, mfa = await harness.call("GET", "/v1/users/bob/mfa", expect=200)
    assert mfa["next_step"]["kind"] == "setup"
    await harness.enrol("bob")  # push can be registered again


async def test_unlock_lifts_a_push_suspension(make_harness: object) -> None:
    async with make_harness(push_suspend_after=1, push_denial_backoff=0.0) as h:  # type: ignore[operator]
        await h.create_user("carol")
        phone, enrolled, _ = await h.enrol("carol")
        _, created = await h.call("POST", "/v1/users/carol/push/challenges", expect=201)
        await phone.answer(enrolled, await h.transport.next(), approve=False)
        await h.call("GET", f"/v1/push/challenges/{created['id']}?wait=5", expect=200)
        _, mfa = await h.call("GET", "/v1/users/carol/mfa", expect=200)
        assert mfa["push_suspended"] is True
        assert (await h.call("POST", "/v1/users/carol/push/challenges"))[0] == 403
        _, lifted = await h.call("POST", "/v1/admin/users/carol/unlock", expect=200, admin=True)
        assert lifted == {"lifted": 1}
        await h.call("POST", "/v1/users/carol/push/challenges", expect=201)


async def test_the_audit_log_records_security_events_and_no_secrets(harness: Harness) -> None:
    started = time.time()
    await harness.create_user("dora", password="dora's long passphrase")
    await harness.call("POST", "/v1/login", json={"login": "dora", "password": "wrong one!!"})
    await harness.call("POST", "/v1/login",
                       json={"login": "dora", "password": "dora's long passphrase"})  # fmt: skip
    phone, enrolled, codes = await harness.enrol("dora")
    _, created = await harness.call("POST", "/v1/users/dora/push/challenges", expect=201)
    message = await harness.transport.next()
    await phone.answer(enrolled, message)
    await harness.call("GET", f"/v1/push/challenges/{created['id']}?wait=5", expect=200)
    await harness.call("POST", "/v1/users/dora/recovery-codes/verify", json={"code": codes[0]})
    _, log = await harness.call("GET", "/v1/admin/audit?username=dora", expect=200, admin=True)
    events = log["events"]
    assert [(e["kind"], e.get("method"), e.get("outcome")) for e in events] == [
        ("admin", None, None),
        ("login", "password", "failure"),
        ("login", "password", "success"),
        ("registration", "push", "confirmed"),
        ("login", "push", "success"),
        ("login", "recovery_code", "success"),
    ]
    text = json.dumps(events)
    for secret in (
        *codes,
        "dora's long passphrase",
        "wrong one!!",
        message.jwt,
        enrolled.mechanism_uid,
    ):
        assert secret not in text
    # Time ranges and everyone's events
    _, none = await harness.call(
        "GET", f"/v1/admin/audit?username=dora&until={started - 1}", expect=200, admin=True
    )
    assert none == {"events": []}
    _, everyone = await harness.call(
        "GET", "/v1/admin/audit?since=2000-01-01T00:00:00Z&limit=2", expect=200, admin=True
    )
    assert len(everyone["events"]) == 2
    for query in ("since=yesterday", "limit=0", "limit=x"):
        assert (await harness.call("GET", f"/v1/admin/audit?{query}", admin=True))[0] == 400
    assert (await harness.call("GET", "/v1/admin/audit?username=ghost", admin=True))[0] == 404
