"""What the ForgeRock Authenticator app sends, built with mfa_core (sans-IO).

Each function returns an :class:`HttpRequest` to send; nothing here does I/O. The
Android flavour sends the load-balancer cookie as ``Cookie``, the iOS one as
``Set-Cookie`` and uses uppercase UUIDs and hex APNs tokens, as the real apps do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from mfa_core.entropy import RandomBytes
from mfa_core.push import Notification, PushRegistration, challenge_response, sign_jwt, verify_jwt
from mfa_core.push import parse_notification_claims as _parse_claims
from mfa_core.push_poll import poll_claims
from mfa_core.push_replies import (
    DeviceInfo,
    Transport,
    authentication_claims,
    device_info_claims,
    registration_claims,
)

API_VERSION = "resource=1.0, protocol=1.0"


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpRequest:
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Phone:
    """The phone as the apps describe it."""

    ios: bool
    name: str
    push_token: str

    def device_info(self) -> DeviceInfo:
        return DeviceInfo(
            push_token=self.push_token,
            device_name=self.name,
            device_type="ios" if self.ios else "android",
            transport=Transport.APNS if self.ios else Transport.FCM,
        )


def registration_request(
    registration: PushRegistration, *, phone: Phone, mechanism_uid: str
) -> HttpRequest:
    claims = registration_claims(
        response=challenge_response(registration.secret, registration.challenge),
        mechanism_uid=mechanism_uid.upper() if phone.ios else mechanism_uid.lower(),
        device=phone.device_info(),
    )
    body = {"messageId": registration.message_id, "jwt": sign_jwt(claims, registration.secret)}
    return _request(registration.registration_url, body, registration.load_balancer_cookie, phone)


def read_notification(jwt: str, secret: bytes) -> Notification:
    """Verify a notification JWT with the account's secret and read its claims."""
    return _parse_claims(verify_jwt(jwt, secret))


def authentication_request(
    *,
    authentication_url: str,
    message_id: str,
    notification: Notification,
    secret: bytes,
    phone: Phone,
    approve: bool,
    number: int | None = None,
) -> HttpRequest:
    claims = authentication_claims(
        response=challenge_response(secret, notification.challenge),
        deny=not approve,
        chosen_number=number,
    )
    body = {"messageId": message_id, "jwt": sign_jwt(claims, secret)}
    return _request(authentication_url, body, notification.load_balancer_cookie or None, phone)


def refresh_request(
    *,
    registration_url: str,
    mechanism_uid: str,
    username: str | None,
    secret: bytes,
    phone: Phone,
    load_balancer_cookie: str | None,
) -> HttpRequest:
    claims: dict[str, object] = dict(device_info_claims(phone.device_info()))
    if phone.ios:
        claims["mechanismUid"] = mechanism_uid
    body: dict[str, object] = {"mechanismUid": mechanism_uid, "jwt": sign_jwt(claims, secret)}
    if username:
        body["username"] = username
    url = registration_url.replace("_action=register", "_action=refresh")
    return _request(url, body, load_balancer_cookie, phone)


def pending_request(
    *,
    registration_url: str,
    mechanism_uid: str,
    secret: bytes,
    phone: Phone,
    now: float,
    rng: RandomBytes,
    load_balancer_cookie: str | None,
) -> HttpRequest:
    """pushd's poll fallback (not the real app's): list this device's pending notifications."""
    claims = poll_claims(mechanism_uid=mechanism_uid, now=now, rng=rng)
    body = {"mechanismUid": mechanism_uid, "jwt": sign_jwt(claims, secret)}
    url = registration_url.replace("_action=register", "_action=pending")
    return _request(url, body, load_balancer_cookie, phone)


def _request(url: str, body: Mapping[str, object], cookie: str | None, phone: Phone) -> HttpRequest:
    headers = {"Content-Type": "application/json", "Accept-API-Version": API_VERSION}
    if cookie:
        headers["Set-Cookie" if phone.ios else "Cookie"] = cookie
    text = json.dumps(body, separators=(",", ":"))
    if phone.ios:
        text = text.replace("/", "\\/")  # iOS's JSONSerialization escapes slashes
    return HttpRequest(url=url, headers=headers, body=text.encode("utf-8"))
