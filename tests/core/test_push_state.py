from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mfa_core.errors import IllegalTransition, InvalidParameter
from mfa_core.push_state import (
    FINAL_STATES,
    TRANSITIONS,
    Flow,
    PushEvent,
    PushState,
    PushTransaction,
    new_transaction,
)

NOW = 1000.0
S, E = PushState, PushEvent


def at(flow: Flow, state: PushState) -> PushTransaction:
    return PushTransaction(flow=flow, state=state, created_at=NOW, expires_at=NOW + 120)


# The whole table, written out: (flow, state, event) -> (new state, reason).
EXPECTED = {
    (Flow.CHALLENGE, S.PENDING, E.DELIVERED): (S.DELIVERED, None),
    (Flow.CHALLENGE, S.PENDING, E.DELIVERY_FAILED): (S.DELIVERY_FAILED, None),
    (Flow.CHALLENGE, S.PENDING, E.APPROVE): (S.APPROVED, None),
    (Flow.CHALLENGE, S.DELIVERED, E.APPROVE): (S.APPROVED, None),
    (Flow.CHALLENGE, S.PENDING, E.DENY): (S.DENIED, "denied_by_user"),
    (Flow.CHALLENGE, S.DELIVERED, E.DENY): (S.DENIED, "denied_by_user"),
    (Flow.CHALLENGE, S.PENDING, E.WRONG_NUMBER): (S.DENIED, "wrong_number"),
    (Flow.CHALLENGE, S.DELIVERED, E.WRONG_NUMBER): (S.DENIED, "wrong_number"),
    (Flow.CHALLENGE, S.PENDING, E.CANCEL): (S.CANCELLED, "cancelled"),
    (Flow.CHALLENGE, S.DELIVERED, E.CANCEL): (S.CANCELLED, "cancelled"),
    (Flow.CHALLENGE, S.PENDING, E.EXPIRE): (S.EXPIRED, "timeout"),
    (Flow.CHALLENGE, S.DELIVERED, E.EXPIRE): (S.EXPIRED, "timeout"),
    (Flow.REGISTRATION, S.PENDING, E.DEVICE_REGISTERED): (S.REGISTERED, None),
    (Flow.REGISTRATION, S.REGISTERED, E.DELIVERY_FAILED): (S.DELIVERY_FAILED, None),
    (Flow.REGISTRATION, S.REGISTERED, E.APPROVE): (S.CONFIRMED, None),
    (Flow.REGISTRATION, S.REGISTERED, E.DENY): (S.DENIED, "denied_by_user"),
    (Flow.REGISTRATION, S.REGISTERED, E.WRONG_NUMBER): (S.DENIED, "wrong_number"),
    (Flow.REGISTRATION, S.PENDING, E.CANCEL): (S.CANCELLED, "cancelled"),
    (Flow.REGISTRATION, S.REGISTERED, E.CANCEL): (S.CANCELLED, "cancelled"),
    (Flow.REGISTRATION, S.PENDING, E.EXPIRE): (S.EXPIRED, "timeout"),
    (Flow.REGISTRATION, S.REGISTERED, E.EXPIRE): (S.EXPIRED, "timeout"),
}


def test_table_is_exactly_the_expected_one() -> None:
    actual = {
        (flow, state, event): target
        for flow, table in TRANSITIONS.items()
        for (state, event), target in table.items()
    }
    assert actual == {key: target for key, (target, _) in EXPECTED.items()}


@pytest.mark.parametrize(
    ("flow", "state", "event"), list(itertools.product(Flow, PushState, PushEvent))
)
def test_every_state_event_pair(flow: Flow, state: PushState, event: PushEvent) -> None:
    txn = at(flow, state)
    expected = EXPECTED.get((flow, state, event))
    if expected is None:
        with pytest.raises(IllegalTransition):
            txn.apply(event, NOW + 1)
        return
    target, reason = expected
    moved = txn.apply(event, NOW + 1)
    assert moved.state is target
    assert moved.reason == reason
    assert moved.decided_at == (NOW + 1 if target in FINAL_STATES else None)
    assert moved.is_final == (target in FINAL_STATES)


@given(
    flow=st.sampled_from(Flow),
    events=st.lists(st.sampled_from(PushEvent), max_size=8),
    times=st.lists(st.floats(min_value=0, max_value=300), min_size=8, max_size=8),
)
def test_random_walks_never_leave_a_final_state(
    flow: Flow, events: list[PushEvent], times: list[float]
) -> None:
    txn = new_transaction(flow, now=NOW, ttl_seconds=120)
    for event, offset in zip(events, sorted(times), strict=False):
        now = NOW + offset
        before = txn
        try:
            txn = txn.apply(event, now)
        except IllegalTransition:
            assert txn is before
            continue
        assert not before.is_final
        if now >= before.expires_at:
            assert txn.state is PushState.EXPIRED


def test_deadline_and_timeout() -> None:
    txn = new_transaction(Flow.CHALLENGE, now=NOW, ttl_seconds=120)
    assert txn.deadline() == NOW + 120
    assert txn.on_timeout(NOW + 119.9) is txn
    expired = txn.on_timeout(NOW + 120)
    assert (expired.state, expired.reason, expired.deadline()) == (S.EXPIRED, "timeout", None)
    assert expired.on_timeout(NOW + 500) is expired


def test_late_events_are_refused_as_expired() -> None:
    txn = new_transaction(Flow.CHALLENGE, now=NOW, ttl_seconds=120)
    with pytest.raises(IllegalTransition) as caught:
        txn.apply(PushEvent.APPROVE, NOW + 120)
    assert caught.value.reason == "expired"
    assert txn.apply(PushEvent.EXPIRE, NOW + 121).state is S.EXPIRED


def test_a_final_transaction_refuses_everything() -> None:
    done = at(Flow.CHALLENGE, S.APPROVED)
    with pytest.raises(IllegalTransition) as caught:
        done.apply(PushEvent.APPROVE, NOW + 500)
    assert caught.value.reason == "illegal_transition"


def test_delivery_failure_reason_is_kept() -> None:
    txn = new_transaction(Flow.CHALLENGE, now=NOW, ttl_seconds=120)
    failed = txn.apply(PushEvent.DELIVERY_FAILED, NOW + 1, reason="unregistered")
    assert (failed.state, failed.reason) == (S.DELIVERY_FAILED, "unregistered")


def test_ttl_must_be_positive() -> None:
    with pytest.raises(InvalidParameter):
        new_transaction(Flow.CHALLENGE, now=NOW, ttl_seconds=0)
