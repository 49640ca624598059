"""The user's MFA profile and devices: what to ask next, skip, opt out, rename, remove."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from mfa_core import profile as rules
from mfa_core.account_recovery import contact_review_due
from mfa_core.profile import Device, MfaProfile, NextStep
from pushd.errors import ApiError
from pushd.services.audit import Audit
from pushd.services.context import Context
from pushd.services.reauth import Reauth
from pushd.services.users import require_user
from pushd.store.records import UserRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class MfaStatus:
    user: UserRecord
    next_step: NextStep
    push_suspended: bool
    contact_review_due: bool


class Mfa:
    def __init__(self, ctx: Context, audit: Audit, reauth: Reauth) -> None:
        self._ctx = ctx
        self._audit = audit
        self._reauth = reauth

    async def status(self, username: str) -> MfaStatus:
        user = (await require_user(self._ctx, username)).record
        guard = await self._ctx.store.push_guards.get(user.user_id)
        return MfaStatus(
            user=user,
            next_step=rules.next_step(
                user.profile, recovery_codes_remaining=user.recovery_codes_remaining
            ),
            push_suspended=guard is not None and guard.record.suspended_at is not None,
            contact_review_due=contact_review_due(
                user.account.contact_confirmed_at,
                now=self._ctx.clock(),
                every_days=self._ctx.settings.contact_review_days,
            ),
        )

    async def choose(self, username: str, choice: str) -> MfaStatus:
        """``skip``, ``opt_out`` or ``opt_in``, each recorded with its time."""
        moves = {"skip": rules.skip, "opt_out": rules.opt_out, "opt_in": rules.opt_in}
        user = await self._change_profile(username, lambda p: moves[choice](p, now=self._now()))
        await self._audit.record(
            f"mfa_{choice}", user_id=user.user_id, username=user.account.username
        )
        return await self.status(username)

    async def rename(self, username: str, device_id: str, name: object) -> Device:
        text = name if isinstance(name, str) else ""
        user = await self._change_profile(
            username, lambda p: rules.rename_device(p, device_id, text)
        )
        await self._audit.record(
            "device_renamed",
            user_id=user.user_id,
            username=user.account.username,
            detail=device_id,
        )
        return user.profile.device(device_id)

    async def remove(self, username: str, device_id: str, reauth_token: object) -> MfaStatus:
        """Remove a device and its recovery codes; needs a fresh password check."""
        current = await require_user(self._ctx, username)
        checked_at = await self._reauth.checked_at(current.record, reauth_token)
        now = self._now()

        def without(user: UserRecord) -> UserRecord:
            profile = rules.remove_device(
                user.profile, device_id, reauthenticated_at=checked_at, now=now
            )
            return replace(
                user,
                profile=profile,
                push=tuple(d for d in user.push if d.device_id != device_id),
                oath=tuple(d for d in user.oath if d.device_id != device_id),
                webauthn=tuple(d for d in user.webauthn if d.device_id != device_id),
                recovery=tuple(s for s in user.recovery if s.owner != device_id),
            )

        removed = current.record.profile.device(device_id)
        mutated = await self._ctx.store.users.mutate(current.record.user_id, without)
        if mutated is None:
            raise ApiError(404, "user_not_found", "no such user")
        await self._audit.record(
            "device_removed",
            user_id=current.record.user_id,
            username=username,
            method=str(removed.kind),
            detail=device_id,
        )
        return await self.status(username)

    async def _change_profile(
        self, username: str, change: Callable[[MfaProfile], MfaProfile]
    ) -> UserRecord:
        current = await require_user(self._ctx, username)
        mutated = await self._ctx.store.users.mutate(
            current.record.user_id, lambda user: replace(user, profile=change(user.profile))
        )
        if mutated is None:
            raise ApiError(404, "user_not_found", "no such user")
        return mutated.record

    def _now(self) -> float:
        return self._ctx.clock()
