"""The alternative method: one code by SMS and one by email, both needed to get in.

Offered only when the account has an E.164 phone number and a verified email; if
either is missing the answer says so and points to manual verification. Codes are
stored as keyed hashes; attempts are counted before they are checked, resends are
limited, and the per-user throttle applies too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from mfa_core.account_recovery import (
    ContactDetails,
    check_codes,
    missing_channels,
    register_attempt,
    resend_alternative,
    start_alternative,
)
from mfa_core.errors import (
    AlternativeMethodUnavailable,
    AttemptsExhausted,
    CodeMismatch,
    CodeReplayed,
    Expired,
    ResendLimitReached,
)
from pushd.errors import ApiError, conflict, not_found
from pushd.messaging import DeliveryError
from pushd.services.accounts import delivery_failed
from pushd.services.audit import Audit
from pushd.services.context import Context
from pushd.services.recovery_codes import invalid_code
from pushd.services.throttle import Guess, Throttler, subjects
from pushd.services.users import require_user
from pushd.store.records import AlternativeRecord, UserRecord
from pushd.store.tables import Versioned


@dataclass(frozen=True, slots=True, kw_only=True)
class AlternativeView:
    alternative_id: str
    expires_at: float
    sms_to: str
    email_to: str
    sends_left: int


class Alternative:
    def __init__(self, ctx: Context, audit: Audit, throttler: Throttler) -> None:
        self._ctx = ctx
        self._audit = audit
        self._throttler = throttler

    async def start(self, username: str) -> AlternativeView:
        ctx = self._ctx
        user = (await require_user(ctx, username)).record
        contact = _contact(user)
        try:
            issued = start_alternative(contact, rng=ctx.rng, now=ctx.clock(), key=ctx.hash_key)
        except AlternativeMethodUnavailable:
            raise conflict(
                "alternative_unavailable",
                "the alternative method needs a phone number with its country code and a"
                " verified email address; ask for manual verification instead",
                missing=list(missing_channels(contact)),
                manual_verification=True,
            ) from None
        record = AlternativeRecord(
            alternative_id=str(uuid.UUID(bytes=ctx.rng(16), version=4)),
            user_id=user.user_id,
            challenge=issued.challenge,
        )
        await self._send(user, record, issued.sms_code, issued.email_code)
        await ctx.store.alternatives.insert(record.alternative_id, record)
        await self._audit.record("alternative_started", user_id=user.user_id, username=username)
        return _view(record)

    async def resend(self, alternative_id: str) -> AlternativeView:
        ctx = self._ctx
        current = await self._get(alternative_id)
        try:
            issued = resend_alternative(
                current.record.challenge, rng=ctx.rng, now=ctx.clock(), key=ctx.hash_key
            )
        except ResendLimitReached as e:
            raise ApiError(429, "resend_limit", e.detail) from e
        except CodeReplayed as e:
            raise conflict("already_used", "this recovery is already complete") from e
        record = replace(current.record, challenge=issued.challenge)
        user = await self._user(record.user_id)
        await self._send(user, record, issued.sms_code, issued.email_code)
        await ctx.store.alternatives.update(alternative_id, current, record)
        return _view(record)

    async def verify(
        self, alternative_id: str, *, sms_code: object, email_code: object, client_ip: str | None
    ) -> UserRecord:
        ctx = self._ctx
        current = await self._get(alternative_id)
        user = await self._user(current.record.user_id)
        keys = subjects(Guess.ALTERNATIVE, user_id=user.user_id, client_ip=client_ip)
        await self._throttler.guard(keys)
        try:
            counted = replace(
                current.record,
                challenge=register_attempt(current.record.challenge, now=ctx.clock()),
            )
        except Expired as e:
            raise ApiError(410, "expired", e.detail) from e
        except AttemptsExhausted as e:
            raise ApiError(429, "attempts_exhausted", e.detail) from e
        except CodeReplayed as e:
            raise conflict("already_used", "this recovery is already complete") from e
        saved = await ctx.store.alternatives.update(alternative_id, current, counted)
        try:
            done = check_codes(
                counted.challenge,
                sms_code=sms_code if isinstance(sms_code, str) else "",
                email_code=email_code if isinstance(email_code, str) else "",
                key=ctx.hash_key,
            )
        except CodeMismatch:
            await self._throttler.failed(keys, user_id=user.user_id, username=user.account.username)
            await self._audit.record(
                "login",
                user_id=user.user_id,
                username=user.account.username,
                method="alternative",
                outcome="failure",
                client_ip=client_ip or "",
            )
            raise invalid_code() from None
        await ctx.store.alternatives.update(alternative_id, saved, replace(counted, challenge=done))
        await self._throttler.succeeded(keys)
        mutated = await ctx.store.users.mutate(
            user.user_id, lambda u: replace(u, account=replace(u.account, mfa_review_due=True))
        )
        await self._audit.record(
            "login",
            user_id=user.user_id,
            username=user.account.username,
            method="alternative",
            outcome="success",
            client_ip=client_ip or "",
        )
        return mutated.record if mutated else user

    async def _send(
        self, user: UserRecord, record: AlternativeRecord, sms_code: str, email_code: str
    ) -> None:
        ctx, challenge = self._ctx, record.challenge
        minutes = str(int(challenge.limits.ttl_seconds // 60))
        sms = ctx.templates.render(
            "alternative_sms",
            secrets=(sms_code,),
            code=sms_code,
            minutes=minutes,
            username=user.account.username,
        )
        email = ctx.templates.render(
            "alternative_email",
            secrets=(email_code,),
            code=email_code,
            minutes=minutes,
            username=user.account.username,
        )
        try:
            await ctx.sms.send(challenge.phone, sms)
        except DeliveryError as e:
            raise delivery_failed("SMS") from e
        try:
            await ctx.mailer.send(challenge.email, email)
        except DeliveryError as e:
            raise delivery_failed("email") from e

    async def _get(self, alternative_id: str) -> Versioned[AlternativeRecord]:
        found = await self._ctx.store.alternatives.get(alternative_id)
        if found is None:
            raise not_found("alternative method")
        return found

    async def _user(self, user_id: str) -> UserRecord:
        found = await self._ctx.store.users.get(user_id)
        if found is None:
            raise not_found("user")
        return found.record


def _contact(user: UserRecord) -> ContactDetails:
    account = user.account
    return ContactDetails(
        email=account.email, email_verified=account.email_verified, phone=account.phone
    )


def _view(record: AlternativeRecord) -> AlternativeView:
    challenge = record.challenge
    return AlternativeView(
        alternative_id=record.alternative_id,
        expires_at=challenge.expires_at,
        sms_to=mask_phone(challenge.phone),
        email_to=mask_email(challenge.email),
        sends_left=challenge.limits.max_sends - challenge.sends,
    )


def mask_phone(phone: str) -> str:
    return phone[:3] + "•" * max(0, len(phone) - 5) + phone[-2:]


def mask_email(email: str) -> str:
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}"
