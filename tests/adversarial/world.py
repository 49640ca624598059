"""Real objects for the generated requests to hit: a user with every kind of record.

Each schemathesis operation gets a fresh world, so the path parameters it draws name a real
user, device, registration, challenge, OTP offer, WebAuthn ceremony, alternative-method
attempt or case some of the time, and not only ids that do not exist.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from dataclasses import dataclass, field

from tests.support.harness import Harness
from tests.support.soft_webauthn import SoftAuthenticator

_worlds = itertools.count(1)
PNG = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + bytes(17)

# Which kind of record each templated ``{id}`` names, by the path's prefix.
ID_KINDS = {
    "/v1/push/registrations/": "registration",
    "/v1/push/challenges/": "challenge",
    "/v1/otp/registrations/": "otp",
    "/v1/webauthn/registrations/": "webauthn_registration",
    "/v1/webauthn/authentications/": "webauthn_authentication",
    "/v1/alternative/": "alternative",
    "/v1/cases/": "case",
    "/v1/admin/cases/": "case",
}


@dataclass
class World:
    username: str
    device_ids: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)

    def real(self, path: str, name: str) -> str | None:
        """A real value for the path parameter ``name`` of ``path``, when there is one."""
        if name == "username":
            return self.username
        if name == "device_id":
            return self.device_ids[0] if self.device_ids else None
        if name == "id":
            for prefix, kind in ID_KINDS.items():
                if path.startswith(prefix):
                    return self.ids.get(kind)
        return None


def drain(h: Harness) -> None:
    """Forget the notifications the generated requests caused."""
    while not h.transport.sent.empty():
        h.transport.sent.get_nowait()


async def seed(h: Harness) -> World:
    world = World(f"adv{next(_worlds)}")
    user = world.username
    drain(h)
    await h.create_user(user, email=f"{user}@example.com", phone="+442079460958")
    await h.call(
        "PATCH", f"/v1/admin/users/{user}", json={"email_verified": True}, admin=True, expect=200
    )
    await h.enrol(user)
    _, challenge = await h.call("POST", f"/v1/users/{user}/push/challenges", expect=201)
    world.ids["challenge"] = challenge["id"]
    drain(h)
    _, registration = await h.call("POST", f"/v1/users/{user}x/push/registrations", expect=201)
    world.ids["registration"] = registration["id"]
    _, otp = await h.call("POST", f"/v1/users/{user}/otp/registrations", expect=201)
    world.ids["otp"] = otp["id"]
    key = SoftAuthenticator()
    origin = h.services.ctx.settings.base_url
    _, started = await h.call("POST", f"/v1/users/{user}/webauthn/registrations", expect=201)
    await h.call(
        "POST",
        f"/v1/webauthn/registrations/{started['id']}",
        json={"credential": key.create(started["options"], origin)},
        expect=201,
    )
    _, started = await h.call("POST", f"/v1/users/{user}/webauthn/registrations", expect=201)
    world.ids["webauthn_registration"] = started["id"]
    _, auth = await h.call("POST", f"/v1/users/{user}/webauthn/authentications", expect=201)
    world.ids["webauthn_authentication"] = auth["id"]
    _, alternative = await h.call("POST", f"/v1/users/{user}/alternative", expect=201)
    world.ids["alternative"] = alternative["id"]
    _, case = await h.call("POST", f"/v1/users/{user}/cases", expect=201)
    world.ids["case"] = case["id"]
    response = await h.client.put(
        f"/v1/cases/{case['id']}/evidence",
        data=PNG,
        headers={**h.auth, "Content-Type": "image/png"},
    )
    assert response.status == 200, await response.text()
    _, devices = await h.call("GET", f"/v1/users/{user}/devices", expect=200)
    world.device_ids = [device["id"] for device in devices["devices"]]
    return world


def pick(label: str, value: object) -> bool:
    """A stable coin toss per generated value: replace it with a real one about half the time."""
    return zlib.crc32(f"{label}|{value!r}".encode()) % 2 == 0
