"""WebAuthn over the API with a software authenticator: many keys, clones, ceremonies."""

from __future__ import annotations

from typing import Any

from tests.support.harness import Harness
from tests.support.soft_webauthn import SoftAuthenticator

STORES = ("sqlite", "redis")  # every test here runs on both stores


def origin(h: Harness) -> str:
    return h.services.ctx.settings.base_url


async def register_key(h: Harness, username: str, key: SoftAuthenticator, name: str) -> Any:
    _, started = await h.call(
        "POST", f"/v1/users/{username}/webauthn/registrations", json={"name": name}, expect=201
    )
    credential = key.create(started["options"], origin(h))
    return started, await h.call(
        "POST", f"/v1/webauthn/registrations/{started['id']}", json={"credential": credential}
    )


async def authenticate(h: Harness, username: str, key: SoftAuthenticator, **kw: Any) -> Any:
    _, started = await h.call("POST", f"/v1/users/{username}/webauthn/authentications", expect=201)
    assertion = key.get(started["options"], origin(h), **kw)
    return await h.call(
        "POST", f"/v1/webauthn/authentications/{started['id']}", json={"credential": assertion}
    )


async def test_two_security_keys_each_with_their_codes(harness: Harness) -> None:
    await harness.create_user("alice")
    first, second = SoftAuthenticator(), SoftAuthenticator(backup_eligible=True)
    started, (status, one) = await register_key(harness, "alice", first, "Yubikey")
    assert status == 201
    assert started["options"]["rp"] == {"id": "127.0.0.1", "name": "Backstage"}
    assert started["options"]["excludeCredentials"] == []
    assert (one["device"]["name"], len(one["recovery_codes"])) == ("Yubikey", 10)
    started, (status, _) = await register_key(harness, "alice", second, "Passkey")
    assert status == 201
    assert len(started["options"]["excludeCredentials"]) == 1  # the first key is excluded
    _, mfa = await harness.call("GET", "/v1/users/alice/mfa", expect=200)
    assert [d["name"] for d in mfa["devices"]] == ["Yubikey", "Passkey"]
    assert mfa["recovery_codes_remaining"] == 20
    for key in (first, second):
        status, ok = await authenticate(harness, "alice", key)
        assert (status, ok["result"]) == (200, "accepted")
    _, mfa = await harness.call("GET", "/v1/users/alice/mfa", expect=200)
    assert all("last_used_at" in d for d in mfa["devices"])


async def test_the_same_key_twice_is_refused(harness: Harness) -> None:
    await harness.create_user("bob")
    key = SoftAuthenticator()
    await register_key(harness, "bob", key, "Key")
    _, (status, error) = await register_key(harness, "bob", key, "Again")
    assert (status, error["error"]["code"]) == (409, "duplicate_device")


async def test_a_cloned_key_is_refused_and_recorded(harness: Harness) -> None:
    await harness.create_user("carol")
    key = SoftAuthenticator()
    await register_key(harness, "carol", key, "Key")
    assert (await authenticate(harness, "carol", key, sign_count=5))[0] == 200
    status, error = await authenticate(harness, "carol", key, sign_count=3)
    assert (status, error["error"]["code"]) == (401, "possible_clone")
    _, events = await harness.call("GET", "/v1/admin/audit?username=carol", expect=200, admin=True)
    assert "possible_clone" in [e["kind"] for e in events["events"]]


async def test_ceremonies_are_answered_once_and_checked(harness: Harness) -> None:
    await harness.create_user("dan")
    key, stranger = SoftAuthenticator(), SoftAuthenticator()
    await register_key(harness, "dan", key, "Key")
    _, started = await harness.call("POST", "/v1/users/dan/webauthn/authentications", expect=201)
    assertion = key.get(started["options"], origin(harness))
    path = f"/v1/webauthn/authentications/{started['id']}"
    assert (await harness.call("POST", path, json={"credential": assertion}))[0] == 200
    status, error = await harness.call("POST", path, json={"credential": assertion})
    assert (status, error["error"]["code"]) == (404, "not_found")
    for bad_key, where in ((stranger, origin(harness)), (key, "https://evil.example")):
        _, started = await harness.call(
            "POST", "/v1/users/dan/webauthn/authentications", expect=201
        )
        status, error = await harness.call(
            "POST", f"/v1/webauthn/authentications/{started['id']}",
            json={"credential": bad_key.get(started["options"], where, rp_id="127.0.0.1")},
        )  # fmt: skip
        assert (status, error["error"]["code"]) == (401, "webauthn_rejected")


async def test_refusals(harness: Harness) -> None:
    await harness.create_user("eve")
    status, error = await harness.call("POST", "/v1/users/eve/webauthn/authentications")
    assert (status, error["error"]["code"]) == (409, "no_webauthn_device")
    _, started = await harness.call("POST", "/v1/users/eve/webauthn/registrations", expect=201)
    path = f"/v1/webauthn/registrations/{started['id']}"
    status, error = await harness.call("POST", path, json={"credential": "nope"})
    assert (status, error["error"]["code"]) == (400, "invalid_request")
    status, error = await harness.call("POST", path, json={"credential": {"id": "x"}})
    assert (status, error["error"]["code"]) == (400, "webauthn_rejected")
