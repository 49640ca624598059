"""Push-fatigue rules over a user's :class:`PushGuard` (pure: the service persists).

- one pending challenge at a time;
- at most N challenges per window;
- after a denial, a wait that doubles with each denial in a row;
- every denial or wrong number is a fraud signal; after N, push is suspended
  until an operator lifts it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from pushd.settings import Settings
from pushd.store.records import PushGuard


class Refusal(enum.StrEnum):
    SUSPENDED = "push_suspended"
    PENDING = "challenge_pending"
    BACKOFF = "denial_backoff"
    RATE = "rate_limited"


class PushRefused(Exception):
    def __init__(self, refusal: Refusal, *, retry_after: float = 0.0, active: str = "") -> None:
        super().__init__(refusal)
        self.refusal = refusal
        self.retry_after = retry_after
        self.active = active


class Settlement(enum.StrEnum):
    APPROVED = "approved"
    DENIED = "denied"
    WRONG_NUMBER = "wrong_number"
    OTHER = "other"  # expired, cancelled, undeliverable: no signal either way


@dataclass(frozen=True, slots=True)
class Limits:
    rate_limit: int
    rate_window: float
    denial_backoff: float
    suspend_after: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            rate_limit=settings.push_rate_limit,
            rate_window=settings.push_rate_window,
            denial_backoff=settings.push_denial_backoff,
            suspend_after=settings.push_suspend_after,
        )


def admit(
    guard: PushGuard, *, challenge_id: str, expires_at: float, now: float, limits: Limits
) -> PushGuard:
    """The guard with ``challenge_id`` pending, or :class:`PushRefused`."""
    if guard.suspended_at is not None:
        raise PushRefused(Refusal.SUSPENDED)
    if guard.active_challenge_id is not None and guard.active_until > now:
        raise PushRefused(
            Refusal.PENDING, retry_after=guard.active_until - now, active=guard.active_challenge_id
        )
    if guard.denials_in_a_row and guard.last_denial_at is not None and limits.denial_backoff > 0:
        wait = limits.denial_backoff * 2 ** (guard.denials_in_a_row - 1)
        if now < guard.last_denial_at + wait:
            raise PushRefused(Refusal.BACKOFF, retry_after=guard.last_denial_at + wait - now)
    recent = tuple(t for t in guard.recent if t > now - limits.rate_window)
    if limits.rate_limit and len(recent) >= limits.rate_limit:
        raise PushRefused(Refusal.RATE, retry_after=recent[0] + limits.rate_window - now)
    return replace(
        guard, active_challenge_id=challenge_id, active_until=expires_at, recent=(*recent, now)
    )


def settle(
    guard: PushGuard, *, challenge_id: str, settlement: Settlement, now: float, limits: Limits
) -> PushGuard:
    """The guard after ``challenge_id`` ended; the same object when there is nothing to record.

    The pending pointer is not cleared for its own sake: the service sees that the
    challenge it names has ended when the next one is asked for, which saves a write
    per decision.
    """
    updated = guard
    if settlement is Settlement.APPROVED and guard.denials_in_a_row:
        updated = replace(updated, denials_in_a_row=0)
    if settlement in (Settlement.DENIED, Settlement.WRONG_NUMBER):
        signals = guard.fraud_signals + 1
        suspend = limits.suspend_after and signals >= limits.suspend_after
        updated = replace(
            updated,
            active_challenge_id=None
            if guard.active_challenge_id == challenge_id
            else (guard.active_challenge_id),
            denials_in_a_row=guard.denials_in_a_row + 1,
            last_denial_at=now,
            fraud_signals=signals,
            suspended_at=now if suspend and guard.suspended_at is None else guard.suspended_at,
        )
    return updated


def lift_suspension(guard: PushGuard) -> PushGuard:
    """An operator's reset: push works again and the counters start afresh."""
    return replace(guard, suspended_at=None, fraud_signals=0, denials_in_a_row=0)
