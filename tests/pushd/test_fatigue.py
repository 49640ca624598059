"""The push-fatigue rules, driven by ``now`` (no clocks, no sleeps)."""

from __future__ import annotations

import pytest

from pushd.services.fatigue import (
    Limits,
    PushRefused,
    Refusal,
    Settlement,
    admit,
    lift_suspension,
    settle,
)
from pushd.store.records import PushGuard

LIMITS = Limits(rate_limit=3, rate_window=60.0, denial_backoff=30.0, suspend_after=3)
T = 1000.0


def refused(guard: PushGuard, now: float, limits: Limits = LIMITS) -> PushRefused:
    with pytest.raises(PushRefused) as caught:
        admit(guard, challenge_id="new", expires_at=now + 120, now=now, limits=limits)
    return caught.value


def test_one_pending_at_a_time() -> None:
    guard = admit(PushGuard(), challenge_id="c1", expires_at=T + 120, now=T, limits=LIMITS)
    assert (guard.active_challenge_id, guard.recent) == ("c1", (T,))
    refusal = refused(guard, T + 10)
    assert (refusal.refusal, refusal.active, refusal.retry_after) == (Refusal.PENDING, "c1", 110)
    # Its end is noticed lazily (the service reads the challenge it names); its deadline
    # frees the next one in any case.
    done = settle(guard, challenge_id="c1", settlement=Settlement.OTHER, now=T + 11, limits=LIMITS)
    assert done is guard
    admit(guard, challenge_id="c2", expires_at=T + 300, now=T + 121, limits=LIMITS)
    denied = settle(guard, challenge_id="c1", settlement=Settlement.DENIED, now=T, limits=LIMITS)
    assert denied.active_challenge_id is None


def test_rate_window() -> None:
    guard = PushGuard(recent=(T, T + 1, T + 2))
    refusal = refused(guard, T + 3)
    assert (refusal.refusal, refusal.retry_after) == (Refusal.RATE, 57)
    assert admit(guard, challenge_id="c", expires_at=0, now=T + 60.5, limits=LIMITS).recent == (
        T + 1,
        T + 2,
        T + 60.5,
    )
    no_limit = Limits(rate_limit=0, rate_window=60, denial_backoff=0, suspend_after=0)
    admit(PushGuard(recent=(T,) * 50), challenge_id="c", expires_at=0, now=T, limits=no_limit)


def test_backoff_doubles_with_each_denial_in_a_row() -> None:
    guard = PushGuard()
    for n, wait in ((1, 30), (2, 60)):
        guard = settle(guard, challenge_id="x", settlement=Settlement.DENIED, now=T, limits=LIMITS)
        assert guard.denials_in_a_row == n
        assert refused(guard, T + wait - 1).refusal is Refusal.BACKOFF
        admit(guard, challenge_id="c", expires_at=0, now=T + wait, limits=LIMITS)
    approved = settle(guard, challenge_id="x", settlement=Settlement.APPROVED, now=T, limits=LIMITS)
    assert approved.denials_in_a_row == 0
    assert approved.fraud_signals == 2  # approvals do not erase fraud signals


def test_fraud_signals_suspend_after_n() -> None:
    guard = PushGuard()
    for settlement in (Settlement.DENIED, Settlement.WRONG_NUMBER, Settlement.DENIED):
        guard = settle(guard, challenge_id="x", settlement=settlement, now=T, limits=LIMITS)
    assert (guard.fraud_signals, guard.suspended_at) == (3, T)
    assert refused(guard, T + 10_000).refusal is Refusal.SUSPENDED
    later = settle(guard, challenge_id="x", settlement=Settlement.DENIED, now=T + 5, limits=LIMITS)
    assert later.suspended_at == T  # the first suspension time is kept
    lifted = lift_suspension(later)
    assert (lifted.suspended_at, lifted.fraud_signals, lifted.denials_in_a_row) == (None, 0, 0)


def test_never_suspends_when_disabled() -> None:
    limits = Limits(rate_limit=0, rate_window=60, denial_backoff=0, suspend_after=0)
    guard = PushGuard()
    for _ in range(10):
        guard = settle(guard, challenge_id="x", settlement=Settlement.DENIED, now=T, limits=limits)
    assert guard.suspended_at is None
    admit(guard, challenge_id="c", expires_at=0, now=T, limits=limits)


def test_settle_is_a_no_op_when_nothing_changes() -> None:
    guard = PushGuard(active_challenge_id="other", active_until=T + 5)
    assert (
        settle(guard, challenge_id="x", settlement=Settlement.OTHER, now=T, limits=LIMITS) is guard
    )
    denied = settle(guard, challenge_id="x", settlement=Settlement.DENIED, now=T, limits=LIMITS)
    assert denied.active_challenge_id == "other"  # another challenge's pointer is kept
