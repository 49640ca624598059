"""Throttling of guesses: one-time codes, recovery codes, passwords.

Failures are counted per user and per client address, each on its own. After
``max_failures`` within ``window`` the subject is locked out for ``lockout`` seconds,
doubling with each lockout (up to ``cap``). Lockouts end by time and are visible to
operators. A locked-out attempt is refused *before* anything is checked, so it never
reveals whether the code or password was right.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from pushd.errors import ApiError
from pushd.services.audit import Audit
from pushd.services.context import Context
from pushd.settings import Settings
from pushd.store.records import Throttle


class Guess(enum.StrEnum):
    OTP = "otp"
    RECOVERY_CODE = "recovery_code"
    PASSWORD = "password"  # noqa: S105 - the kind of guess, not a password
    ALTERNATIVE = "alternative"  # the SMS + email codes of account recovery


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    max_failures: int
    window: float
    lockout: float
    cap: float

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottleLimits:
        return cls(
            max_failures=settings.throttle_max_failures,
            window=settings.throttle_window,
            lockout=settings.throttle_lockout,
            cap=settings.throttle_lockout_cap,
        )


def locked_for(throttle: Throttle, now: float) -> float:
    """Seconds left of a lockout, 0 when none."""
    return max(0.0, throttle.locked_until - now)


def with_failure(throttle: Throttle, *, now: float, limits: ThrottleLimits) -> Throttle:
    recent = (*(t for t in throttle.failures if t > now - limits.window), now)
    if len(recent) < limits.max_failures:
        return replace(throttle, failures=recent)
    duration = min(limits.cap, limits.lockout * 2**throttle.lockouts)
    return Throttle(
        failures=(),
        lockouts=throttle.lockouts + 1,
        locked_until=now + duration,
        last_lockout_at=now,
    )


def subjects(guess: Guess, *, user_id: str | None, client_ip: str | None) -> list[str]:
    keys = [f"{guess}:user:{user_id}"] if user_id else []
    if client_ip:
        keys.append(f"{guess}:ip:{client_ip}")
    return keys


def locked_out(retry_after: float) -> ApiError:
    seconds = max(1, int(retry_after + 0.999))
    return ApiError(
        429,
        "locked",
        "too many wrong attempts; try again later",
        headers={"Retry-After": str(seconds)},
        details={"retry_after": seconds},
    )


class Throttler:
    def __init__(self, ctx: Context, audit: Audit) -> None:
        self._ctx = ctx
        self._audit = audit
        self._limits = ThrottleLimits.from_settings(ctx.settings)

    async def guard(self, keys: Sequence[str]) -> frozenset[str]:
        """Refuse at once (429 locked) if any subject is locked out; else return the
        subjects with failures on record (for ``succeeded``). The reads go together."""
        now = self._ctx.clock()
        found = await self._ctx.store.throttles.get_many(keys)
        for current in found:
            if current is not None and (left := locked_for(current.record, now)) > 0:
                raise locked_out(left)
        return frozenset(
            key
            for key, current in zip(keys, found, strict=True)
            if current is not None and current.record.failures
        )

    async def failed(self, keys: Sequence[str], *, user_id: str = "", username: str = "") -> None:
        now = self._ctx.clock()
        for key in keys:
            mutated = await self._ctx.store.throttles.upsert(
                key, lambda t: with_failure(t, now=now, limits=self._limits), new=Throttle()
            )
            if mutated.record.last_lockout_at == now:
                guess, subject, _ = key.split(":", 2)
                seconds = mutated.record.locked_until - now
                await self._audit.record(
                    "lockout",
                    user_id=user_id,
                    username=username,
                    method=guess,
                    detail=f"{subject} locked for {seconds:.0f}s",
                )

    async def succeeded(
        self, keys: Sequence[str], *, failing: Collection[str] | None = None
    ) -> None:
        """A right answer forgives the user's recent failures (not a lockout's history).

        ``failing``, what ``guard`` returned: only those are forgiven (a subject with
        none costs no read; a wrong guess racing this right one is not forgiven).
        """
        for key in keys:
            if ":user:" in key and (failing is None or key in failing):
                await self._ctx.store.throttles.mutate(
                    key, lambda t: replace(t, failures=()) if t.failures else t
                )

    async def lockouts(self) -> list[tuple[str, Throttle]]:
        now = self._ctx.clock()
        rows = await self._ctx.store.engine.scan(self._ctx.store.throttles.name)
        found = []
        for key, _ in rows:
            current = await self._ctx.store.throttles.get(key)
            if current is not None and locked_for(current.record, now) > 0:
                found.append((key, current.record))
        return found

    async def unlock(self, user_id: str) -> int:
        """An operator lifts every lockout of a user; returns how many there were."""
        lifted = 0
        for guess in Guess:
            key = f"{guess}:user:{user_id}"
            lifted += await self._ctx.store.throttles.delete(key)
        return lifted
