"""The push transaction: a login challenge or a device registration, as a state machine.

Moves are a table keyed by (state, event); anything not in the table raises
:class:`IllegalTransition`. Time is handed in: the transaction reports its
``deadline()`` and ``on_timeout(now)`` turns a pending one into ``expired``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace

from mfa_core.errors import IllegalTransition, InvalidParameter


class Flow(enum.StrEnum):
    CHALLENGE = "challenge"  # a login: pending -> approved / denied / ...
    REGISTRATION = "registration"  # a QR scan: pending -> registered -> confirmed / ...


class PushState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"  # the push service accepted the notification
    REGISTERED = "registered"  # the phone replied to the QR code; test notification next
    APPROVED = "approved"
    CONFIRMED = "confirmed"  # the phone accepted the registration's test notification
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    DELIVERY_FAILED = "delivery_failed"


class PushEvent(enum.StrEnum):
    DEVICE_REGISTERED = "device_registered"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    APPROVE = "approve"
    DENY = "deny"
    WRONG_NUMBER = "wrong_number"
    CANCEL = "cancel"
    EXPIRE = "expire"


class Reason(enum.StrEnum):
    """Why a transaction ended other than by approval."""

    DENIED_BY_USER = "denied_by_user"
    WRONG_NUMBER = "wrong_number"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset(
    {
        PushState.APPROVED,
        PushState.CONFIRMED,
        PushState.DENIED,
        PushState.EXPIRED,
        PushState.CANCELLED,
        PushState.DELIVERY_FAILED,
    }
)

S, E = PushState, PushEvent
_LIVE_CHALLENGE = (S.PENDING, S.DELIVERED)
CHALLENGE_TRANSITIONS: Mapping[tuple[PushState, PushEvent], PushState] = {
    (S.PENDING, E.DELIVERED): S.DELIVERED,
    (S.PENDING, E.DELIVERY_FAILED): S.DELIVERY_FAILED,
    **{(s, E.APPROVE): S.APPROVED for s in _LIVE_CHALLENGE},
    **{(s, E.DENY): S.DENIED for s in _LIVE_CHALLENGE},
    **{(s, E.WRONG_NUMBER): S.DENIED for s in _LIVE_CHALLENGE},
    **{(s, E.CANCEL): S.CANCELLED for s in _LIVE_CHALLENGE},
    **{(s, E.EXPIRE): S.EXPIRED for s in _LIVE_CHALLENGE},
}
_LIVE_REGISTRATION = (S.PENDING, S.REGISTERED)
REGISTRATION_TRANSITIONS: Mapping[tuple[PushState, PushEvent], PushState] = {
    (S.PENDING, E.DEVICE_REGISTERED): S.REGISTERED,
    (S.REGISTERED, E.DELIVERY_FAILED): S.DELIVERY_FAILED,
    (S.REGISTERED, E.APPROVE): S.CONFIRMED,
    (S.REGISTERED, E.DENY): S.DENIED,
    (S.REGISTERED, E.WRONG_NUMBER): S.DENIED,
    **{(s, E.CANCEL): S.CANCELLED for s in _LIVE_REGISTRATION},
    **{(s, E.EXPIRE): S.EXPIRED for s in _LIVE_REGISTRATION},
}
TRANSITIONS: Mapping[Flow, Mapping[tuple[PushState, PushEvent], PushState]] = {
    Flow.CHALLENGE: CHALLENGE_TRANSITIONS,
    Flow.REGISTRATION: REGISTRATION_TRANSITIONS,
}
_EVENT_REASONS: Mapping[PushEvent, Reason] = {
    E.DENY: Reason.DENIED_BY_USER,
    E.WRONG_NUMBER: Reason.WRONG_NUMBER,
    E.EXPIRE: Reason.TIMEOUT,
    E.CANCEL: Reason.CANCELLED,
}
del S, E


@dataclass(frozen=True, slots=True, kw_only=True)
class PushTransaction:
    flow: Flow
    state: PushState
    created_at: float
    expires_at: float
    reason: str | None = None
    decided_at: float | None = None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def deadline(self) -> float | None:
        """When this transaction expires unless decided first; ``None`` once final."""
        return None if self.is_final else self.expires_at

    def on_timeout(self, now: float) -> PushTransaction:
        """Expire the transaction if its deadline has passed; otherwise it is unchanged."""
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return self
        return self._move(PushEvent.EXPIRE, now, None)

    def apply(self, event: PushEvent, now: float, *, reason: str | None = None) -> PushTransaction:
        """The transaction after ``event``; a live one past its deadline takes only EXPIRE."""
        if event is not PushEvent.EXPIRE and not self.is_final and now >= self.expires_at:
            raise IllegalTransition(f"{self.flow} expired before {event}", reason="expired")
        return self._move(event, now, reason)

    def _move(self, event: PushEvent, now: float, reason: str | None) -> PushTransaction:
        target = TRANSITIONS[self.flow].get((self.state, event))
        if target is None:
            raise IllegalTransition(f"{self.flow} cannot take {event} when {self.state}")
        final = target in FINAL_STATES
        default_reason = _EVENT_REASONS.get(event)
        return replace(
            self,
            state=target,
            reason=reason or (str(default_reason) if default_reason else None),
            decided_at=now if final else None,
        )


def new_transaction(flow: Flow, *, now: float, ttl_seconds: float) -> PushTransaction:
    if ttl_seconds <= 0:
        raise InvalidParameter("time to live must be positive")
    return PushTransaction(
        flow=flow, state=PushState.PENDING, created_at=now, expires_at=now + ttl_seconds
    )
