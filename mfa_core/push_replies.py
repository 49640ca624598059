"""What the phone sends back (sections 2, 4 and 5), typed; and how a phone builds it.

pushd parses replies with ``parse_*``; authsim builds them with ``*_claims``.
Every parser raises :class:`InvalidDeviceReply` (or a sibling ``MalformedInput``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from mfa_core.errors import InvalidDeviceReply
from mfa_core.jsonutil import parse_json_object

MAX_BODY_BYTES = 16 * 1024
MAX_FIELD_CHARS = 4096


class Transport(enum.StrEnum):
    """How a phone is reached: ``communicationType`` on the wire."""

    FCM = "gcm"
    APNS = "apns"


_TRANSPORT_NAMES: Mapping[str, Transport] = {
    "gcm": Transport.FCM,
    "fcm": Transport.FCM,
    "apns": Transport.APNS,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceEnvelope:
    """The JSON body of a registration or authentication reply."""

    message_id: str
    jwt: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshEnvelope:
    mechanism_uid: str
    username: str | None
    jwt: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    """The phone as it describes itself: push token, name, platform."""

    push_token: str
    device_name: str
    device_type: str
    transport: Transport


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationReply:
    response: str
    mechanism_uid: str
    device: DeviceInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthenticationReply:
    response: str
    denied: bool
    chosen_number: int | None


# --- parsing (pushd) -------------------------------------------------------------


def parse_device_envelope(body: bytes) -> DeviceEnvelope:
    fields = _body(body)
    return DeviceEnvelope(
        message_id=_string(fields, "messageId"), jwt=_string(fields, "jwt", MAX_BODY_BYTES)
    )


def parse_refresh_envelope(body: bytes) -> RefreshEnvelope:
    fields = _body(body)
    username = fields.get("username")
    return RefreshEnvelope(
        mechanism_uid=_string(fields, "mechanismUid"),
        username=username if isinstance(username, str) and username else None,
        jwt=_string(fields, "jwt", MAX_BODY_BYTES),
    )


def parse_registration_claims(claims: Mapping[str, object]) -> RegistrationReply:
    return RegistrationReply(
        response=_string(claims, "response"),
        mechanism_uid=_string(claims, "mechanismUid"),
        device=parse_device_info(claims),
    )


def parse_device_info(claims: Mapping[str, object]) -> DeviceInfo:
    """The device fields of a registration or token-refresh JWT."""
    kind = _string(claims, "communicationType").lower()
    transport = _TRANSPORT_NAMES.get(kind)
    if transport is None:
        raise InvalidDeviceReply("unknown communicationType")
    return DeviceInfo(
        push_token=_string(claims, "deviceId"),
        device_name=_optional_string(claims, "deviceName"),
        device_type=_optional_string(claims, "deviceType"),
        transport=transport,
    )


def parse_authentication_claims(claims: Mapping[str, object]) -> AuthenticationReply:
    """``deny`` counts when present with any non-null value, as the ForgeRock servers do."""
    chosen = claims.get("challengeResponse")
    if isinstance(chosen, bool) or not isinstance(chosen, (str, int, type(None))):
        raise InvalidDeviceReply("challengeResponse must be a number")
    if isinstance(chosen, str):
        if not chosen.isascii() or not chosen.isdigit() or len(chosen) > 3:
            raise InvalidDeviceReply("challengeResponse must be a number")
        chosen = int(chosen)
    return AuthenticationReply(
        response=_string(claims, "response"),
        denied=claims.get("deny") is not None,
        chosen_number=chosen,
    )


# --- building (the phone's side) -------------------------------------------------


def registration_claims(*, response: str, mechanism_uid: str, device: DeviceInfo) -> dict[str, str]:
    return {
        "response": response,
        "mechanismUid": mechanism_uid,
        **device_info_claims(device),
    }


def device_info_claims(device: DeviceInfo) -> dict[str, str]:
    return {
        "deviceId": device.push_token,
        "deviceName": device.device_name,
        "deviceType": device.device_type,
        "communicationType": str(device.transport),
    }


def authentication_claims(
    *, response: str, deny: bool = False, chosen_number: int | None = None
) -> dict[str, object]:
    claims: dict[str, object] = {"response": response}
    if chosen_number is not None:
        claims["challengeResponse"] = str(chosen_number)
    if deny:
        claims["deny"] = True
    return claims


# --- helpers -----------------------------------------------------------------------


def _body(body: bytes) -> dict[str, object]:
    if not isinstance(body, bytes) or len(body) > MAX_BODY_BYTES:
        raise InvalidDeviceReply("body missing or too large")
    return parse_json_object(body, InvalidDeviceReply)


def _string(fields: Mapping[str, object], key: str, limit: int = MAX_FIELD_CHARS) -> str:
    value = fields.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidDeviceReply(f"{key} missing or not a string")
    return value


def _optional_string(fields: Mapping[str, object], key: str) -> str:
    value = fields.get(key, "")
    if not isinstance(value, str) or len(value) > MAX_FIELD_CHARS:
        raise InvalidDeviceReply(f"{key} is not a string")
    return value
