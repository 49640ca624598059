"""JSON in and out of the API: validation at the boundary, typed values past it."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import Mapping
from datetime import UTC, datetime

from aiohttp import web

from mfa_core.profile import Device, NextStep
from mfa_core.push import LoginContext, PushType
from pushd.errors import ApiError, invalid_request
from pushd.services.challenges import ChallengeRequest, ChallengeView
from pushd.services.mfa import MfaStatus
from pushd.services.registrations import RegistrationView
from pushd.store.records import AuditEvent, UserRecord

MAX_JSON_BYTES = 64 * 1024
MAX_MESSAGE_CHARS = 256


def timestamp(epoch: float) -> str:
    """RFC 3339, UTC, milliseconds."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The whole body, or its first ``limit + 1`` bytes when it is longer than ``limit``.

    ``content.read(n)`` returns what has arrived so far, so a body that comes in several
    pieces is read until its end, not cut at the first piece.
    """
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await request.content.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def read_json(request: web.Request, *, required: bool = True) -> dict[str, object]:
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise ApiError(413, "payload_too_large", "the request body is too large")
    raw = await read_limited(request, MAX_JSON_BYTES)
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(413, "payload_too_large", "the request body is too large")
    if not raw.strip():
        if required:
            raise invalid_request("a JSON body is required")
        return {}
    try:
        value = json.loads(raw)
        # "\ud800" parses to a lone surrogate, which no hash, signature, store or log can
        # encode (UnicodeEncodeError is a ValueError): refuse it here, not with a 500 later.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError) as e:
        raise invalid_request("the body is not valid JSON") from e
    if not isinstance(value, dict):
        raise invalid_request("the body must be a JSON object")
    return value


def only_keys(body: Mapping[str, object], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid_request(f"unknown field(s): {', '.join(unknown)}")


def optional_string(body: Mapping[str, object], key: str, *, max_chars: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
        raise invalid_request(f"{key} must be a non-empty string of at most {max_chars} characters")
    return value


def wait_seconds(request: web.Request, max_wait: float) -> float:
    raw = request.query.get("wait", "0")
    try:
        wait = float(raw)
    except ValueError:
        raise invalid_request("wait must be a number of seconds") from None
    if not 0 <= wait <= max_wait:
        raise invalid_request(f"wait must be between 0 and {max_wait:g} seconds")
    return wait


def challenge_request(body: Mapping[str, object]) -> ChallengeRequest:
    only_keys(body, {"type", "message", "context"})
    raw_type = body.get("type", "default")
    if not isinstance(raw_type, str) or raw_type not in {t.value for t in PushType}:
        raise invalid_request("type must be default, challenge or biometric")
    return ChallengeRequest(
        push_type=PushType(str(raw_type)),
        message=optional_string(body, "message", max_chars=MAX_MESSAGE_CHARS),
        context=_login_context(body.get("context")),
    )


def _login_context(value: object) -> LoginContext | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_request("context must be an object")
    only_keys(value, {"remote_ip", "user_agent", "location"})
    remote_ip = optional_string(value, "remote_ip", max_chars=64)
    if remote_ip is not None:
        try:
            ipaddress.ip_address(remote_ip)
        except ValueError:
            raise invalid_request("context.remote_ip must be an IP address") from None
    location = value.get("location")
    if location is not None and not (
        isinstance(location, dict)
        and len(location) <= 8
        and all(
            isinstance(k, str)
            and len(k) <= 32
            and (
                (isinstance(v, str) and len(v) <= 128)
                or (isinstance(v, (int, float)) and not isinstance(v, bool))
            )
            for k, v in location.items()
        )
    ):
        raise invalid_request("context.location must map up to 8 names to short strings or numbers")
    return LoginContext(
        remote_ip=remote_ip,
        user_agent=optional_string(value, "user_agent", max_chars=512),
        location=location,
    )


def challenge_json(view: ChallengeView) -> dict[str, object]:
    out: dict[str, object] = {"id": view.challenge_id, "state": view.state}
    if view.reason is not None and view.state != "approved":
        out["reason"] = view.reason
    if view.number is not None:
        out["number"] = view.number
    out["expires_at"] = timestamp(view.expires_at)
    return out


def registration_json(view: RegistrationView) -> dict[str, object]:
    out: dict[str, object] = {"id": view.registration_id, "state": view.state}
    if view.reason is not None:
        out["reason"] = view.reason
    for key in ("uri", "qr_svg", "device_name"):
        value = getattr(view, key)
        if value is not None:
            out[key] = value
    if view.recovery_codes is not None:
        out["recovery_codes"] = list(view.recovery_codes)
    out["expires_at"] = timestamp(view.expires_at)
    return out


def client_ip(body: Mapping[str, object]) -> str | None:
    """The end user's address, when the login page passes it: the per-address throttle.

    Not the caller's own address: every user of one login page would share it.
    """
    value = body.get("client_ip")
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value if isinstance(value, str) else ""))
    except ValueError:
        raise invalid_request("client_ip must be an IP address") from None


def required_string(body: Mapping[str, object], key: str, *, max_chars: int = 1024) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value or len(value) > max_chars:
        raise invalid_request(f"{key} is required (a string of at most {max_chars} characters)")
    return value


def device_json(device: Device) -> dict[str, object]:
    out: dict[str, object] = {
        "id": device.device_id,
        "kind": str(device.kind),
        "name": device.name,
        "created_at": timestamp(device.created_at),
    }
    if device.last_used_at is not None:
        out["last_used_at"] = timestamp(device.last_used_at)
    return out


def next_step_json(step: NextStep) -> dict[str, object]:
    return {"kind": str(step.kind), "methods": [str(m) for m in step.methods]}


def mfa_json(status: MfaStatus) -> dict[str, object]:
    user = status.user
    out: dict[str, object] = {
        "username": user.account.username,
        "state": str(user.profile.state),
        "next_step": next_step_json(status.next_step),
        "devices": [device_json(d) for d in user.profile.devices],
        "recovery_codes_remaining": user.recovery_codes_remaining,
        "push_suspended": status.push_suspended,
        "mfa_review_due": user.account.mfa_review_due,
        "contact_review_due": status.contact_review_due,
    }
    if user.profile.state_changed_at is not None:
        out["state_changed_at"] = timestamp(user.profile.state_changed_at)
    return out


def user_json(user: UserRecord) -> dict[str, object]:
    """An operator's view of a user: never a password hash, secret or code."""
    account = user.account
    return {
        "user_id": user.user_id,
        "username": account.username,
        "email": account.email,
        "email_verified": account.email_verified,
        "phone": account.phone,
        "has_password": account.password_hash is not None,
        "created_at": timestamp(account.created_at),
        "mfa_state": str(user.profile.state),
        "devices": [device_json(d) for d in user.profile.devices],
        "recovery_codes_remaining": user.recovery_codes_remaining,
    }


def audit_json(event: AuditEvent) -> dict[str, object]:
    fields = {k: v for k, v in dataclasses.asdict(event).items() if v and k != "at"}
    return {"at": timestamp(event.at), **fields}


def time_range(request: web.Request) -> tuple[float, float]:
    """``since`` and ``until`` as RFC 3339 or epoch seconds (default: the last 30 days)."""
    now = datetime.now(UTC).timestamp()
    return (
        _moment(request.query.get("since"), now - 30 * 86400),
        _moment(request.query.get("until"), now + 1),
    )


def _moment(raw: str | None, default: float) -> float:
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise invalid_request("since and until are RFC 3339 times or epoch seconds") from None
    return moment.timestamp() if moment.tzinfo else moment.replace(tzinfo=UTC).timestamp()
