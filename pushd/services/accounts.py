"""Accounts: sign-up, email verification, password reset, contact details.

Links carry a random token, stored only as a hash, single-use and short-lived. A
password reset never reveals whether the account exists, and a new password ends
every session and re-authentication made before it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import replace

from pushd.errors import ApiError, invalid_request
from pushd.messaging import DeliveryError
from pushd.services.audit import Audit
from pushd.services.context import Context
from pushd.services.passwords import Passwords, check_strength
from pushd.services.users import (
    clean_email,
    clean_phone,
    create_user,
    find_user,
    require_user,
    user_not_found,
)
from pushd.store.records import EmailToken, UserRecord

log = logging.getLogger("pushd.accounts")
VERIFY_EMAIL, PASSWORD_RESET = "verify_email", "password_reset"
LINK_TTL = {VERIFY_EMAIL: 86400.0, PASSWORD_RESET: 1800.0}
PAGES = {VERIFY_EMAIL: "/verify-email", PASSWORD_RESET: "/reset-password"}


def invalid_link() -> ApiError:
    return ApiError(400, "invalid_token", "this link is not valid any more; ask for a new one")


def delivery_failed(channel: str) -> ApiError:
    return ApiError(502, "delivery_failed", f"the {channel} could not be sent; try again later")


class Accounts:
    def __init__(self, ctx: Context, audit: Audit, passwords: Passwords) -> None:
        self._ctx = ctx
        self._audit = audit
        self._passwords = passwords

    async def sign_up(
        self, *, username: str, email: object, phone: object, password: object
    ) -> UserRecord:
        if email is None:
            raise invalid_request("an email address is required")
        user = await create_user(
            self._ctx,
            self._passwords,
            username=username,
            email=email,
            phone=phone,
            password=password if password is not None else "",
        )
        await self._audit.record("sign_up", user_id=user.user_id, username=user.account.username)
        await self.send_verification(user)
        return user

    async def send_verification(self, user: UserRecord) -> None:
        if user.account.email is None:
            raise invalid_request("the account has no email address")
        await self._send_link(user, VERIFY_EMAIL, user.account.email, template="verify_email")

    async def verify_email(self, token: object) -> UserRecord:
        link = await self._take(token, VERIFY_EMAIL)
        now = self._ctx.clock()

        def verified(user: UserRecord) -> UserRecord:
            if user.account.email != link.email:
                raise invalid_link()  # the address changed after the link was sent
            account = replace(user.account, email_verified=True, contact_confirmed_at=now)
            return replace(user, account=account)

        mutated = await self._ctx.store.users.mutate(link.user_id, verified)
        if mutated is None:
            raise invalid_link()
        await self._audit.record(
            "email_verified", user_id=link.user_id, username=mutated.record.account.username
        )
        return mutated.record

    async def request_password_reset(self, login: object) -> None:
        """Sends a link if the account exists and has a verified email; says nothing either way."""
        name = login.strip() if isinstance(login, str) else ""
        found = await find_user(self._ctx, name) if 0 < len(name) <= 320 else None
        user = found.record if found else None
        if user is None or not user.account.email or not user.account.email_verified:
            log.info("password reset asked for an account that cannot receive it")
            return
        try:
            await self._send_link(
                user, PASSWORD_RESET, user.account.email, template="password_reset"
            )
        except ApiError:
            log.exception("password reset email not sent", extra={"user_id": user.user_id})
            return
        await self._audit.record(
            "password_reset_requested", user_id=user.user_id, username=user.account.username
        )

    async def reset_password(self, token: object, password: object) -> UserRecord:
        link = await self._peek(token, PASSWORD_RESET)
        user = await self._user(link.user_id)
        new = check_strength(password, username=user.account.username, email=user.account.email)
        hashed = await self._passwords.hash(new)
        await self._take(token, PASSWORD_RESET)  # single use: only now is the link spent
        now = self._ctx.clock()
        mutated = await self._ctx.store.users.mutate(
            link.user_id,
            lambda u: replace(
                u, account=replace(u.account, password_hash=hashed, password_changed_at=now)
            ),
        )
        if mutated is None:
            raise invalid_link()
        await self._audit.record(
            "password_reset", user_id=link.user_id, username=mutated.record.account.username
        )
        return mutated.record

    async def update_contact(self, username: str, changes: Mapping[str, object]) -> UserRecord:
        """Confirm (no changes) or update email and phone; a new email must be verified again."""
        current = (await require_user(self._ctx, username)).record
        account, now = current.account, self._ctx.clock()
        old_email = account.email
        if "phone" in changes:
            phone = changes["phone"]
            account = replace(account, phone=clean_phone(phone) if phone is not None else None)
        if changes.get("email") is not None:
            email = clean_email(changes["email"])
            if email != account.email:
                account = replace(account, email=email, email_verified=False)
        account = replace(account, contact_confirmed_at=now)
        mutated = await self._ctx.store.users.mutate(
            current.user_id, lambda u: replace(u, account=account)
        )
        if mutated is None:
            raise user_not_found()
        user = mutated.record
        if user.account.email != old_email:
            await self.send_verification(user)
            if old_email:
                await self._notify(old_email, "contact_changed", username=user.account.username)
        await self._audit.record(
            "contact_confirmed" if not changes else "contact_changed",
            user_id=user.user_id,
            username=user.account.username,
            detail=", ".join(sorted(changes)),
        )
        return user

    # --- links ---------------------------------------------------------------------

    async def _send_link(
        self, user: UserRecord, purpose: str, email: str, *, template: str
    ) -> None:
        token = secrets.token_urlsafe(32)
        expires_at = self._ctx.clock() + LINK_TTL[purpose]
        await self._ctx.store.email_tokens.insert(
            _digest(token),
            EmailToken(purpose=purpose, user_id=user.user_id, email=email, expires_at=expires_at),
        )
        link = f"{self._ctx.settings.base_url}{PAGES[purpose]}?token={token}"
        message = self._ctx.templates.render(
            template,
            secrets=(token,),
            link=link,
            username=user.account.username,
            minutes=str(int(LINK_TTL[purpose] // 60)),
        )
        try:
            await self._ctx.mailer.send(email, message)
        except DeliveryError as e:
            raise delivery_failed("email") from e

    async def _notify(self, email: str, template: str, **values: str) -> None:
        try:
            await self._ctx.mailer.send(email, self._ctx.templates.render(template, **values))
        except DeliveryError:
            log.exception("notice not sent", extra={"template": template})

    async def _peek(self, token: object, purpose: str) -> EmailToken:
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            raise invalid_link()
        found = await self._ctx.store.email_tokens.get(_digest(token))
        if found is None or found.record.purpose != purpose:
            raise invalid_link()
        return found.record

    async def _take(self, token: object, purpose: str) -> EmailToken:
        """Spend a link: deleted before its effect, so two uses cannot both succeed."""
        link = await self._peek(token, purpose)
        if not await self._ctx.store.email_tokens.delete(_digest(str(token))):
            raise invalid_link()
        return link

    async def _user(self, user_id: str) -> UserRecord:
        found = await self._ctx.store.users.get(user_id)
        if found is None:
            raise invalid_link()
        return found.record


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
