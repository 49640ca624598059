"""One-time passwords over the API: registration, login codes, replay, drift, throttling."""

from __future__ import annotations

import time
from typing import Any

from mfa_core.oath import code_at, parse_otpauth_uri, totp_step
from tests.support.harness import Harness

STORES = ("sqlite", "redis")  # every test here runs on both stores


async def register(h: Harness, username: str, kind: str = "totp") -> Any:
    _, offer = await h.call(
        "POST", f"/v1/users/{username}/otp/registrations", json={"kind": kind}, expect=201
    )
    assert set(offer) == {"id", "uri", "qr_svg", "expires_at"}
    return offer, parse_otpauth_uri(offer["uri"])


def now_code(params: Any, offset: int = 0) -> str:
    return code_at(params, totp_step(time.time(), params.period) + offset)


async def test_totp_register_confirm_and_verify(harness: Harness) -> None:
    await harness.create_user("alice")
    offer, params = await register(harness, "alice")
    assert (params.issuer, params.account, params.digits, params.period) == (
        "Backstage",
        "alice",
        6,
        30,
    )
    assert len(params.secret) == 20
    status, error = await harness.call(
        "POST", f"/v1/otp/registrations/{offer['id']}/confirm", json={"code": "000000"}
    )
    assert (status, error["error"]["code"]) == (401, "invalid_code")
    first = now_code(params, -1)  # a step behind, within the drift window
    _, confirmed = await harness.call(
        "POST", f"/v1/otp/registrations/{offer['id']}/confirm", json={"code": first}, expect=201
    )
    assert confirmed["device"]["kind"] == "oath"
    assert len(confirmed["recovery_codes"]) == 10
    # The code that confirmed cannot log in; the next one can, once.
    verify = "/v1/users/alice/otp/verify"
    assert (await harness.call("POST", verify, json={"code": first}))[0] == 401
    code = now_code(params)
    _, ok = await harness.call("POST", verify, json={"code": code}, expect=200)
    assert ok["result"] == "accepted"
    assert "last_used_at" in ok["device"]
    status, error = await harness.call("POST", verify, json={"code": code})
    assert (status, error["error"]["code"]) == (401, "invalid_code")  # replayed: the same answer
    _, mfa = await harness.call("GET", "/v1/users/alice/mfa", expect=200)
    assert mfa["next_step"]["methods"] == ["otp", "recovery_code"]


async def test_one_otp_device_per_user(harness: Harness) -> None:
    await harness.create_user("bob")
    offer, params = await register(harness, "bob")
    await harness.call("POST", f"/v1/otp/registrations/{offer['id']}/confirm",
                       json={"code": now_code(params)}, expect=201)  # fmt: skip
    status, error = await harness.call("POST", "/v1/users/bob/otp/registrations", json={})
    assert (status, error["error"]["code"]) == (409, "device_limit")


async def test_a_registration_is_confirmed_once(harness: Harness) -> None:
    await harness.create_user("bob")
    offer, params = await register(harness, "bob")
    path = f"/v1/otp/registrations/{offer['id']}/confirm"
    await harness.call("POST", path, json={"code": now_code(params)}, expect=201)
    status, error = await harness.call("POST", path, json={"code": now_code(params)})
    assert (status, error["error"]["code"]) == (404, "not_found")


async def test_hotp_android_and_ios_first_codes(harness: Harness) -> None:
    for name, first_factor in (("android", 1), ("ios", 0)):
        await harness.create_user(name)
        offer, params = await register(harness, name, "hotp")
        assert params.counter == 0
        await harness.call(
            "POST", f"/v1/otp/registrations/{offer['id']}/confirm",
            json={"code": code_at(params, first_factor)}, expect=201,
        )  # fmt: skip
        next_code = code_at(params, first_factor + 1)
        assert (await harness.call("POST", f"/v1/users/{name}/otp/verify",
                                   json={"code": next_code}))[0] == 200  # fmt: skip
        # A phone that ran ahead a few codes resynchronises.
        ahead = code_at(params, first_factor + 5)
        assert (await harness.call("POST", f"/v1/users/{name}/otp/verify",
                                   json={"code": ahead}))[0] == 200  # fmt: skip


async def test_otp_lockout_hides_whether_the_code_was_right(make_harness: Any) -> None:
    async with make_harness(throttle_max_failures=3) as h:
        await h.create_user("carl")
        offer, params = await register(h, "carl")
        await h.call("POST", f"/v1/otp/registrations/{offer['id']}/confirm",
                     json={"code": now_code(params)}, expect=201)  # fmt: skip
        for _ in range(3):
            assert (await h.call("POST", "/v1/users/carl/otp/verify", json={"code": "999999"}))[
                0
            ] == 401
        status, error = await h.call(
            "POST", "/v1/users/carl/otp/verify", json={"code": now_code(params, 1)}
        )
        assert (status, error["error"]["code"]) == (429, "locked")
        _, events = await h.call("GET", "/v1/admin/audit?username=carl", expect=200, admin=True)
        assert [e["kind"] for e in events["events"]].count("lockout") == 1


async def test_verify_without_a_device(harness: Harness) -> None:
    await harness.create_user("dora")
    status, error = await harness.call("POST", "/v1/users/dora/otp/verify", json={"code": "123456"})
    assert (status, error["error"]["code"]) == (409, "no_otp_device")
    status, error = await harness.call(
        "POST", "/v1/users/dora/otp/registrations", json={"kind": "motp"}
    )
    assert (status, error["error"]["code"]) == (400, "invalid_request")


async def test_authsim_reads_the_code_and_logs_in(harness: Harness, tmp_path: Any) -> None:
    import aiohttp

    from authenticator_sim.simulator import Simulator
    from authenticator_sim.wallet import OathAccount

    await harness.create_user("eve")
    offer, _ = await register(harness, "eve")
    async with aiohttp.ClientSession() as session:
        sim = Simulator(tmp_path / "w.json", session, gateway=None)
        (account,) = await sim.scan(offer["uri"], ios=False)
        assert isinstance(account, OathAccount)
        code = sim.code(account).code
        await harness.call("POST", f"/v1/otp/registrations/{offer['id']}/confirm",
                           json={"code": code}, expect=201)  # fmt: skip
