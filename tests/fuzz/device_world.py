"""A real pushd with something for a device reply to hit: a registration waiting for its
phone, an enrolled phone with a login challenge out. Both the Hypothesis test of the device
endpoint and fuzz/fuzz_device_endpoint.py send their bodies here."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from authenticator_sim.responder import read_notification
from mfa_core.encoding import b64url_encode
from mfa_core.jws import HEADER_SEGMENT, sign_jwt
from mfa_core.push import PushRegistration, challenge_response, parse_registration_uri
from mfa_core.push_poll import poll_claims
from mfa_core.push_replies import Transport as Platform
from mfa_core.push_replies import authentication_claims
from pushd.app import make_app
from pushd.appkeys import SERVICES
from pushd.delivery.base import PushMessage
from pushd.handlers.device import BAD_REQUEST
from pushd.logs import JsonAccessLogger
from pushd.services.api_keys import Scope, create_key
from tests.fuzz.targets import splice, text_of
from tests.support.harness import FakeTransport, Harness, pushd_settings
from tests.support.phone import Enrolled

ACTIONS = ("register", "authenticate", "refresh", "pending")
# No fatigue rules in the way: the world asks for a fresh challenge whenever one is answered.
SETTINGS: dict[str, Any] = {
    "push_rate_limit": 0,
    "push_denial_backoff": 0.0,
    "push_suspend_after": 0,
}
_REGISTRATION_CLAIMS = ("response", "mechanismUid", "deviceId", "deviceName", "deviceType",
                        "communicationType")  # fmt: skip


@asynccontextmanager
async def running_pushd(data_dir: Path) -> AsyncIterator[Harness]:
    """What the ``make_harness`` fixture starts (embedded store), usable outside pytest."""
    settings = pushd_settings(data_dir, **SETTINGS)
    transport = FakeTransport()
    app = make_app(settings, transports={Platform.FCM: transport, Platform.APNS: transport})
    server = TestServer(app, host="127.0.0.1", port=settings.port)
    await server.start_server(access_log_class=JsonAccessLogger)
    async with TestClient(server) as client, aiohttp.ClientSession() as session:
        store = app[SERVICES].ctx.store
        key = await create_key(store, "fuzz", Scope.API, now=time.time())
        admin = await create_key(store, "fuzz-ops", Scope.ADMIN, now=time.time())
        yield Harness(client, app, transport, key, session, admin_key=admin)


@dataclass
class DeviceWorld:
    """Valid ids and secrets, so that mutated and re-signed bodies reach the deep checks."""

    harness: Harness
    registration: PushRegistration  # waiting for its phone
    enrolled: Enrolled  # a registered phone
    message: PushMessage  # its login challenge's notification
    renewed_at: float = field(default_factory=time.monotonic)

    @classmethod
    async def create(cls, h: Harness) -> DeviceWorld:
        _, started = await h.call("POST", "/v1/users/fuzz-new/push/registrations", expect=201)
        _, enrolled, _ = await h.enrol("fuzz-enrolled")
        return cls(h, parse_registration_uri(started["uri"]), enrolled, await _login(h))

    async def refresh_if_stale(self, every: float = 60.0) -> None:
        """Long fuzzing runs: a new registration and challenge before the old ones expire."""
        if time.monotonic() - self.renewed_at > every:
            await self.renew("register")
            await self.renew("authenticate")

    async def renew(self, action: str) -> None:
        """A fresh registration or challenge, once a valid reply used it up."""
        h = self.harness
        self.renewed_at = time.monotonic()
        if action == "register":
            _, started = await h.call("POST", "/v1/users/fuzz-new/push/registrations", expect=201)
            self.registration = parse_registration_uri(started["uri"])
        else:
            self.message = await _login(h)

    def secret(self, action: str) -> bytes:
        return self.registration.secret if action == "register" else self.enrolled.secret

    def envelope(self, action: str, jwt: str) -> dict[str, object]:
        if action == "register":
            return {"messageId": self.registration.message_id, "jwt": jwt}
        if action == "authenticate":
            return {"messageId": self.message.message_id, "jwt": jwt}
        return {"mechanismUid": self.enrolled.mechanism_uid, "jwt": jwt}

    def claims(self, action: str) -> dict[str, object]:
        """What a well-behaved phone signs for ``action``."""
        if action == "register":
            response = challenge_response(self.registration.secret, self.registration.challenge)
            values = [response, "4f1c", "fcm:token", "Pixel", "android", "gcm"]
            return dict(zip(_REGISTRATION_CLAIMS, values, strict=True))
        if action == "authenticate":
            notification = read_notification(self.message.jwt, self.enrolled.secret)
            response = challenge_response(self.enrolled.secret, notification.challenge)
            return authentication_claims(response=response, deny=True)
        if action == "refresh":
            return {"deviceId": "fcm:new", "communicationType": "gcm"}
        uid = self.enrolled.mechanism_uid
        return dict(poll_claims(mechanism_uid=uid, now=time.time(), rng=secrets.token_bytes))

    # --- the three shapes of input ---------------------------------------------------

    def signed(self, action: str, claims: dict[str, object]) -> bytes:
        """A body carrying any claims, correctly signed: the claim parsers' input."""
        jwt = sign_jwt(claims, self.secret(action))
        return json.dumps(self.envelope(action, jwt)).encode()

    def valid(self, action: str) -> bytes:
        return self.signed(action, self.claims(action))

    def mutated(self, action: str, at: int, cut: int, insert: str) -> bytes:
        mutant = splice(self.valid(action).decode(), at, cut, insert)
        return mutant.encode("utf-8", "surrogatepass")  # a lone surrogate: bytes not UTF-8

    def payload_signed(self, action: str, payload: bytes) -> bytes:
        """Any payload bytes under a correct signature: verify_jwt's JSON parser's input."""
        signing_input = f"{HEADER_SEGMENT}.{b64url_encode(payload)}"
        mac = hmac.new(self.secret(action), signing_input.encode(), hashlib.sha256).digest()
        return json.dumps(self.envelope(action, f"{signing_input}.{b64url_encode(mac)}")).encode()

    def from_bytes(self, data: bytes) -> tuple[str, bytes]:
        """An atheris input as a request: action, then the shape, then its material."""
        action = ACTIONS[data[0] % len(ACTIONS)] if data else "register"
        shape, rest = (data[1] % 3 if len(data) > 1 else 0), data[2:]
        if shape == 0:
            return action, rest
        if shape == 1:
            return action, self.payload_signed(action, rest)
        at, cut = (rest[0] if rest else 0), (rest[1] if len(rest) > 1 else 0)
        return action, self.mutated(action, at, cut, text_of(rest[2:]))

    async def send(self, action: str, body: bytes) -> tuple[int, object]:
        """POST the body; check the answer is one the protocol allows; renew what got used."""
        path = f"/push/device?_action={action}"
        response = await self.harness.client.request("POST", path, data=body)
        status, raw = response.status, await response.read()
        check_answer(action, status, raw)
        if status == 200 and action in ("register", "authenticate"):
            await self.renew(action)
        return status, json.loads(raw)


def check_answer(action: str, status: int, raw: bytes) -> None:
    """200 ``{}`` (the poll fallback: its list), or 400 with the protocol's fixed body."""
    assert status in (200, 400), (action, status, raw[:300])
    answer = json.loads(raw)
    if status == 400:
        assert answer == BAD_REQUEST, answer
    elif action == "pending":
        assert set(answer) == {"notifications"}, answer
    else:
        assert answer == {}, answer


async def _login(h: Harness) -> PushMessage:
    created = await h.push_login("fuzz-enrolled")
    while (message := await h.transport.next()).key != created["id"]:
        pass  # a registration's test notification, sent when a fuzzed reply registered a phone
    return message
