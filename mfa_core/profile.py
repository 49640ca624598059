"""A user's MFA profile and its rules.

After the password a user may Skip (asked again next login), Opt out (not asked
again until they opt back in or register something), or register devices: many
WebAuthn keys, at most one OATH and one push device. ``next_step`` answers what a
login must ask next.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace

from mfa_core.errors import (
    DeviceLimitReached,
    DuplicateDevice,
    InvalidParameter,
    ReauthenticationRequired,
    RuleViolation,
    UnknownDevice,
)

MAX_DEVICE_NAME_CHARS = 64
DEFAULT_REAUTH_MAX_AGE = 300.0


class ProfileState(enum.StrEnum):
    UNSET = "unset"  # never chose: set-up at next login
    SKIPPED = "skipped"
    OPTED_OUT = "opted_out"
    ENROLLED = "enrolled"


class DeviceKind(enum.StrEnum):
    WEBAUTHN = "webauthn"
    OATH = "oath"
    PUSH = "push"


class Method(enum.StrEnum):
    """What a login page can offer."""

    SKIP = "skip"
    OPT_OUT = "opt_out"
    WEBAUTHN = "webauthn"
    PUSH = "push"
    OTP = "otp"
    RECOVERY_CODE = "recovery_code"


class StepKind(enum.StrEnum):
    SETUP = "setup"
    AUTHENTICATE = "authenticate"
    NONE = "none"


DEVICE_LIMITS: Mapping[DeviceKind, int] = {
    DeviceKind.WEBAUTHN: 20,
    DeviceKind.OATH: 1,
    DeviceKind.PUSH: 1,
}
_OFFER_ORDER = (DeviceKind.WEBAUTHN, DeviceKind.PUSH, DeviceKind.OATH)
_METHOD_OF_KIND: Mapping[DeviceKind, Method] = {
    DeviceKind.WEBAUTHN: Method.WEBAUTHN,
    DeviceKind.PUSH: Method.PUSH,
    DeviceKind.OATH: Method.OTP,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    device_id: str
    kind: DeviceKind
    name: str
    created_at: float
    last_used_at: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MfaProfile:
    state: ProfileState = ProfileState.UNSET
    devices: tuple[Device, ...] = ()
    state_changed_at: float | None = None

    def device(self, device_id: str) -> Device:
        for device in self.devices:
            if device.device_id == device_id:
                return device
        raise UnknownDevice("no such device")

    def count(self, kind: DeviceKind) -> int:
        return sum(1 for device in self.devices if device.kind is kind)


@dataclass(frozen=True, slots=True, kw_only=True)
class NextStep:
    kind: StepKind
    methods: tuple[Method, ...]


def next_step(profile: MfaProfile, *, recovery_codes_remaining: int) -> NextStep:
    """What this login must ask after the password."""
    if profile.state is ProfileState.OPTED_OUT:
        return NextStep(kind=StepKind.NONE, methods=())
    if profile.state is ProfileState.ENROLLED:
        present = {device.kind for device in profile.devices}
        methods = [_METHOD_OF_KIND[kind] for kind in _OFFER_ORDER if kind in present]
        if recovery_codes_remaining > 0:
            methods.append(Method.RECOVERY_CODE)
        return NextStep(kind=StepKind.AUTHENTICATE, methods=tuple(methods))
    return NextStep(kind=StepKind.SETUP, methods=setup_offers(profile))


def setup_offers(profile: MfaProfile) -> tuple[Method, ...]:
    """Skip and Opt out while nothing is registered, then each kind not at its limit."""
    offers = [] if profile.devices else [Method.SKIP, Method.OPT_OUT]
    offers += [
        _METHOD_OF_KIND[kind] for kind in _OFFER_ORDER if profile.count(kind) < DEVICE_LIMITS[kind]
    ]
    return tuple(offers)


def skip(profile: MfaProfile, *, now: float) -> MfaProfile:
    _require_unenrolled(profile, "skip")
    return replace(profile, state=ProfileState.SKIPPED, state_changed_at=now)


def opt_out(profile: MfaProfile, *, now: float) -> MfaProfile:
    _require_unenrolled(profile, "opt out")
    return replace(profile, state=ProfileState.OPTED_OUT, state_changed_at=now)


def opt_in(profile: MfaProfile, *, now: float) -> MfaProfile:
    """Undo Opt out: set-up is asked at the next login."""
    if profile.state is not ProfileState.OPTED_OUT:
        raise RuleViolation("only an opted-out profile can opt back in", reason="not_opted_out")
    return replace(profile, state=ProfileState.UNSET, state_changed_at=now)


def check_can_add(profile: MfaProfile, kind: DeviceKind) -> None:
    """Raise :class:`DeviceLimitReached` when another device of ``kind`` is not allowed."""
    if profile.count(kind) >= DEVICE_LIMITS[kind]:
        raise DeviceLimitReached(f"at most {DEVICE_LIMITS[kind]} {kind} device(s) per user")


def add_device(profile: MfaProfile, device: Device, *, now: float) -> MfaProfile:
    check_can_add(profile, device.kind)
    if any(d.device_id == device.device_id for d in profile.devices):
        raise DuplicateDevice("device already registered")
    checked = replace(device, name=clean_device_name(device.name))
    changed_at = profile.state_changed_at if profile.state is ProfileState.ENROLLED else now
    return replace(
        profile,
        state=ProfileState.ENROLLED,
        devices=(*profile.devices, checked),
        state_changed_at=changed_at,
    )


def rename_device(profile: MfaProfile, device_id: str, name: str) -> MfaProfile:
    target = profile.device(device_id)
    renamed = replace(target, name=clean_device_name(name))
    return replace(profile, devices=tuple(renamed if d is target else d for d in profile.devices))


def touch_device(profile: MfaProfile, device_id: str, *, now: float) -> MfaProfile:
    target = profile.device(device_id)
    used = replace(target, last_used_at=now)
    return replace(profile, devices=tuple(used if d is target else d for d in profile.devices))


def remove_device(
    profile: MfaProfile,
    device_id: str,
    *,
    reauthenticated_at: float | None,
    now: float,
    max_age: float = DEFAULT_REAUTH_MAX_AGE,
) -> MfaProfile:
    """Remove a device; needs a password check within ``max_age`` seconds before ``now``.

    Removing the last device puts the profile back to UNSET: set-up at next login.
    """
    if reauthenticated_at is None or not 0 <= now - reauthenticated_at <= max_age:
        raise ReauthenticationRequired("confirm your password to remove a device")
    target = profile.device(device_id)
    remaining = tuple(d for d in profile.devices if d is not target)
    if remaining:
        return replace(profile, devices=remaining)
    return MfaProfile(state=ProfileState.UNSET, devices=(), state_changed_at=now)


def reset(*, now: float) -> MfaProfile:
    """The outcome of a manual recovery: no devices, set-up at next login."""
    return MfaProfile(state=ProfileState.UNSET, devices=(), state_changed_at=now)


def clean_device_name(name: str) -> str:
    """A user-given name: trimmed, 1..64 characters, no control characters."""
    cleaned = " ".join(name.split()) if isinstance(name, str) else ""
    if not cleaned or len(cleaned) > MAX_DEVICE_NAME_CHARS:
        raise InvalidParameter("a device name is 1 to 64 characters")
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise InvalidParameter("a device name cannot hold control characters")
    return cleaned


def _require_unenrolled(profile: MfaProfile, action: str) -> None:
    if profile.state is ProfileState.ENROLLED:
        raise RuleViolation(f"cannot {action} with devices registered", reason="already_enrolled")
