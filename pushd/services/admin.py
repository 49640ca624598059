"""What operators do through the admin API (admin keys only) and the CLI."""

from __future__ import annotations

from dataclasses import replace

from mfa_core.profile import reset
from pushd.services.audit import Audit
from pushd.services.context import Context
from pushd.services.fatigue import lift_suspension
from pushd.services.throttle import Throttler
from pushd.services.users import require_user, user_not_found
from pushd.store.records import AuditEvent, UserRecord


class Admin:
    def __init__(self, ctx: Context, audit: Audit, throttler: Throttler) -> None:
        self._ctx = ctx
        self._audit = audit
        self._throttler = throttler

    async def reset_mfa(self, username: str, *, actor: str) -> UserRecord:
        """The outcome of a manual recovery: every device and code goes; set-up next login."""
        user = (await require_user(self._ctx, username)).record
        now = self._ctx.clock()
        mutated = await self._ctx.store.users.mutate(
            user.user_id,
            lambda u: replace(
                u, profile=reset(now=now), push=(), oath=(), webauthn=(), recovery=()
            ),
        )
        if mutated is None:
            raise user_not_found()
        await self._audit.record(
            "admin", user_id=user.user_id, username=username, actor=actor, detail="mfa reset"
        )
        return mutated.record

    async def unlock(self, username: str, *, actor: str) -> int:
        """Lift lockouts and a push suspension; returns how many were lifted."""
        user = (await require_user(self._ctx, username)).record
        lifted = await self._throttler.unlock(user.user_id)
        guard = await self._ctx.store.push_guards.mutate(user.user_id, lift_suspension)
        if guard is not None and guard.changed:
            lifted += 1
        await self._audit.record(
            "admin",
            user_id=user.user_id,
            username=username,
            actor=actor,
            detail=f"unlock ({lifted} lifted)",
        )
        return lifted

    async def audit(
        self, username: str | None, *, since: float, until: float, limit: int
    ) -> list[AuditEvent]:
        user_id = (await require_user(self._ctx, username)).record.user_id if username else None
        return await self._audit.query(user_id=user_id, since=since, until=until, limit=limit)
