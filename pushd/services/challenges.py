"""Login challenges: create, deliver, decide, expire, cancel, and the long-poll on them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from mfa_core.errors import IllegalTransition
from mfa_core.message_id import MessageKind, new_message_id, parse_message_id
from mfa_core.profile import touch_device
from mfa_core.push import (
    LoginContext,
    Notification,
    PushType,
    new_challenge,
    new_number_match,
    notification_claims,
    sign_jwt,
)
from mfa_core.push_state import Flow, PushEvent, PushState, PushTransaction, new_transaction
from pushd.delivery.base import TRANSPORT_LABELS, PushMessage, SendOutcome, SendResult
from pushd.errors import ApiError, conflict, not_found, rate_limited
from pushd.services.audit import Audit
from pushd.services.context import Context
from pushd.services.fatigue import Limits, PushRefused, Refusal, Settlement, admit, settle
from pushd.services.users import require_user
from pushd.store.engine import AlreadyExists, VersionConflict
from pushd.store.records import (
    ChallengeRecord,
    PushDevice,
    PushGuard,
    UserRecord,
)
from pushd.store.tables import Mutated, Versioned
from pushd.waiters import DRAIN, RESYNC, Change

log = logging.getLogger("pushd.challenges")
SENT_KEPT = 4096  # challenges remembered as created until their delivery's result
T = TypeVar("T")

FINAL_API_STATES = frozenset(
    {"approved", "denied", "expired", "cancelled", "delivery_failed", "confirmed"}
)


def api_state(state: PushState) -> str:
    """What the API shows: a delivered challenge is still pending for the login page."""
    return "pending" if state is PushState.DELIVERED else str(state)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChallengeRequest:
    push_type: PushType = PushType.DEFAULT
    message: str | None = None
    context: LoginContext | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChallengeView:
    challenge_id: str
    state: str
    reason: str | None
    number: int | None
    expires_at: float


class TestNotificationHook(Protocol):
    async def test_finished(self, challenge: ChallengeRecord) -> None: ...


class ChallengeService:
    def __init__(self, ctx: Context, audit: Audit) -> None:
        self._ctx = ctx
        self._audit = audit
        self._limits = Limits.from_settings(ctx.settings)
        self.registration_hook: TestNotificationHook | None = None
        self._sent: dict[str, Versioned[ChallengeRecord]] = {}  # created, delivery pending
        self._settling: set[asyncio.Future[Any]] = set()  # moves whose caller went away
        ctx.dispatcher.set_result_handler(self.on_send_result, is_live=self.is_live)

    # --- the login page's side ------------------------------------------------------

    async def create(self, username: str, request: ChallengeRequest) -> ChallengeView:
        ctx, settings = self._ctx, self._ctx.settings
        user = (await require_user(ctx, username)).record
        device = user.push_device()
        if device is None:
            raise conflict("no_push_device", "this user has no push device")
        if device.token_stale:
            raise conflict(
                "push_device_unreachable",
                "the push service no longer reaches this device: re-register it or use another"
                " method",
            )
        push_type = PushType.CHALLENGE if settings.require_number_matching else request.push_type
        now = ctx.clock()
        message_id = new_message_id(MessageKind.AUTHENTICATE, ctx.rng, now)
        challenge_id = parse_message_id(message_id).uuid
        await self._reserve(user.user_id, challenge_id, now + settings.challenge_ttl, now)
        record = self.build(
            challenge_id=challenge_id,
            message_id=message_id,
            user_id=user.user_id,
            username=user.account.username,
            device=device,
            push_type=push_type,
            message=request.message
            or f"Login attempt from {user.account.username} at {settings.issuer}",
            context=request.context,
            now=now,
            ttl=settings.challenge_ttl,
        )
        inserted = await ctx.store.challenges.insert(challenge_id, record)
        self._sent[challenge_id] = inserted
        while len(self._sent) > SENT_KEPT:
            del self._sent[next(iter(self._sent))]
        self.send(record, device)
        ctx.metrics.challenges_created.labels(str(push_type)).inc()
        return self.view(record)

    async def wait(self, challenge_id: str, wait: float) -> ChallengeView:
        """Answer at once if decided, else the moment it is decided or expires, or at ``wait``."""
        ctx = self._ctx
        loop = asyncio.get_running_loop()
        give_up = loop.time() + wait
        with ctx.hub.watch(challenge_id) as waiter:
            current = await ctx.store.challenges.get(challenge_id)
            if current is None or current.record.registration_id is not None:
                raise not_found("challenge")
            # Keep only the small view while waiting: thousands of waiters hold one each.
            view = self.view(current.record)
            del current
            while view.state not in FINAL_API_STATES:
                until_expiry = view.expires_at - ctx.clock()
                if until_expiry <= 0:
                    expired = await self.expire(challenge_id)
                    return self.view(expired) if expired is not None else view
                change = await waiter.next(min(give_up - loop.time(), until_expiry))
                if change is not None and change.state in (RESYNC, DRAIN):
                    view = await self._reread(challenge_id)
                    if change.state == DRAIN:
                        break  # pushd is stopping: the state as it is now
                    continue
                if change is not None and change.state in FINAL_API_STATES:
                    return replace(view, state=change.state, reason=change.reason, number=None)
                if change is None and loop.time() >= give_up:
                    break
            return view

    async def _reread(self, challenge_id: str) -> ChallengeView:
        """After a bus reconnect: a challenge that vanished meanwhile fails closed."""
        current = await self._ctx.store.challenges.get(challenge_id)
        if current is None:
            raise not_found("challenge")
        return self.view(current.record)

    async def cancel(self, challenge_id: str) -> ChallengeView:
        """The login page gave up on push (the user chose another method)."""
        mutated = await self._cancel(challenge_id, internal=False)
        if mutated is None:
            raise not_found("challenge")
        if mutated.record.txn.state is not PushState.CANCELLED or not mutated.changed:
            state = api_state(mutated.record.txn.state)
            raise conflict("already_final", f"the challenge is already {state}", state=state)
        return self.view(mutated.record)

    # --- decisions --------------------------------------------------------------------

    async def decide(
        self, current: Versioned[ChallengeRecord], event: PushEvent
    ) -> ChallengeRecord:
        """Apply the phone's verified answer exactly once.

        If the record moved since it was read (its delivery status landed meanwhile, on
        any instance), the answer is applied to the latest version; once the challenge
        is final, IllegalTransition (too late).
        """
        return await self._to_the_end(self._decide(current, event))

    async def _decide(
        self, current: Versioned[ChallengeRecord], event: PushEvent
    ) -> ChallengeRecord:
        now = self._ctx.clock()
        table, message_id = self._ctx.store.challenges, current.record.message_id

        def decided(record: ChallengeRecord) -> ChallengeRecord:
            if record.message_id != message_id:
                raise VersionConflict("the challenge was replaced")
            return replace(record, txn=record.txn.apply(event, now))

        try:
            record = decided(current.record)
            await table.update(record.challenge_id, current, record)
        except VersionConflict:
            mutated = await table.mutate(current.record.challenge_id, decided)
            if mutated is None:
                raise
            record = mutated.record
        await self.finished(record)
        return record

    async def abandon(self, challenge_id: str) -> None:
        """Cancel a registration's test notification (the registration was cancelled)."""
        await self._cancel(challenge_id, internal=True)

    async def _cancel(
        self, challenge_id: str, *, internal: bool
    ) -> Mutated[ChallengeRecord] | None:
        return await self._to_the_end(self._cancel_now(challenge_id, internal=internal))

    async def _cancel_now(
        self, challenge_id: str, *, internal: bool
    ) -> Mutated[ChallengeRecord] | None:
        now = self._ctx.clock()

        def cancelled(record: ChallengeRecord) -> ChallengeRecord:
            if not internal and record.registration_id is not None:
                raise not_found("challenge")
            txn = cancelled_txn(record.txn, now)
            return record if txn is record.txn else replace(record, txn=txn)

        mutated = await self._ctx.store.challenges.mutate(challenge_id, cancelled)
        if mutated is not None and mutated.changed:
            await self.finished(mutated.record)
        return mutated

    async def expire(self, challenge_id: str) -> ChallengeRecord | None:
        return await self._to_the_end(self._expire(challenge_id))

    async def _expire(self, challenge_id: str) -> ChallengeRecord | None:
        now = self._ctx.clock()

        def timed_out(record: ChallengeRecord) -> ChallengeRecord:
            txn = record.txn.on_timeout(now)
            return record if txn is record.txn else replace(record, txn=txn)

        mutated = await self._ctx.store.challenges.mutate(challenge_id, timed_out)
        if mutated is None:
            return None
        if mutated.changed:
            await self.finished(mutated.record)
        return mutated.record

    async def _to_the_end(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` to its end even if the caller is cancelled (a login page's long-poll
        or a phone that hangs up mid-request): a challenge's move and its effects (its
        waiters told, metrics, audit, the user's guard) happen together or not at all."""
        task = asyncio.ensure_future(work)
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)
        return await asyncio.shield(task)

    async def finished(self, record: ChallengeRecord) -> None:
        """A challenge reached a final state: wake its waiters, count it, settle the guard."""
        ctx, txn = self._ctx, record.txn
        state = api_state(txn.state)
        change = Change(record.challenge_id, state, txn.reason)
        if record.registration_id is not None:
            await ctx.bus.publish(change)
            if self.registration_hook is not None:
                await self.registration_hook.test_finished(record)
            return
        outcome = txn.reason if txn.reason == "wrong_number" else state
        ctx.metrics.challenges.labels(str(record.push_type), outcome).inc()
        if txn.state in (PushState.APPROVED, PushState.DENIED) and txn.decided_at is not None:
            ctx.metrics.decision_seconds.labels(str(record.push_type)).observe(
                txn.decided_at - txn.created_at
            )
        settlement = {
            "approved": Settlement.APPROVED,
            "wrong_number": Settlement.WRONG_NUMBER,
            "denied": Settlement.DENIED,
        }.get(outcome, Settlement.OTHER)
        who = {"user_id": record.user_id, "username": record.username, "method": "push"}
        # The waiters are told first; the rest are separate records, so their writes go
        # with it (one round trip to Redis). The audit events are issued in this order.
        login = "success" if settlement is Settlement.APPROVED else outcome
        steps: list[Coroutine[Any, Any, object]] = [
            ctx.bus.publish(change),
            self._audit.record("login", outcome=login, **who),
        ]
        if settlement is Settlement.APPROVED:
            steps.append(self._touch(record))
        if settlement in (Settlement.DENIED, Settlement.WRONG_NUMBER):
            ctx.metrics.fraud_signals.labels(str(settlement)).inc()
            steps.append(self._audit.record("fraud_signal", detail=str(settlement), **who))
        steps.append(self._settle_guard(record, settlement, who))
        await asyncio.gather(*steps)

    async def _settle_guard(
        self, record: ChallengeRecord, settlement: Settlement, who: dict[str, str]
    ) -> None:
        now = self._ctx.clock()
        guard = await self._ctx.store.push_guards.mutate(
            record.user_id,
            lambda guard: settle(
                guard,
                challenge_id=record.challenge_id,
                settlement=settlement,
                now=now,
                limits=self._limits,
            ),
        )
        if guard is not None and guard.changed and guard.record.suspended_at == now:
            await self._audit.record("push_suspended", detail="fraud signals", **who)

    async def _touch(self, record: ChallengeRecord) -> None:
        """The device was used: its "last used" moves on (after the waiters are answered)."""
        now = self._ctx.clock()

        def used(user: UserRecord) -> UserRecord:
            if not any(d.device_id == record.device_id for d in user.profile.devices):
                return user
            return replace(user, profile=touch_device(user.profile, record.device_id, now=now))

        await self._ctx.store.users.mutate(record.user_id, used)

    # --- building and sending ---------------------------------------------------------

    def build(
        self,
        *,
        challenge_id: str,
        message_id: str,
        user_id: str,
        username: str,
        device: PushDevice,
        push_type: PushType,
        message: str,
        context: LoginContext | None,
        now: float,
        ttl: float,
        registration_id: str | None = None,
    ) -> ChallengeRecord:
        ctx = self._ctx
        challenge = new_challenge(ctx.rng)
        number = new_number_match(ctx.rng) if push_type is PushType.CHALLENGE else None
        notification = Notification(
            mechanism_uid=device.mechanism_uid,
            challenge=challenge,
            load_balancer_cookie=ctx.settings.lb_cookie,
            ttl_seconds=max(1, int(ttl)),
            created_at_ms=int(now * 1000),
            message=message,
            push_type=push_type,
            numbers=number.choices if number else None,
            context_json=context.as_json() if context else None,
            username=username,
        )
        jwt = sign_jwt(notification_claims(notification), ctx.vault.open(device.sealed_secret))
        return ChallengeRecord(
            challenge_id=challenge_id,
            message_id=message_id,
            user_id=user_id,
            username=username,
            device_id=device.device_id,
            mechanism_uid=device.mechanism_uid,
            sealed_secret=device.sealed_secret,
            challenge=challenge,
            push_type=push_type,
            message=message,
            txn=new_transaction(Flow.CHALLENGE, now=now, ttl_seconds=ttl),
            number=number,
            context_json=notification.context_json,
            notification_jwt=jwt,
            registration_id=registration_id,
        )

    def send(self, record: ChallengeRecord, device: PushDevice) -> None:
        self._ctx.dispatcher.submit(
            PushMessage(
                key=record.challenge_id,
                message_id=record.message_id,
                jwt=record.notification_jwt,
                push_token=device.push_token,
                platform=device.transport,
                push_type=record.push_type,
                alert=record.message,
                expires_at=record.txn.expires_at,
            )
        )

    async def is_live(self, message: PushMessage) -> bool:
        """Whether a notification is still worth sending (for the dispatcher's retries)."""
        current = await self._ctx.store.challenges.get(message.key)
        return current is not None and not current.record.txn.on_timeout(self._ctx.clock()).is_final

    async def on_send_result(self, message: PushMessage, result: SendResult) -> None:
        now = self._ctx.clock()
        if result.outcome is SendOutcome.DELIVERED:
            event, reason = PushEvent.DELIVERED, None
        else:
            event, reason = PushEvent.DELIVERY_FAILED, result.reason or str(result.outcome)
            if result.outcome in (SendOutcome.UNREGISTERED, SendOutcome.BAD_TOKEN):
                await self._mark_stale(message)

        def moved(record: ChallengeRecord) -> ChallengeRecord:
            try:
                return replace(record, txn=record.txn.apply(event, now, reason=reason))
            except IllegalTransition:
                return record  # already answered, expired or cancelled: nothing to record

        # Usually the record is still as created: its delivery is then one write, no read.
        sent = self._sent.pop(message.key, None)
        mutated = await self._ctx.store.challenges.mutate(message.key, moved, current=sent)
        if mutated is not None and mutated.changed and mutated.record.txn.is_final:
            await self.finished(mutated.record)

    async def _mark_stale(self, message: PushMessage) -> None:
        ctx = self._ctx
        record = await ctx.store.challenges.get(message.key)
        if record is None or record.record.registration_id is not None:
            return  # a registration's device is not stored yet: its registration fails instead

        def stale(user: UserRecord) -> UserRecord:
            devices = tuple(
                replace(d, token_stale=True) if d.push_token == message.push_token else d
                for d in user.push
            )
            return user if devices == user.push else replace(user, push=devices)

        mutated = await ctx.store.users.mutate(record.record.user_id, stale)
        if mutated is not None and mutated.changed:
            ctx.metrics.stale_tokens.labels(TRANSPORT_LABELS[message.platform]).inc()

    # --- the guard ----------------------------------------------------------------------

    async def _reserve(
        self, user_id: str, challenge_id: str, expires_at: float, now: float
    ) -> None:
        guards = self._ctx.store.push_guards
        for _ in range(20):
            current = await guards.get(user_id)
            guard = await self._forget_finished(current.record if current else PushGuard(), now)
            try:
                updated = admit(
                    guard,
                    challenge_id=challenge_id,
                    expires_at=expires_at,
                    now=now,
                    limits=self._limits,
                )
            except PushRefused as refused:
                self._ctx.metrics.challenges_refused.labels(str(refused.refusal)).inc()
                raise _refusal_error(refused) from None
            try:
                if current is None:
                    await guards.insert(user_id, updated)
                else:
                    await guards.update(user_id, current, updated)
            except (VersionConflict, AlreadyExists):
                continue
            return
        raise ApiError(503, "unavailable", "too much contention; try again")

    async def _forget_finished(self, guard: PushGuard, now: float) -> PushGuard:
        """A pending pointer whose challenge already ended (its settle write may lag) is cleared."""
        active_id = guard.active_challenge_id
        if active_id is None or guard.active_until <= now:
            return guard
        active = await self._ctx.store.challenges.get(active_id)
        if active is None or active.record.txn.is_final:
            return replace(guard, active_challenge_id=None, active_until=0.0)
        return guard

    def view(self, record: ChallengeRecord) -> ChallengeView:
        state = api_state(record.txn.state)
        return ChallengeView(
            challenge_id=record.challenge_id,
            state=state,
            reason=record.txn.reason,
            number=record.number.answer if record.number and state == "pending" else None,
            expires_at=record.txn.expires_at,
        )


def cancelled_txn(txn: PushTransaction, now: float) -> PushTransaction:
    """Cancel a live transaction; one past its deadline expires instead; a final one stays."""
    timed = txn.on_timeout(now)
    return timed if timed.is_final else timed.apply(PushEvent.CANCEL, now)


def _refusal_error(refused: PushRefused) -> ApiError:
    if refused.refusal is Refusal.SUSPENDED:
        return ApiError(
            403,
            "push_suspended",
            "push is suspended for this user after repeated denials; an operator must lift it",
        )
    if refused.refusal is Refusal.PENDING:
        return conflict(
            "challenge_pending",
            "a challenge is already waiting for this user's answer; no new one was sent",
            challenge_id=refused.active,
            retry_after=max(1, int(refused.retry_after + 0.999)),
        )
    return rate_limited(refused.retry_after, "too many push requests for this user")
