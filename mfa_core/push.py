"""The ForgeRock push protocol: secrets, challenges, message ids, notifications.

The wire contract is shared/docs/push-protocol.md; section numbers below refer to it.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from mfa_core.encoding import b64_decode, b64_encode
from mfa_core.entropy import RandomBytes, uniform_below
from mfa_core.errors import InvalidDeviceReply, InvalidEncoding, InvalidParameter, ResponseMismatch
from mfa_core.jsonutil import compact_json, parse_json_object
from mfa_core.jws import sign_jwt, verify_jwt
from mfa_core.message_id import MessageId, MessageKind, new_message_id, parse_message_id
from mfa_core.push_uri import (
    CombinedRegistration,
    PushRegistration,
    build_combined_uri,
    build_registration_uri,
    parse_combined_uri,
    parse_registration_uri,
)

__all__ = [
    "CHALLENGE_BYTES",
    "SECRET_BYTES",
    "CombinedRegistration",
    "LoginContext",
    "MessageId",
    "MessageKind",
    "Notification",
    "NumberMatch",
    "PushRegistration",
    "PushType",
    "build_combined_uri",
    "build_registration_uri",
    "challenge_response",
    "new_challenge",
    "new_message_id",
    "new_number_match",
    "new_secret",
    "notification_claims",
    "parse_combined_uri",
    "parse_message_id",
    "parse_notification_claims",
    "parse_number_choices",
    "parse_registration_uri",
    "sign_jwt",
    "verify_challenge_response",
    "verify_jwt",
]

SECRET_BYTES = 32
CHALLENGE_BYTES = 32
MAX_CUSTOM_PAYLOAD_BYTES = 3 * 1024
NUMBER_RANGE = range(10, 100)


class PushType(enum.StrEnum):
    """Claim ``k``: what the app asks the user to do."""

    DEFAULT = "default"
    CHALLENGE = "challenge"
    BIOMETRIC = "biometric"


def new_secret(rng: RandomBytes) -> bytes:
    return rng(SECRET_BYTES)


def new_challenge(rng: RandomBytes) -> bytes:
    return rng(CHALLENGE_BYTES)


def challenge_response(secret: bytes, challenge: bytes) -> str:
    """b64 (standard, padded) HMAC-SHA256 of the challenge bytes under the raw secret."""
    return b64_encode(hmac.new(secret, challenge, hashlib.sha256).digest())


def verify_challenge_response(secret: bytes, challenge: bytes, response: object) -> None:
    """Constant-time check of a device's ``response`` claim; raises :class:`ResponseMismatch`."""
    expected = challenge_response(secret, challenge).encode("ascii")
    given = response.encode("utf-8", "surrogatepass") if isinstance(response, str) else b""
    if not hmac.compare_digest(expected, given):
        raise ResponseMismatch("challenge response does not match")


# --- number matching -----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberMatch:
    """Three distinct two-digit choices, ascending; the login page shows ``answer``."""

    choices: tuple[int, int, int]
    answer: int

    def claim(self) -> str:
        return ",".join(str(n) for n in self.choices)


def new_number_match(rng: RandomBytes) -> NumberMatch:
    pool = list(NUMBER_RANGE)
    picked = sorted(pool.pop(uniform_below(rng, len(pool))) for _ in range(3))
    choices = (picked[0], picked[1], picked[2])
    return NumberMatch(choices=choices, answer=choices[uniform_below(rng, 3)])


def parse_number_choices(text: object) -> tuple[int, int, int]:
    """Parse claim ``n``: three distinct integers in 10..99, ascending."""
    if not isinstance(text, str) or re.fullmatch(r"[0-9]{2},[0-9]{2},[0-9]{2}", text) is None:
        raise InvalidDeviceReply("number choices must be three two-digit numbers")
    first, second, third = (int(part) for part in text.split(","))
    if not first < second < third or first < NUMBER_RANGE.start:
        raise InvalidDeviceReply("number choices must be distinct, ascending, 10..99")
    return first, second, third


# --- the notification (section 3) ----------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginContext:
    """Claim ``x``: where the login attempt comes from, shown by the app."""

    remote_ip: str | None = None
    user_agent: str | None = None
    location: Mapping[str, float | str] | None = None

    def as_json(self) -> str:
        values: dict[str, object] = {}
        if self.remote_ip is not None:
            values["remoteIp"] = self.remote_ip
        if self.user_agent is not None:
            values["userAgent"] = self.user_agent
        if self.location is not None:
            values["location"] = dict(self.location)
        return compact_json(values)


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    mechanism_uid: str
    challenge: bytes
    load_balancer_cookie: str
    ttl_seconds: int
    created_at_ms: int
    message: str
    push_type: PushType = PushType.DEFAULT
    numbers: tuple[int, int, int] | None = None
    custom_payload: str | None = None
    context_json: str | None = None
    username: str | None = None


def notification_claims(notification: Notification) -> dict[str, str]:
    """The claims of the notification JWT; every value is a JSON string."""
    n = notification
    if (n.push_type is PushType.CHALLENGE) != (n.numbers is not None):
        raise InvalidParameter("number choices go with, and only with, the challenge type")
    if n.ttl_seconds < 1:
        raise InvalidParameter("time to live must be positive")
    claims = {
        "u": n.mechanism_uid,
        "c": b64_encode(n.challenge),
        "l": b64_encode(n.load_balancer_cookie.encode("utf-8")),
        "t": str(n.ttl_seconds),
        "i": str(n.created_at_ms),
        "m": n.message,
        "k": str(n.push_type),
    }
    if n.numbers is not None:
        claims["n"] = ",".join(str(number) for number in n.numbers)
        parse_number_choices(claims["n"])
    if n.custom_payload is not None:
        _check_custom_payload(n.custom_payload)
        claims["p"] = n.custom_payload
    if n.context_json is not None:
        claims["x"] = n.context_json
    if n.username is not None:
        claims["d"] = n.username
    return claims


def parse_notification_claims(claims: Mapping[str, object]) -> Notification:
    """The app's reading of a verified notification JWT (what authsim shows)."""
    strings = {key: value for key, value in claims.items() if isinstance(value, str)}
    try:
        push_type = PushType(strings.get("k", PushType.DEFAULT))
        challenge = b64_decode(strings["c"])
        cookie = b64_decode(strings.get("l", "")).decode("utf-8")
        ttl, created = int(strings["t"]), int(strings.get("i", "0"))
        mechanism_uid, message = strings["u"], strings.get("m", "")
    except (KeyError, ValueError, InvalidEncoding) as e:  # ValueError covers bad enums, ints, UTF-8
        raise InvalidDeviceReply("notification claims malformed") from e
    numbers = parse_number_choices(strings.get("n")) if push_type is PushType.CHALLENGE else None
    return Notification(
        mechanism_uid=mechanism_uid,
        challenge=challenge,
        load_balancer_cookie=cookie,
        ttl_seconds=ttl,
        created_at_ms=created,
        message=message,
        push_type=push_type,
        numbers=numbers,
        custom_payload=strings.get("p"),
        context_json=strings.get("x"),
        username=strings.get("d"),
    )


def _check_custom_payload(payload: str) -> None:
    if len(payload.encode("utf-8")) > MAX_CUSTOM_PAYLOAD_BYTES:
        raise InvalidParameter("custom payload is larger than 3 KB")
    parse_json_object(payload, InvalidParameter)
