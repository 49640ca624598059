"""A simulated phone for tests: authsim's responder, sending over real HTTP."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from authenticator_sim.responder import (
    HttpRequest,
    Phone,
    authentication_request,
    pending_request,
    read_notification,
    refresh_request,
    registration_request,
)
from mfa_core.entropy import RandomBytes
from mfa_core.push import PushRegistration, parse_registration_uri
from tests.support.log_scan import register_secret, register_uri


class Notification(Protocol):
    """What a phone needs of a notification: pushd's PushMessage or the gateway's Delivered."""

    @property
    def message_id(self) -> str: ...

    @property
    def jwt(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Enrolled:
    registration: PushRegistration
    mechanism_uid: str

    @property
    def secret(self) -> bytes:
        return self.registration.secret


class SimPhone:
    def __init__(self, session: aiohttp.ClientSession, *, ios: bool = False) -> None:
        self.session = session
        token = uuid.uuid4().hex.upper() * 2 if ios else f"fcm:{uuid.uuid4()}"
        register_secret("push_token", token)
        self.phone = Phone(ios=ios, name="iPhone 16" if ios else "Pixel 9", push_token=token)

    async def send(self, request: HttpRequest) -> tuple[int, Any]:
        async with self.session.post(
            request.url, data=request.body, headers=request.headers
        ) as response:
            return response.status, json.loads(await response.read())

    async def scan(self, uri: str) -> tuple[int, Enrolled]:
        registration = parse_registration_uri(uri)
        register_uri(uri)
        register_secret("push_secret", registration.secret)
        enrolled = Enrolled(registration, str(uuid.uuid4()))
        status, _ = await self.send(
            registration_request(
                registration, phone=self.phone, mechanism_uid=enrolled.mechanism_uid
            )
        )
        return status, enrolled

    async def answer(
        self,
        enrolled: Enrolled,
        message: Notification,
        *,
        approve: bool = True,
        number: int | None = None,
    ) -> int:
        notification = read_notification(message.jwt, enrolled.secret)
        status, _ = await self.send(
            authentication_request(
                authentication_url=enrolled.registration.authentication_url,
                message_id=message.message_id,
                notification=notification,
                secret=enrolled.secret,
                phone=self.phone,
                approve=approve,
                number=number,
            )
        )
        return status

    async def pending(
        self, enrolled: Enrolled, *, now: float | None = None, rng: RandomBytes | None = None
    ) -> tuple[int, Any]:
        """pushd's poll fallback: the notifications waiting for this device."""
        return await self.send(
            pending_request(
                registration_url=enrolled.registration.registration_url,
                mechanism_uid=enrolled.mechanism_uid,
                secret=enrolled.secret,
                phone=self.phone,
                now=time.time() if now is None else now,
                rng=rng or secrets.token_bytes,
                load_balancer_cookie=enrolled.registration.load_balancer_cookie,
            )
        )

    async def refresh(self, enrolled: Enrolled, *, new_token: str) -> int:
        self.phone = Phone(ios=self.phone.ios, name=self.phone.name, push_token=new_token)
        status, _ = await self.send(
            refresh_request(
                registration_url=enrolled.registration.registration_url,
                mechanism_uid=enrolled.mechanism_uid,
                username=enrolled.registration.account,
                secret=enrolled.secret,
                phone=self.phone,
                load_balancer_cookie=enrolled.registration.load_balancer_cookie,
            )
        )
        return status
