"""WebAuthn: security keys and passkeys, many per user, through py_webauthn (mfa_core)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace

from mfa_core.errors import DuplicateDevice, PossibleClonedAuthenticator, WebAuthnRejected
from mfa_core.profile import (
    Device,
    DeviceKind,
    add_device,
    check_can_add,
    clean_device_name,
    touch_device,
)
from mfa_core.webauthn import (
    RelyingParty,
    authentication_options,
    registration_options,
    verify_authentication,
    verify_registration,
)
from pushd.errors import ApiError, conflict, not_found
from pushd.services.audit import Audit
from pushd.services.context import Context
from pushd.services.recovery_codes import RecoveryCodes
from pushd.services.users import find_or_create_user, require_user
from pushd.store.records import Ceremony, UserRecord, WebAuthnDevice

REGISTRATION, AUTHENTICATION = "registration", "authentication"


@dataclass(frozen=True, slots=True, kw_only=True)
class CeremonyStart:
    ceremony_id: str
    options: dict[str, object]
    expires_at: float


class WebAuthn:
    def __init__(self, ctx: Context, audit: Audit, codes: RecoveryCodes) -> None:
        self._ctx = ctx
        self._audit = audit
        self._codes = codes
        settings = ctx.settings
        self.rp = RelyingParty(
            rp_id=settings.rp_id,
            name=settings.webauthn_rp_name or settings.issuer,
            origins=settings.origins,
        )

    async def start_registration(self, username: str, *, name: str | None) -> CeremonyStart:
        user = await self._with_handle((await find_or_create_user(self._ctx, username)).record)
        check_can_add(user.profile, DeviceKind.WEBAUTHN)
        challenge = self._ctx.rng(32)
        options = registration_options(
            rp=self.rp,
            user_handle=user.webauthn_handle,
            user_name=user.account.username,
            display_name=user.account.username,
            existing=[d.credential for d in user.webauthn],
            challenge=challenge,
        )
        label = clean_device_name(name) if name else "Security key"
        return await self._begin(user, REGISTRATION, challenge, options, name=label)

    async def complete_registration(
        self, ceremony_id: str, credential: Mapping[str, object], *, name: str | None
    ) -> tuple[Device, tuple[str, ...]]:
        ceremony = await self._take(ceremony_id, REGISTRATION)
        user = await self._user(ceremony.user_id)
        now = self._ctx.clock()
        label = clean_device_name(name) if name else ceremony.name
        try:
            verified = verify_registration(
                rp=self.rp,
                credential=credential,
                expected_challenge=ceremony.challenge,
                existing=[d.credential for d in user.webauthn],
                name=label,
                now=now,
            )
        except WebAuthnRejected as e:
            raise ApiError(400, "webauthn_rejected", e.detail) from e
        device = Device(
            device_id=str(uuid.UUID(bytes=self._ctx.rng(16), version=4)),
            kind=DeviceKind.WEBAUTHN,
            name=label,
            created_at=now,
        )

        def with_key(current: UserRecord) -> UserRecord:
            if any(d.credential.credential_id == verified.credential_id for d in current.webauthn):
                raise DuplicateDevice("this security key is already registered")
            return replace(
                current,
                profile=add_device(current.profile, device, now=now),
                webauthn=(
                    *current.webauthn,
                    WebAuthnDevice(device_id=device.device_id, credential=verified),
                ),
            )

        await self._ctx.store.users.mutate(user.user_id, with_key)
        codes = await self._codes.issue(user.user_id, device.device_id) or ()
        await self._audit.record(
            "registration",
            user_id=user.user_id,
            username=user.account.username,
            method="webauthn",
            outcome="confirmed",
            detail=device.device_id,
        )
        return device, codes

    async def start_authentication(self, username: str) -> CeremonyStart:
        user = (await require_user(self._ctx, username)).record
        if not user.webauthn:
            raise conflict("no_webauthn_device", "this user has no security key")
        challenge = self._ctx.rng(32)
        options = authentication_options(
            rp=self.rp, credentials=[d.credential for d in user.webauthn], challenge=challenge
        )
        return await self._begin(user, AUTHENTICATION, challenge, options)

    async def complete_authentication(
        self, ceremony_id: str, credential: Mapping[str, object], *, client_ip: str | None
    ) -> Device:
        ceremony = await self._take(ceremony_id, AUTHENTICATION)
        user = await self._user(ceremony.user_id)
        audit = {
            "user_id": user.user_id,
            "username": user.account.username,
            "method": "webauthn",
            "client_ip": client_ip or "",
        }
        try:
            login = verify_authentication(
                rp=self.rp,
                credential=credential,
                expected_challenge=ceremony.challenge,
                credentials=[d.credential for d in user.webauthn],
            )
        except PossibleClonedAuthenticator as e:
            await self._audit.record("possible_clone", outcome="refused", **audit)
            raise ApiError(401, "possible_clone", e.detail) from e
        except WebAuthnRejected as e:
            await self._audit.record("login", outcome="failure", **audit)
            raise ApiError(401, "webauthn_rejected", e.detail) from e
        used = next(
            d for d in user.webauthn if d.credential.credential_id == login.credential.credential_id
        )
        now = self._ctx.clock()

        def counted(current: UserRecord) -> UserRecord:
            stored = next(d for d in current.webauthn if d.device_id == used.device_id)
            if (
                login.credential.sign_count
                and login.credential.sign_count <= stored.credential.sign_count
            ):
                raise PossibleClonedAuthenticator("sign count moved backwards meanwhile")
            keys = tuple(
                replace(d, credential=replace(login.credential, name=d.credential.name))
                if d.device_id == used.device_id
                else d
                for d in current.webauthn
            )
            return replace(
                current,
                webauthn=keys,
                profile=touch_device(current.profile, used.device_id, now=now),
            )

        try:
            mutated = await self._ctx.store.users.mutate(user.user_id, counted)
        except PossibleClonedAuthenticator as e:
            await self._audit.record("possible_clone", outcome="refused", **audit)
            raise ApiError(401, "possible_clone", e.detail) from e
        if mutated is None:
            raise not_found("user")
        await self._audit.record("login", outcome="success", **audit)
        return mutated.record.profile.device(used.device_id)

    async def _begin(
        self,
        user: UserRecord,
        kind: str,
        challenge: bytes,
        options: dict[str, object],
        *,
        name: str = "",
    ) -> CeremonyStart:
        ceremony = Ceremony(
            ceremony_id=str(uuid.UUID(bytes=self._ctx.rng(16), version=4)),
            user_id=user.user_id,
            kind=kind,
            challenge=challenge,
            expires_at=self._ctx.clock() + self._ctx.settings.enrolment_ttl,
            name=name,
        )
        await self._ctx.store.ceremonies.insert(ceremony.ceremony_id, ceremony)
        return CeremonyStart(
            ceremony_id=ceremony.ceremony_id, options=options, expires_at=ceremony.expires_at
        )

    async def _take(self, ceremony_id: str, kind: str) -> Ceremony:
        """A ceremony is answered once: it is deleted before the answer is checked."""
        found = await self._ctx.store.ceremonies.get(ceremony_id)
        if found is None or found.record.kind != kind:
            raise not_found(f"WebAuthn {kind}")
        if not await self._ctx.store.ceremonies.delete(ceremony_id, version=found.version):
            raise not_found(f"WebAuthn {kind}")
        return found.record

    async def _user(self, user_id: str) -> UserRecord:
        found = await self._ctx.store.users.get(user_id)
        if found is None:
            raise not_found("user")
        return found.record

    async def _with_handle(self, user: UserRecord) -> UserRecord:
        if user.webauthn_handle:
            return user
        handle = self._ctx.rng(32)
        mutated = await self._ctx.store.users.mutate(
            user.user_id, lambda u: u if u.webauthn_handle else replace(u, webauthn_handle=handle)
        )
        return mutated.record if mutated else user
