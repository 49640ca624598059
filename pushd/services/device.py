"""The phone's three requests (push-protocol sections 2, 4, 5), checked before anything changes.

Any failure raises :class:`DeviceRejected` with a reason for metrics and logs only:
the phone always gets the same 400, never a hint of which check failed.
"""

from __future__ import annotations

import hmac
from dataclasses import replace

from mfa_core.errors import MfaError
from mfa_core.message_id import MessageKind, parse_message_id
from mfa_core.push import verify_challenge_response, verify_jwt
from mfa_core.push_poll import parse_poll_claims
from mfa_core.push_replies import (
    parse_authentication_claims,
    parse_device_envelope,
    parse_device_info,
    parse_refresh_envelope,
    parse_registration_claims,
)
from mfa_core.push_state import PushEvent, PushState
from pushd.keys import SealError
from pushd.services.challenges import ChallengeService
from pushd.services.context import Context
from pushd.services.registrations import RegistrationService
from pushd.store.engine import AlreadyExists, Conflict
from pushd.store.records import Seen, UserRecord

ACTIONS = ("register", "authenticate", "refresh", "pending")
Body = dict[str, object]


class DeviceRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DeviceReplies:
    def __init__(
        self, ctx: Context, challenges: ChallengeService, registrations: RegistrationService
    ) -> None:
        self._ctx = ctx
        self._challenges = challenges
        self._registrations = registrations

    async def handle(self, action: str, body: bytes) -> Body:
        """What to answer the phone with (200); raises DeviceRejected for the fixed 400."""
        handlers = {
            "register": self._register,
            "authenticate": self._authenticate,
            "refresh": self._refresh,
            "pending": self._pending,
        }
        handler = handlers.get(action)
        if handler is None:
            raise DeviceRejected("unknown_action")
        try:
            return await handler(body)
        except MfaError as e:
            raise DeviceRejected(e.reason) from e
        except SealError as e:
            raise DeviceRejected("unsealable_secret") from e
        except Conflict as e:
            raise DeviceRejected("conflict") from e

    async def _register(self, body: bytes) -> Body:
        ctx = self._ctx
        envelope = parse_device_envelope(body)
        message = parse_message_id(envelope.message_id, MessageKind.REGISTER)
        current = await ctx.store.registrations.get(message.uuid)
        if current is None or not _same(current.record.message_id, envelope.message_id):
            raise DeviceRejected("unknown_message")
        record = current.record
        if record.txn.state is not PushState.PENDING:
            raise DeviceRejected("already_answered")
        if ctx.clock() >= record.txn.expires_at:
            await self._registrations.expire(record.registration_id)
            raise DeviceRejected("expired")
        secret = ctx.vault.open(record.sealed_secret)
        reply = parse_registration_claims(verify_jwt(envelope.jwt, secret))
        verify_challenge_response(secret, record.challenge, reply.response)
        await self._registrations.device_registered(current, reply)
        return {}

    async def _authenticate(self, body: bytes) -> Body:
        ctx = self._ctx
        envelope = parse_device_envelope(body)
        message = parse_message_id(envelope.message_id, MessageKind.AUTHENTICATE)
        current = await ctx.store.challenges.get(message.uuid)
        if current is None or not _same(current.record.message_id, envelope.message_id):
            raise DeviceRejected("unknown_message")
        record = current.record
        if record.txn.is_final:
            raise DeviceRejected("already_answered")
        if ctx.clock() >= record.txn.expires_at:
            await self._challenges.expire(record.challenge_id)
            raise DeviceRejected("expired")
        secret = ctx.vault.open(record.sealed_secret)
        reply = parse_authentication_claims(verify_jwt(envelope.jwt, secret))
        verify_challenge_response(secret, record.challenge, reply.response)
        if reply.denied:
            event = PushEvent.DENY
        elif record.number is not None and reply.chosen_number != record.number.answer:
            event = PushEvent.WRONG_NUMBER
        else:
            event = PushEvent.APPROVE
        await self._challenges.decide(current, event)
        return {}

    async def _refresh(self, body: bytes) -> Body:
        ctx = self._ctx
        envelope = parse_refresh_envelope(body)
        user_id = await ctx.store.user_id_by("mechanism_uid", envelope.mechanism_uid)
        current = await ctx.store.users.get(user_id) if user_id else None
        device = (
            next(
                (d for d in current.record.push if d.mechanism_uid == envelope.mechanism_uid), None
            )
            if current
            else None
        )
        if current is None or device is None:
            raise DeviceRejected("unknown_device")
        claims = verify_jwt(envelope.jwt, ctx.vault.open(device.sealed_secret))
        info = parse_device_info(claims)
        claimed_uid = claims.get("mechanismUid", envelope.mechanism_uid)
        if not isinstance(claimed_uid, str) or not _same(claimed_uid, envelope.mechanism_uid):
            raise DeviceRejected("mechanism_mismatch")

        def refreshed(user: UserRecord) -> UserRecord:
            devices = tuple(
                replace(
                    d,
                    push_token=info.push_token,
                    transport=info.transport,
                    device_name=info.device_name or d.device_name,
                    device_type=info.device_type or d.device_type,
                    token_stale=False,
                )
                if d.device_id == device.device_id
                else d
                for d in user.push
            )
            return replace(user, push=devices)

        if await ctx.store.users.mutate(current.record.user_id, refreshed) is None:
            raise DeviceRejected("unknown_device")
        return {}

    async def _pending(self, body: bytes) -> Body:
        """The poll fallback (an extension, see mfa_core.push_poll): pending notifications."""
        ctx = self._ctx
        envelope = parse_refresh_envelope(body)
        sealed, candidates = await self._pending_candidates(envelope.mechanism_uid)
        if sealed is None:
            raise DeviceRejected("unknown_device")
        now = ctx.clock()
        request = parse_poll_claims(verify_jwt(envelope.jwt, ctx.vault.open(sealed)), now=now)
        if not _same(request.mechanism_uid, envelope.mechanism_uid):
            raise DeviceRejected("mechanism_mismatch")
        try:
            await ctx.store.poll_nonces.insert(
                f"{request.mechanism_uid}:{request.nonce}", Seen(at=now)
            )
        except AlreadyExists as e:
            raise DeviceRejected("poll_replayed") from e
        notifications: list[dict[str, object]] = []
        for challenge_id in candidates:
            found = await ctx.store.challenges.get(challenge_id)
            record = found.record if found else None
            if record is None or record.mechanism_uid != envelope.mechanism_uid:
                continue
            if record.txn.on_timeout(now).is_final:
                continue
            notifications.append(
                {"messageId": record.message_id, "message": record.notification_jwt}
            )
        return {"notifications": notifications}

    async def _pending_candidates(self, mechanism_uid: str) -> tuple[bytes | None, list[str]]:
        """The device's sealed secret and the challenges that may be waiting for it."""
        store = self._ctx.store
        user_id = await store.user_id_by("mechanism_uid", mechanism_uid)
        user = await store.users.get(user_id) if user_id else None
        device = (
            next((d for d in user.record.push if d.mechanism_uid == mechanism_uid), None)
            if user
            else None
        )
        if user is not None and device is not None:
            guard = await store.push_guards.get(user.record.user_id)
            active = guard.record.active_challenge_id if guard else None
            return device.sealed_secret, [active] if active else []
        owner = await store.engine.find("pending_mechanism", mechanism_uid)
        registration = await store.registrations.get(owner[1]) if owner else None
        if registration is None:
            return None, []
        test = registration.record.test_challenge_id
        return registration.record.sealed_secret, [test] if test else []


def _same(stored: str, given: str) -> bool:
    return hmac.compare_digest(stored.encode("utf-8"), given.encode("utf-8"))
