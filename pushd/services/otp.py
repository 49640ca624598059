"""One-time passwords (TOTP, HOTP): registration with a first code, then login codes.

At most one OATH device per user. Verification keeps RFC 6238's replay guard (a step
at or before the last accepted one is refused) and HOTP resynchronisation, updated
with a compare-and-set so one code works once even when sent twice at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from mfa_core.errors import CodeMismatch, CodeReplayed
from mfa_core.oath import (
    OathKind,
    OathParameters,
    build_otpauth_uri,
    new_oath_parameters,
    verify_hotp,
    verify_totp,
)
from mfa_core.profile import Device, DeviceKind, add_device, check_can_add, touch_device
from pushd.errors import ApiError, conflict, not_found
from pushd.services.audit import Audit
from pushd.services.context import Context
from pushd.services.recovery_codes import RecoveryCodes, invalid_code
from pushd.services.registrations import qr_svg
from pushd.services.throttle import Guess, Throttler, subjects
from pushd.services.users import find_or_create_user, require_user
from pushd.store.records import OathDevice, OtpEnrolment, UserRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class OtpOffer:
    enrolment_id: str
    uri: str
    qr_svg: str
    expires_at: float


class Otp:
    def __init__(
        self, ctx: Context, audit: Audit, throttler: Throttler, codes: RecoveryCodes
    ) -> None:
        self._ctx = ctx
        self._audit = audit
        self._throttler = throttler
        self._codes = codes

    async def start(self, username: str, *, kind: OathKind) -> OtpOffer:
        ctx, settings = self._ctx, self._ctx.settings
        user = (await find_or_create_user(ctx, username)).record
        check_can_add(user.profile, DeviceKind.OATH)
        params = new_oath_parameters(
            ctx.rng,
            kind=kind,
            issuer=settings.issuer,
            account=user.account.username,
            digits=settings.otp_digits,
            algorithm=settings.otp_algorithm,
            period=settings.otp_period,
        )
        enrolment = OtpEnrolment(
            enrolment_id=str(uuid.UUID(bytes=ctx.rng(16), version=4)),
            user_id=user.user_id,
            kind=kind,
            sealed_secret=ctx.vault.seal(params.secret),
            digits=params.digits,
            algorithm=params.algorithm,
            period=params.period,
            expires_at=ctx.clock() + settings.enrolment_ttl,
        )
        await ctx.store.otp_enrolments.insert(enrolment.enrolment_id, enrolment)
        uri = build_otpauth_uri(params)
        return OtpOffer(
            enrolment_id=enrolment.enrolment_id,
            uri=uri,
            qr_svg=qr_svg(uri),
            expires_at=enrolment.expires_at,
        )

    async def confirm(self, enrolment_id: str, code: object) -> tuple[Device, tuple[str, ...]]:
        """The first code proves the app holds the secret: the device is added."""
        ctx = self._ctx
        found = await ctx.store.otp_enrolments.get(enrolment_id)
        if found is None:
            raise not_found("OTP registration")
        enrolment = found.record
        keys = subjects(Guess.OTP, user_id=enrolment.user_id, client_ip=None)
        await self._throttler.guard(keys)
        params = self._parameters(enrolment.kind, enrolment.sealed_secret, enrolment)
        try:
            factor = self._match(params, code, last_step=None, next_counter=0)
        except (CodeMismatch, CodeReplayed):
            await self._throttler.failed(keys, user_id=enrolment.user_id)
            raise invalid_code() from None
        if not await ctx.store.otp_enrolments.delete(enrolment_id, version=found.version):
            raise not_found("OTP registration")  # confirmed by a concurrent request
        now = ctx.clock()
        device_id = str(uuid.UUID(bytes=ctx.rng(16), version=4))
        name = (
            "Authenticator app (HOTP)" if enrolment.kind is OathKind.HOTP else "Authenticator app"
        )
        oath = OathDevice(
            device_id=device_id,
            kind=enrolment.kind,
            sealed_secret=enrolment.sealed_secret,
            digits=enrolment.digits,
            algorithm=enrolment.algorithm,
            period=enrolment.period,
            next_counter=factor + 1 if enrolment.kind is OathKind.HOTP else 0,
            last_step=factor if enrolment.kind is OathKind.TOTP else None,
        )
        device = Device(device_id=device_id, kind=DeviceKind.OATH, name=name, created_at=now)

        def with_device(user: UserRecord) -> UserRecord:
            profile = add_device(user.profile, device, now=now)
            return replace(user, profile=profile, oath=(*user.oath, oath))

        mutated = await ctx.store.users.mutate(enrolment.user_id, with_device)
        if mutated is None:
            raise not_found("user")
        codes = await self._codes.issue(enrolment.user_id, device_id) or ()
        await self._audit.record(
            "registration",
            user_id=enrolment.user_id,
            username=mutated.record.account.username,
            method="otp",
            outcome="confirmed",
            detail=device_id,
        )
        return device, codes

    async def verify(self, username: str, code: object, *, client_ip: str | None) -> Device:
        ctx = self._ctx
        found = await require_user(ctx, username)
        user = found.record
        if not user.oath:
            raise conflict("no_otp_device", "this user has no one-time password device")
        keys = subjects(Guess.OTP, user_id=user.user_id, client_ip=client_ip)
        failing = await self._throttler.guard(keys)
        now = ctx.clock()
        device_id = user.oath[0].device_id

        def accepted(current: UserRecord) -> UserRecord:
            oath = next(d for d in current.oath if d.device_id == device_id)
            params = self._parameters(oath.kind, oath.sealed_secret, oath)
            factor = self._match(
                params, code, last_step=oath.last_step, next_counter=oath.next_counter
            )
            moved = (
                replace(oath, last_step=factor)
                if oath.kind is OathKind.TOTP
                else replace(oath, next_counter=factor + 1)
            )
            return replace(
                current,
                profile=touch_device(current.profile, device_id, now=now),
                oath=tuple(moved if d.device_id == device_id else d for d in current.oath),
            )

        try:
            mutated = await ctx.store.users.mutate(user.user_id, accepted, current=found)
        except (CodeMismatch, CodeReplayed):
            await self._throttler.failed(keys, user_id=user.user_id, username=username)
            await self._login_event(user, "failure", client_ip)
            raise invalid_code() from None
        if mutated is None:
            raise ApiError(404, "user_not_found", "no such user")
        await self._throttler.succeeded(keys, failing=failing)
        await self._login_event(user, "success", client_ip)
        return mutated.record.profile.device(device_id)

    def _match(
        self, params: OathParameters, code: object, *, last_step: int | None, next_counter: int
    ) -> int:
        text = code.strip().replace(" ", "") if isinstance(code, str) else ""
        settings = self._ctx.settings
        if params.kind is OathKind.TOTP:
            return verify_totp(
                params,
                text,
                now=self._ctx.clock(),
                window=settings.otp_window,
                last_accepted_step=last_step,
            )
        return verify_hotp(
            params, text, next_counter=next_counter, look_ahead=settings.hotp_look_ahead
        )

    def _parameters(
        self, kind: OathKind, sealed: bytes, shape: OtpEnrolment | OathDevice
    ) -> OathParameters:
        return OathParameters(
            kind=kind,
            secret=self._ctx.vault.open(sealed),
            account="",
            digits=shape.digits,
            algorithm=shape.algorithm,
            period=shape.period,
        )

    async def _login_event(self, user: UserRecord, outcome: str, client_ip: str | None) -> None:
        await self._audit.record(
            "login",
            user_id=user.user_id,
            username=user.account.username,
            method="otp",
            outcome=outcome,
            client_ip=client_ip or "",
        )
