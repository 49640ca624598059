"""Push registration: the QR code, the phone's reply, the test notification, the codes.

pending -> registered (the phone scanned and replied) -> confirmed (the phone
accepted the test notification; the device is added and 10 recovery codes are
handed to the page once), or denied / expired / cancelled / delivery_failed.
"""

from __future__ import annotations

import asyncio
import io
import logging
import unicodedata
import uuid
from dataclasses import dataclass, replace

import segno

from mfa_core.errors import MfaError
from mfa_core.message_id import MessageKind, new_message_id, parse_message_id
from mfa_core.profile import Device, DeviceKind, add_device, check_can_add
from mfa_core.push import (
    PushRegistration,
    PushType,
    build_registration_uri,
    new_challenge,
    new_secret,
)
from mfa_core.push_replies import RegistrationReply
from mfa_core.push_state import Flow, PushEvent, PushState, new_transaction
from pushd.errors import conflict, invalid_request, not_found
from pushd.services.audit import Audit
from pushd.services.challenges import (
    FINAL_API_STATES,
    ChallengeService,
    api_state,
    cancelled_txn,
)
from pushd.services.context import Context
from pushd.services.recovery_codes import RecoveryCodes
from pushd.services.users import find_or_create_user
from pushd.store.engine import LookupTaken, VersionConflict
from pushd.store.records import (
    ChallengeRecord,
    PendingDevice,
    PushDevice,
    RegistrationRecord,
    UserRecord,
)
from pushd.store.tables import Versioned
from pushd.waiters import DRAIN, Change

log = logging.getLogger("pushd.registrations")
DEVICE_ENDPOINT = "/push/device"
MAX_LABEL_CHARS = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationView:
    registration_id: str
    state: str
    reason: str | None
    expires_at: float
    uri: str | None = None
    qr_svg: str | None = None
    device_name: str | None = None
    recovery_codes: tuple[str, ...] | None = None


class RegistrationService:
    def __init__(
        self, ctx: Context, challenges: ChallengeService, codes: RecoveryCodes, audit: Audit
    ) -> None:
        self._ctx = ctx
        self._challenges = challenges
        self._codes = codes
        self._audit = audit
        challenges.registration_hook = self
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(
        self, username: str, *, issuer: str | None = None, account_name: str | None = None
    ) -> RegistrationView:
        ctx, settings = self._ctx, self._ctx.settings
        issuer_label = _label(issuer or settings.issuer, "issuer")
        user = (await find_or_create_user(ctx, username)).record
        account_label = _label(account_name or user.account.username, "account_name")
        if user.push_device() is not None:
            raise conflict("push_device_exists", "this user already has a push device")
        now = ctx.clock()
        message_id = new_message_id(MessageKind.REGISTER, ctx.rng, now)
        registration_id = parse_message_id(message_id).uuid
        secret, challenge = new_secret(ctx.rng), new_challenge(ctx.rng)
        uri = build_registration_uri(
            PushRegistration(
                issuer=issuer_label,
                account=account_label,
                registration_url=f"{settings.base_url}{DEVICE_ENDPOINT}?_action=register",
                authentication_url=f"{settings.base_url}{DEVICE_ENDPOINT}?_action=authenticate",
                secret=secret,
                challenge=challenge,
                message_id=message_id,
                load_balancer_cookie=settings.lb_cookie,
                background_colour=settings.push_background_colour or None,
                image_url=settings.push_image_url or None,
            )
        )
        record = RegistrationRecord(
            registration_id=registration_id,
            message_id=message_id,
            user_id=user.user_id,
            username=user.account.username,
            issuer=issuer_label,
            account_name=account_label,
            sealed_secret=ctx.vault.seal(secret),
            challenge=challenge,
            txn=new_transaction(Flow.REGISTRATION, now=now, ttl_seconds=settings.registration_ttl),
        )
        await ctx.store.registrations.insert(registration_id, record)
        return replace(self.view(record), uri=uri, qr_svg=qr_svg(uri))

    async def wait(self, registration_id: str, wait: float, seen: str | None) -> RegistrationView:
        """Answer when final or no longer ``seen`` (when given), else after ``wait`` seconds."""
        ctx = self._ctx
        loop = asyncio.get_running_loop()
        give_up = loop.time() + wait
        with ctx.hub.watch(registration_id) as waiter:
            current = await self._get(registration_id)
            while not current.record.txn.is_final and (
                seen is None or api_state(current.record.txn.state) == seen
            ):
                until_expiry = current.record.txn.expires_at - ctx.clock()
                if until_expiry <= 0:
                    await self.expire(registration_id)
                    current = await self._get(registration_id)
                    break
                change = await waiter.next(min(give_up - loop.time(), until_expiry))
                if change is None and loop.time() >= give_up:
                    break
                if change is not None:
                    current = await self._get(registration_id)
                    if change.state == DRAIN:
                        break  # pushd is stopping: the state as it is now
            view = self.view(current.record)
            if current.record.txn.state is PushState.CONFIRMED and not current.record.codes_issued:
                view = replace(view, recovery_codes=await self._issue_codes(current))
            return view

    async def cancel(self, registration_id: str) -> RegistrationView:
        now = self._ctx.clock()

        def cancelled(record: RegistrationRecord) -> RegistrationRecord:
            txn = cancelled_txn(record.txn, now)
            return record if txn is record.txn else replace(record, txn=txn)

        mutated = await self._ctx.store.registrations.mutate(registration_id, cancelled)
        if mutated is None:
            raise not_found("registration")
        if not mutated.changed or mutated.record.txn.state is not PushState.CANCELLED:
            state = api_state(mutated.record.txn.state)
            raise conflict("already_final", f"the registration is already {state}", state=state)
        await self._finished(mutated.record)
        if mutated.record.test_challenge_id:
            await self._challenges.abandon(mutated.record.test_challenge_id)
        return self.view(mutated.record)

    async def expire(self, registration_id: str) -> None:
        now = self._ctx.clock()

        def timed_out(record: RegistrationRecord) -> RegistrationRecord:
            txn = record.txn.on_timeout(now)
            return record if txn is record.txn else replace(record, txn=txn)

        mutated = await self._ctx.store.registrations.mutate(registration_id, timed_out)
        if mutated is not None and mutated.changed:
            await self._finished(mutated.record)

    # --- the phone's side ---------------------------------------------------------------

    async def device_registered(
        self, current: Versioned[RegistrationRecord], reply: RegistrationReply
    ) -> None:
        """The phone's verified reply: record the device and send the test notification."""
        ctx, record = self._ctx, current.record
        if await ctx.store.engine.find("mechanism_uid", reply.mechanism_uid) is not None:
            raise LookupTaken("mechanism_uid")
        now = ctx.clock()
        info = reply.device
        updated = replace(
            record,
            txn=record.txn.apply(PushEvent.DEVICE_REGISTERED, now),
            device=PendingDevice(
                mechanism_uid=reply.mechanism_uid,
                push_token=info.push_token,
                transport=info.transport,
                device_name=info.device_name,
                device_type=info.device_type,
            ),
            device_id=str(uuid.UUID(bytes=ctx.rng(16), version=4)),
        )
        test_message_id = new_message_id(MessageKind.AUTHENTICATE, ctx.rng, now)
        updated = replace(updated, test_challenge_id=parse_message_id(test_message_id).uuid)
        await ctx.store.registrations.update(record.registration_id, current, updated)
        await ctx.bus.publish(Change(record.registration_id, "registered"))
        task = asyncio.create_task(self._send_test(updated, test_message_id, now))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_test(self, record: RegistrationRecord, message_id: str, now: float) -> None:
        device = _device_to_be(record, now)
        settings = self._ctx.settings
        test = self._challenges.build(
            challenge_id=parse_message_id(message_id).uuid,
            message_id=message_id,
            user_id=record.user_id,
            username=record.username,
            device=device,
            push_type=PushType.DEFAULT,
            message=f"Accept to finish setting up {record.issuer} sign-in on this device",
            context=None,
            now=now,
            ttl=min(settings.challenge_ttl, record.txn.expires_at - now),
            registration_id=record.registration_id,
        )
        await self._ctx.store.challenges.insert(test.challenge_id, test)
        self._challenges.send(test, device)

    async def test_finished(self, challenge: ChallengeRecord) -> None:
        """The test notification was answered, refused, undeliverable or timed out."""
        if challenge.registration_id is None:
            return
        state = challenge.txn.state
        if state is PushState.APPROVED:
            await self._confirm(challenge.registration_id)
            return
        event = {
            PushState.DENIED: PushEvent.DENY,
            PushState.DELIVERY_FAILED: PushEvent.DELIVERY_FAILED,
        }.get(state, PushEvent.EXPIRE)
        if challenge.txn.reason == "wrong_number":
            event = PushEvent.WRONG_NUMBER
        await self._move(challenge.registration_id, event, reason=challenge.txn.reason)

    async def _confirm(self, registration_id: str) -> None:
        ctx = self._ctx
        current = await self._get(registration_id)
        record, now = current.record, ctx.clock()
        device = _device_to_be(record, now)

        def with_device(user: UserRecord) -> UserRecord:
            check_can_add(user.profile, DeviceKind.PUSH)
            name = _device_name(device.device_name)
            profile = add_device(
                user.profile,
                Device(device_id=device.device_id, kind=DeviceKind.PUSH, name=name, created_at=now),
                now=now,
            )
            return replace(user, profile=profile, push=(*user.push, device))

        try:
            await ctx.store.users.mutate(record.user_id, with_device)
        except (MfaError, LookupTaken) as refused:
            reason = refused.reason if isinstance(refused, MfaError) else "mechanism_taken"
            log.info("registration refused at confirmation", extra={"reason": reason})
            await self._move(registration_id, PushEvent.CANCEL, reason=reason)
            return
        await self._move(registration_id, PushEvent.APPROVE)
        await self._audit.record(
            "registration",
            user_id=record.user_id,
            username=record.username,
            method="push",
            outcome="confirmed",
            detail=device.device_id,
        )

    async def _move(
        self, registration_id: str, event: PushEvent, *, reason: str | None = None
    ) -> None:
        now = self._ctx.clock()

        def moved(record: RegistrationRecord) -> RegistrationRecord:
            if record.txn.is_final:
                return record
            return replace(record, txn=record.txn.apply(event, now, reason=reason))

        mutated = await self._ctx.store.registrations.mutate(registration_id, moved)
        if mutated is not None and mutated.changed:
            await self._finished(mutated.record)

    async def _finished(self, record: RegistrationRecord) -> None:
        state = api_state(record.txn.state)
        await self._ctx.bus.publish(Change(record.registration_id, state, record.txn.reason))
        if state in FINAL_API_STATES:
            self._ctx.metrics.registrations.labels(state).inc()

    async def _issue_codes(self, current: Versioned[RegistrationRecord]) -> tuple[str, ...] | None:
        """Exactly one caller wins the right to show this device's codes, once."""
        record = current.record
        try:
            await self._ctx.store.registrations.update(
                record.registration_id, current, replace(record, codes_issued=True)
            )
        except VersionConflict:
            return None
        return await self._codes.issue(record.user_id, record.device_id or record.registration_id)

    async def _get(self, registration_id: str) -> Versioned[RegistrationRecord]:
        current = await self._ctx.store.registrations.get(registration_id)
        if current is None:
            raise not_found("registration")
        return current

    def view(self, record: RegistrationRecord) -> RegistrationView:
        return RegistrationView(
            registration_id=record.registration_id,
            state=api_state(record.txn.state),
            reason=record.txn.reason,
            expires_at=record.txn.expires_at,
            device_name=record.device.device_name if record.device else None,
        )

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG, error correction M (readable at arm's length)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(
        buffer,
        kind="svg",
        xmldecl=False,
        scale=4,
        border=4,
        title="Scan with your authenticator app",
    )
    return buffer.getvalue().decode("utf-8")


def _device_to_be(record: RegistrationRecord, now: float) -> PushDevice:
    if record.device is None or record.device_id is None:
        raise VersionConflict(f"registration {record.registration_id} has no device yet")
    pending = record.device
    return PushDevice(
        device_id=record.device_id,
        mechanism_uid=pending.mechanism_uid,
        sealed_secret=record.sealed_secret,
        push_token=pending.push_token,
        transport=pending.transport,
        device_name=pending.device_name,
        device_type=pending.device_type,
        registered_at=now,
    )


def _device_name(reported: str) -> str:
    printable = "".join(ch for ch in reported if not unicodedata.category(ch).startswith("C"))
    return " ".join(printable.split())[:64] or "Push device"


def _label(value: str, field: str) -> str:
    cleaned = value.strip() if isinstance(value, str) else ""
    if not 0 < len(cleaned) <= MAX_LABEL_CHARS or any(
        unicodedata.category(ch).startswith("C") for ch in cleaned
    ):
        raise invalid_request(f"{field} must be 1 to {MAX_LABEL_CHARS} printable characters")
    return cleaned
