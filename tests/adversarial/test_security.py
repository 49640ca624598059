"""Attacks on pushd, each refused with nothing changed.

What tests/pushd and tests/web already cover is not repeated here (alg ``none`` and HS512 on
registration and authentication replies, a second answer to a decided challenge, forms without
a token or with a made-up one, ``/login`` from another site). This adds:

* every JWT trick against the HS256 verifier, on each of the phone's four requests;
* replayed device replies: the same approval twice, and onto a later challenge or registration;
* API-key / admin-key separation on every route the router has, found by walking it;
* CSRF on every page POST with *another session's real token* and from another site with the
  victim's own token, checking afterwards that nothing about the victim changed.

The timing-safety checks are in test_timing.py.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

import pytest

from authenticator_sim.responder import HttpRequest, authentication_request, read_notification
from mfa_core.push import challenge_response, parse_registration_uri, sign_jwt
from mfa_core.push_poll import poll_claims
from mfa_core.push_replies import authentication_claims, device_info_claims, registration_claims
from pushd.handlers.device import BAD_REQUEST
from pushd.middleware import PUBLIC_API_PATHS
from pushd.services.api_keys import Scope, create_key, revoke_key
from pushd.web.security import is_page
from tests.adversarial.jwt_forgery import FORGERIES
from tests.support.harness import PASSWORD, Harness
from tests.support.phone import Enrolled, SimPhone
from tests.support.rng import seeded_rng
from tests.web.visitor import Visitor, visitor

ATTACKER_SECRET = b"attacker-owned device secret, 32+ bytes long"


async def post_device(h: Harness, url: str, body: Mapping[str, object]) -> tuple[int, Any]:
    async with h.session.post(url, data=json.dumps(body).encode()) as response:
        return response.status, json.loads(await response.read())


async def state_of(h: Harness, kind: str, object_id: str) -> dict[str, Any]:
    _, body = await h.call("GET", f"/v1/push/{kind}/{object_id}", expect=200)
    return body


# --- JWT algorithm confusion, on every kind of device request ------------------------------


async def test_forged_registration_replies_are_refused(harness: Harness) -> None:
    _, started = await harness.call("POST", "/v1/users/bob/push/registrations", expect=201)
    reg = parse_registration_uri(started["uri"])
    claims = registration_claims(
        response=challenge_response(reg.secret, reg.challenge),
        mechanism_uid="7d9d0c5e-8f9a-4c31-9b63-2f5f0b0c6a11",
        device=harness.phone().phone.device_info(),
    )
    for name, forge in FORGERIES.items():
        body = {"messageId": reg.message_id, "jwt": forge(claims, reg.secret, ATTACKER_SECRET)}
        assert await post_device(harness, reg.registration_url, body) == (400, BAD_REQUEST), name
    assert (await state_of(harness, "registrations", started["id"]))["state"] == "pending"
    assert harness.transport.sent.empty()  # no test notification: nothing was registered
    status, _ = await harness.phone().scan(started["uri"])  # and nothing was used up
    assert status == 200


async def enrolled_with_challenge(h: Harness, user: str) -> tuple[SimPhone, Enrolled, Any, str]:
    phone, enrolled, _ = await h.enrol(user)
    created = await h.push_login(user)
    return phone, enrolled, await h.transport.next(), created["id"]


async def test_forged_authentication_replies_decide_nothing(harness: Harness) -> None:
    _, mallory, _ = await harness.enrol("mallory")  # the attacker's own device and secret
    phone, enrolled, message, challenge_id = await enrolled_with_challenge(harness, "dave")
    notification = read_notification(message.jwt, enrolled.secret)
    good = challenge_response(enrolled.secret, notification.challenge)
    url = enrolled.registration.authentication_url
    for approve in (True, False):  # neither an approval nor a denial may land
        claims = authentication_claims(response=good, deny=not approve)
        for name, forge in FORGERIES.items():
            jwt = forge(claims, enrolled.secret, mallory.secret)
            body = {"messageId": message.message_id, "jwt": jwt}
            assert await post_device(harness, url, body) == (400, BAD_REQUEST), name
    assert (await state_of(harness, "challenges", challenge_id))["state"] == "pending"
    _, mfa = await harness.call("GET", "/v1/users/dave/mfa", expect=200)
    assert mfa["push_suspended"] is False
    assert await phone.answer(enrolled, message) == 200
    assert (await state_of(harness, "challenges", challenge_id))["state"] == "approved"


async def test_forged_token_refreshes_change_no_push_token(harness: Harness) -> None:
    phone, enrolled, _ = await harness.enrol("gina")
    original = phone.phone.push_token
    claims: dict[str, object] = dict(device_info_claims(phone.phone.device_info()))
    claims["deviceId"] = "fcm:attacker"
    url = enrolled.registration.registration_url.replace("_action=register", "_action=refresh")
    for name, forge in FORGERIES.items():
        body = {"mechanismUid": enrolled.mechanism_uid, "username": "gina"}
        body["jwt"] = forge(claims, enrolled.secret, ATTACKER_SECRET)
        assert await post_device(harness, url, body) == (400, BAD_REQUEST), name
    await harness.push_login("gina")
    assert (await harness.transport.next()).push_token == original


async def test_forged_polls_reveal_no_notification(harness: Harness) -> None:
    _, enrolled, _, _ = await enrolled_with_challenge(harness, "erin")
    url = enrolled.registration.registration_url.replace("_action=register", "_action=pending")
    rng = seeded_rng(7)  # a fresh nonce each time: only the token is wrong
    for name, forge in FORGERIES.items():
        claims: dict[str, object] = dict(
            poll_claims(mechanism_uid=enrolled.mechanism_uid, now=time.time(), rng=rng)
        )
        body = {"mechanismUid": enrolled.mechanism_uid}
        body["jwt"] = forge(claims, enrolled.secret, ATTACKER_SECRET)
        assert await post_device(harness, url, body) == (400, BAD_REQUEST), name


# --- replayed device replies ---------------------------------------------------------------


async def test_a_replayed_approval_is_refused_and_changes_nothing(harness: Harness) -> None:
    phone, enrolled, first, first_id = await enrolled_with_challenge(harness, "dave")
    request = phone_reply(phone, enrolled, first, approve=True)
    assert (await phone.send(request))[0] == 200
    decided = await state_of(harness, "challenges", first_id)
    assert decided["state"] == "approved"
    assert await phone.send(request) == (400, BAD_REQUEST)  # byte for byte the same
    assert await state_of(harness, "challenges", first_id) == decided

    later = await harness.push_login("dave")
    second = await harness.transport.next()
    assert await phone.send(request) == (400, BAD_REQUEST)  # the old reply, as it was
    old_jwt = json.loads(request.body)["jwt"]
    moved = {"messageId": second.message_id, "jwt": old_jwt}  # the old JWT, the new message id
    assert await post_device(harness, request.url, moved) == (400, BAD_REQUEST)
    assert (await state_of(harness, "challenges", later["id"]))["state"] == "pending"
    assert await phone.answer(enrolled, second) == 200
    assert (await state_of(harness, "challenges", later["id"]))["state"] == "approved"


async def test_a_replayed_denial_lands_nowhere_else(make_harness: Any) -> None:
    async with make_harness(push_denial_backoff=0) as h:
        phone, enrolled, first, first_id = await enrolled_with_challenge(h, "dave")
        denial = phone_reply(phone, enrolled, first, approve=False)
        assert (await phone.send(denial))[0] == 200
        assert (await state_of(h, "challenges", first_id))["state"] == "denied"
        _, audit = await h.call("GET", "/v1/admin/audit?username=dave", expect=200, admin=True)
        later = await h.push_login("dave")
        second = await h.transport.next()
        moved = {"messageId": second.message_id, "jwt": json.loads(denial.body)["jwt"]}
        assert await phone.send(denial) == (400, BAD_REQUEST)
        assert await post_device(h, denial.url, moved) == (400, BAD_REQUEST)
        assert (await state_of(h, "challenges", later["id"]))["state"] == "pending"
        _, after = await h.call("GET", "/v1/admin/audit?username=dave", expect=200, admin=True)
        assert after == audit  # no second denial, no second fraud signal
        assert await phone.answer(enrolled, second) == 200


async def test_a_registration_reply_does_not_register_a_later_one(harness: Harness) -> None:
    _, first = await harness.call("POST", "/v1/users/bob/push/registrations", expect=201)
    phone = harness.phone()
    status, _ = await phone.scan(first["uri"])
    assert status == 200
    reg = parse_registration_uri(first["uri"])
    claims = registration_claims(
        response=challenge_response(reg.secret, reg.challenge),
        mechanism_uid="a-second-mechanism",
        device=phone.phone.device_info(),
    )
    reply = {"messageId": reg.message_id, "jwt": sign_jwt(claims, reg.secret)}
    _, later = await harness.call("POST", "/v1/users/carol/push/registrations", expect=201)
    later_reg = parse_registration_uri(later["uri"])
    assert await post_device(harness, reg.registration_url, reply) == (400, BAD_REQUEST)
    moved = {**reply, "messageId": later_reg.message_id}
    assert await post_device(harness, later_reg.registration_url, moved) == (400, BAD_REQUEST)
    assert (await state_of(harness, "registrations", later["id"]))["state"] == "pending"


def phone_reply(phone: SimPhone, enrolled: Enrolled, message: Any, *, approve: bool) -> HttpRequest:
    return authentication_request(
        authentication_url=enrolled.registration.authentication_url,
        message_id=message.message_id,
        notification=read_notification(message.jwt, enrolled.secret),
        secret=enrolled.secret,
        phone=phone.phone,
        approve=approve,
    )


# --- API keys and admin keys, on every route the router has ---------------------------------

OPEN_ROUTES = {"/push/device", "/healthz", "/readyz", "/metrics"}  # no key, by design


def concrete(path: str) -> str:
    """A request path for a route: ``{name}`` -> a made-up value, ``{name:a|b}`` -> ``a``."""

    def fill(match: re.Match[str]) -> str:
        pattern = match.group(2)
        return pattern.split("|")[0] if pattern else f"made-up-{match.group(1)}"

    return re.sub(r"\{(\w+)(?::([^}]+))?\}", fill, path)


def keyed_routes(h: Harness) -> list[tuple[str, str]]:
    routes, unclassified = [], []
    for route in h.app.router.routes():
        resource = route.resource
        if resource is None or route.method == "HEAD":
            continue
        path = resource.canonical
        if path.startswith("/v1/") and path not in PUBLIC_API_PATHS:
            routes.append((route.method, path))
        elif not (is_page(path) or path in OPEN_ROUTES or path in PUBLIC_API_PATHS):
            unclassified.append(path)
    assert unclassified == [], "a route that is neither a page, the API nor known to be open"
    return sorted(set(routes))


async def test_every_api_route_takes_only_its_own_kind_of_key(harness: Harness) -> None:
    store = harness.services.ctx.store
    revoked = {
        scope: await create_key(store, f"revoked-{scope}", scope, now=time.time())
        for scope in Scope
    }
    for scope in Scope:
        assert await revoke_key(store, f"revoked-{scope}") == 1
    routes = keyed_routes(harness)
    assert len(routes) >= 40
    assert any(path.startswith("/v1/admin/") for _, path in routes)
    for method, template in routes:
        path = concrete(template)
        admin = template.startswith("/v1/admin/")
        right, wrong = (
            (harness.admin_key, harness.api_key) if admin else (harness.api_key, harness.admin_key)
        )
        refused = {
            "no key": {},
            "a made-up key": {"Authorization": "Bearer ak_" + "A" * 43},
            "the other kind of key": {"Authorization": f"Bearer {wrong}"},
            "a revoked key of the right kind": {
                "Authorization": f"Bearer {revoked[Scope.ADMIN if admin else Scope.API]}"
            },
            "the right key, not as a bearer": {"Authorization": f"Token {right}"},
        }
        for label, headers in refused.items():
            response = await harness.client.request(method, path, headers=headers)
            assert response.status == 401, (method, template, label)
            assert (await response.json())["error"]["code"] == "unauthorized"
        response = await harness.client.request(
            method, path, headers={"Authorization": f"Bearer {right}"}
        )
        answer = await response.json() if response.content_type == "application/json" else {}
        assert answer.get("error", {}).get("code") != "unauthorized", (method, template)


# --- CSRF on every page form ----------------------------------------------------------------

EVERY_FIELD = {
    "login": "victim",
    "password": PASSWORD,
    "password2": PASSWORD,
    "name": "renamed by an attacker",
    "choice": "opt_out",
    "email": "attacker@example.com",
    "phone": "+16502530000",
    "action": "save",
    "kind": "totp",
    "note": "attacker",
    "code": "0000000000",
}


def page_posts(h: Harness, device_id: str) -> list[str]:
    paths = set()
    for route in h.app.router.routes():
        template = route.resource.canonical if route.resource else ""
        if route.method == "POST" and is_page(template):
            paths.add(template.replace("{device_id}", device_id))
    return sorted(paths)


async def victim_snapshot(h: Harness) -> list[Any]:
    calls = ["mfa", "devices", "contact", "recovery-codes"]
    state = [(await h.call("GET", f"/v1/users/victim/{c}", expect=200))[1] for c in calls]
    _, audit = await h.call("GET", "/v1/admin/audit?username=victim", expect=200, admin=True)
    _, user = await h.call("GET", "/v1/admin/users/victim", expect=200, admin=True)
    return [*state, audit, user]


async def refused(person: Visitor, path: str, token: str, headers: dict[str, str]) -> int:
    form = {**EVERY_FIELD, "csrf": token}
    async with person.session.post(
        person.url(path), data=form, headers=headers, allow_redirects=False
    ) as response:
        form_status = response.status
    fetch_headers = {**headers, "X-CSRF-Token": token, "Accept": "application/json"}
    async with person.session.post(
        person.url(path), json=EVERY_FIELD, headers=fetch_headers, allow_redirects=False
    ) as response:
        fetch_status = response.status
    assert form_status == fetch_status == 403, (path, form_status, fetch_status)
    return form_status


@pytest.mark.parametrize(
    "attack",
    [
        "another session's token",
        "Sec-Fetch-Site: cross-site",
        "Sec-Fetch-Site: same-site",
        "Origin: another site",
        "Origin: a look-alike host",
    ],
)
async def test_no_page_form_can_be_forged(harness: Harness, attack: str) -> None:
    await harness.create_user("victim", email="victim@example.com", phone="+442079460958")
    await harness.create_user("mallory")
    _, _, codes = await harness.enrol("victim")
    async with visitor(harness) as victim, visitor(harness) as attacker:
        await attacker.sign_in("mallory")
        await attacker.post("/login/setup", {"choice": "skip"})
        assert (await attacker.get("/settings")).status == 200
        await victim.sign_in("victim")
        assert (await victim.post("/login/recovery", {"code": codes[0]})).path == "/settings"
        settings = await victim.get("/settings")
        device = settings.first(r'href="/settings/devices/([^"/]+)" aria-label="Rename')
        before = await victim_snapshot(harness)
        own_token = victim.token
        base = str(harness.client.make_url("/")).rstrip("/")
        token, headers = own_token, {}
        if attack == "another session's token":
            token = attacker.token
        elif attack.startswith("Sec-Fetch-Site"):
            headers = {"Sec-Fetch-Site": attack.split(": ")[1]}
        elif attack == "Origin: another site":
            headers = {"Origin": "https://evil.example"}
        else:
            headers = {"Origin": base + ".evil.example"}
        posts = page_posts(harness, device)
        assert {"/logout", "/settings/opt-in", f"/settings/devices/{device}/remove"} <= set(posts)
        for path in posts:
            await refused(victim, path, token, headers)
        assert await victim_snapshot(harness) == before
        still = await victim.get("/settings")  # not signed out, nothing renamed or removed
        assert (still.status, still.path) == (200, "/settings")
        assert still.has("Pixel 9") or still.has("iPhone 16")
        assert victim.token == own_token
