"""Recovery codes: ten per confirmed registration, any set works at login, one use each."""

from __future__ import annotations

import uuid
from dataclasses import replace

from mfa_core.errors import CodeMismatch, CodeReplayed
from mfa_core.recovery import (
    RecoveryCodeSet,
    generate_recovery_codes,
    hash_recovery_codes,
    redeem_recovery_code,
)
from pushd.errors import ApiError
from pushd.services.audit import Audit
from pushd.services.context import Context
from pushd.services.throttle import Guess, Throttler, subjects
from pushd.store.records import UserRecord

REGENERATED = "regenerated:"


def invalid_code() -> ApiError:
    return ApiError(401, "invalid_code", "that code is not valid")


class RecoveryCodes:
    def __init__(self, ctx: Context, audit: Audit, throttler: Throttler) -> None:
        self._ctx = ctx
        self._audit = audit
        self._throttler = throttler

    def new_set(self, owner: str) -> tuple[tuple[str, ...], RecoveryCodeSet]:
        ctx = self._ctx
        codes = generate_recovery_codes(ctx.rng)
        hashed = hash_recovery_codes(
            codes, owner=owner, key=ctx.hash_key, rng=ctx.rng, now=ctx.clock()
        )
        return codes, hashed

    async def issue(self, user_id: str, owner: str) -> tuple[str, ...] | None:
        """Ten new codes for ``owner`` (a device), replacing its old set; None if no user."""
        codes, code_set = self.new_set(owner)

        def with_set(user: UserRecord) -> UserRecord:
            kept = tuple(s for s in user.recovery if s.owner != owner)
            # A new device answers the prompt to review MFA after a recovery.
            account = replace(user.account, mfa_review_due=False)
            return replace(user, recovery=(*kept, code_set), account=account)

        mutated = await self._ctx.store.users.mutate(user_id, with_set)
        return codes if mutated is not None else None

    async def regenerate(self, user: UserRecord) -> tuple[str, ...]:
        """One new set of ten replaces all of the user's codes (the caller checked re-auth)."""
        codes, code_set = self.new_set(f"{REGENERATED}{uuid.uuid4()}")
        mutated = await self._ctx.store.users.mutate(
            user.user_id, lambda u: replace(u, recovery=(code_set,))
        )
        if mutated is None:
            raise ApiError(404, "user_not_found", "no such user")
        await self._audit.record(
            "recovery_codes_regenerated", user_id=user.user_id, username=user.account.username
        )
        return codes

    async def redeem(self, user: UserRecord, code: object, *, client_ip: str | None) -> int:
        """Consume one code (exactly once, however many try at the same time); returns how
        many remain. Throttled like one-time codes; a lockout answers before any check."""
        keys = subjects(Guess.RECOVERY_CODE, user_id=user.user_id, client_ip=client_ip)
        await self._throttler.guard(keys)
        given = code if isinstance(code, str) else ""

        def consumed(current: UserRecord) -> UserRecord:
            match = redeem_recovery_code(current.recovery, given, key=self._ctx.hash_key)
            sets = tuple(match.updated if s.owner == match.owner else s for s in current.recovery)
            account = replace(current.account, mfa_review_due=True)  # prompt: reset your device
            return replace(current, recovery=sets, account=account)

        try:
            mutated = await self._ctx.store.users.mutate(user.user_id, consumed)
        except (CodeMismatch, CodeReplayed):
            await self._throttler.failed(keys, user_id=user.user_id, username=user.account.username)
            await self._audit.record(
                "login",
                user_id=user.user_id,
                username=user.account.username,
                method="recovery_code",
                outcome="failure",
                client_ip=client_ip or "",
            )
            raise invalid_code() from None
        if mutated is None:
            raise invalid_code()
        await self._throttler.succeeded(keys)
        remaining = mutated.record.recovery_codes_remaining
        await self._audit.record(
            "login",
            user_id=user.user_id,
            username=user.account.username,
            method="recovery_code",
            outcome="success",
            client_ip=client_ip or "",
            detail=f"{remaining} left",
        )
        return remaining
