"""Sign-in, the MFA profile, devices, recovery codes and re-authentication, over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.harness import Harness

STORES = ("sqlite", "redis")  # every test here runs on both stores

PASSWORD = "correct horse battery"


async def login(h: Harness, who: str, password: str = PASSWORD, **extra: Any) -> tuple[int, Any]:
    return await h.call("POST", "/v1/login", json={"login": who, "password": password, **extra})


async def test_sign_in_by_username_or_email(harness: Harness) -> None:
    await harness.create_user("alice", email="Alice@Example.COM")
    for who in ("alice", "ALICE", "Alice@example.com", "alice@example.com"):
        status, body = await login(harness, who)
        assert status == 200, who
        assert body == {
            "username": "alice",
            "next_step": {
                "kind": "setup",
                "methods": ["skip", "opt_out", "webauthn", "push", "otp"],
            },
        }


async def test_wrong_password_and_unknown_user_look_the_same(harness: Harness) -> None:
    await harness.create_user("alice")
    wrong = await login(harness, "alice", "not the password")
    unknown = await login(harness, "nobody", PASSWORD)
    assert (
        wrong
        == unknown
        == (
            401,
            {
                "error": {
                    "code": "invalid_credentials",
                    "message": "the username or password is wrong",
                }
            },
        )
    )


async def test_password_lockout_never_reveals_the_password(make_harness: Any) -> None:
    async with make_harness(throttle_max_failures=3, throttle_lockout=60.0) as h:
        await h.create_user("alice")
        for _ in range(3):
            assert (await login(h, "alice", "wrong password!"))[0] == 401
        status, body = await login(h, "alice")  # the right password, while locked out
        assert (status, body["error"]["code"]) == (429, "locked")
        assert 55 <= body["error"]["retry_after"] <= 60
        _, locks = await h.call("GET", "/v1/admin/lockouts", expect=200, admin=True)
        assert [lock["subject"].split(":")[:2] for lock in locks["lockouts"]] == [
            ["password", "user"]
        ]
        _, lifted = await h.call("POST", "/v1/admin/users/alice/unlock", expect=200, admin=True)
        assert lifted == {"lifted": 1}
        assert (await login(h, "alice"))[0] == 200


async def test_lockouts_double_and_count_per_client_address(make_harness: Any) -> None:
    async with make_harness(throttle_max_failures=2, throttle_lockout=60.0) as h:
        for name in ("u1", "u2"):
            await h.create_user(name)
        # One address guessing at two accounts is locked out as an address.
        await login(h, "u1", "wrong password!", client_ip="198.51.100.7")
        await login(h, "u2", "wrong password!", client_ip="198.51.100.7")
        status, body = await login(h, "u1", client_ip="198.51.100.7")
        assert (status, body["error"]["code"]) == (429, "locked")
        assert (await login(h, "u1", client_ip="203.0.113.9"))[0] == 200  # another address is fine
        status, body = await login(h, "u1", "x", client_ip="not-an-ip")
        assert (status, body["error"]["code"]) == (400, "invalid_request")


async def test_skip_opt_out_and_opt_in(harness: Harness) -> None:
    await harness.create_user("bob")
    _, status = await harness.call("POST", "/v1/users/bob/mfa/skip", expect=200)
    assert (status["state"], status["next_step"]["kind"]) == ("skipped", "setup")
    assert "state_changed_at" in status
    _, status = await harness.call("POST", "/v1/users/bob/mfa/opt-out", expect=200)
    assert status["next_step"] == {"kind": "none", "methods": []}
    assert (await login(harness, "bob"))[1]["next_step"]["kind"] == "none"
    _, status = await harness.call("POST", "/v1/users/bob/mfa/opt-in", expect=200)
    assert (status["state"], status["next_step"]["kind"]) == ("unset", "setup")
    _, error = await harness.call("POST", "/v1/users/bob/mfa/opt-in", expect=409)
    assert error["error"]["code"] == "not_opted_out"


async def test_opting_out_is_undone_by_registering(harness: Harness) -> None:
    await harness.create_user("bob")
    await harness.call("POST", "/v1/users/bob/mfa/opt-out", expect=200)
    await harness.enrol("bob")
    _, status = await harness.call("GET", "/v1/users/bob/mfa", expect=200)
    assert status["next_step"] == {"kind": "authenticate", "methods": ["push", "recovery_code"]}
    _, error = await harness.call("POST", "/v1/users/bob/mfa/skip", expect=409)
    assert error["error"]["code"] == "already_enrolled"


async def test_devices_rename_and_remove_with_the_password_again(harness: Harness) -> None:
    await harness.create_user("carol")
    await harness.enrol("carol")
    _, listing = await harness.call("GET", "/v1/users/carol/devices", expect=200)
    (device,) = listing["devices"]
    assert set(device) == {"id", "kind", "name", "created_at"}
    assert device["kind"] == "push"
    _, renamed = await harness.call(
        "PATCH", f"/v1/users/carol/devices/{device['id']}", json={"name": "  Work phone "},
        expect=200,
    )  # fmt: skip
    assert renamed["name"] == "Work phone"
    status, error = await harness.call("PATCH", f"/v1/users/carol/devices/{device['id']}",
                                       json={"name": "x" * 65})  # fmt: skip
    assert (status, error["error"]["code"]) == (400, "invalid_parameter")
    path = f"/v1/users/carol/devices/{device['id']}"
    status, error = await harness.call("DELETE", path)
    assert (status, error["error"]["code"]) == (403, "reauthentication_required")
    status, _ = await harness.call("DELETE", path, json={"reauth_token": "made-up"})
    assert status == 403
    status, error = await harness.call(
        "POST", "/v1/users/carol/reauthenticate", json={"password": "wrong password!"}
    )
    assert (status, error["error"]["code"]) == (401, "invalid_credentials")
    token = await harness.reauth("carol")
    _, after = await harness.call("DELETE", path, json={"reauth_token": token}, expect=200)
    # Removing the only device means set-up at the next login; its codes are gone too.
    assert (after["state"], after["next_step"]["kind"]) == ("unset", "setup")
    assert after["recovery_codes_remaining"] == 0
    status, error = await harness.call("DELETE", path, json={"reauth_token": token})
    assert (status, error["error"]["code"]) == (404, "unknown_device")


async def test_another_users_reauth_token_does_not_work(harness: Harness) -> None:
    await harness.create_user("carol")
    await harness.create_user("dan")
    await harness.enrol("carol")
    _, listing = await harness.call("GET", "/v1/users/carol/devices", expect=200)
    token = await harness.reauth("dan")
    status, _ = await harness.call(
        "DELETE", f"/v1/users/carol/devices/{listing['devices'][0]['id']}",
        json={"reauth_token": token},
    )  # fmt: skip
    assert status == 403


async def test_recovery_codes_work_once_and_can_be_regenerated(harness: Harness) -> None:
    await harness.create_user("erin")
    _, _, codes = await harness.enrol("erin")
    verify = "/v1/users/erin/recovery-codes/verify"
    assert await harness.call("POST", verify, json={"code": codes[0]}) == (
        200, {"result": "accepted", "remaining": 9},
    )  # fmt: skip
    status, error = await harness.call("POST", verify, json={"code": codes[0]})
    assert (status, error["error"]["code"]) == (401, "invalid_code")  # used: no hint it was right
    _, left = await harness.call("GET", "/v1/users/erin/recovery-codes", expect=200)
    assert left == {"remaining": 9}
    status, error = await harness.call("POST", "/v1/users/erin/recovery-codes", json={})
    assert (status, error["error"]["code"]) == (403, "reauthentication_required")
    token = await harness.reauth("erin")
    _, fresh = await harness.call(
        "POST", "/v1/users/erin/recovery-codes", json={"reauth_token": token}, expect=201
    )
    assert len(set(fresh["recovery_codes"])) == 10
    assert (await harness.call("POST", verify, json={"code": codes[1]}))[0] == 401  # replaced
    assert (await harness.call("POST", verify, json={"code": fresh["recovery_codes"][0]}))[0] == 200


async def test_a_hundred_concurrent_redemptions_of_one_code_succeed_once(harness: Harness) -> None:
    await harness.create_user("fay")
    _, _, codes = await harness.enrol("fay")
    results = await asyncio.gather(
        *(
            harness.call("POST", "/v1/users/fay/recovery-codes/verify", json={"code": codes[3]})
            for _ in range(100)
        )
    )
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) == 1
    assert set(statuses) <= {200, 401, 429}  # the failures may lock the user out: fine
    _, left = await harness.call("GET", "/v1/users/fay/recovery-codes", expect=200)
    assert left == {"remaining": 9}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/login", {"login": "alice"}),
        ("POST", "/v1/login", {"login": "", "password": "x"}),
        ("POST", "/v1/login", {"login": "a", "password": "x", "extra": 1}),
        ("POST", "/v1/users/alice/recovery-codes/verify", {"codes": "x"}),
        ("PATCH", "/v1/users/alice/devices/x", {"title": "x"}),
    ],
)
async def test_bad_bodies(harness: Harness, method: str, path: str, body: object) -> None:
    await harness.create_user("alice")
    status, error = await harness.call(method, path, json=body)
    assert (status, error["error"]["code"]) == (400, "invalid_request")


async def test_a_wrong_code_type_is_just_wrong(harness: Harness) -> None:
    await harness.create_user("alice")
    await harness.enrol("alice")
    status, error = await harness.call(
        "POST", "/v1/users/alice/recovery-codes/verify", json={"code": 12345}
    )
    assert (status, error["error"]["code"]) == (401, "invalid_code")
