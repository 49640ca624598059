"""Signing in with a password, by username or email address (throttled)."""

from __future__ import annotations

from pushd.errors import ApiError
from pushd.services.audit import Audit
from pushd.services.context import Context
from pushd.services.passwords import Passwords
from pushd.services.throttle import Guess, Throttler, subjects
from pushd.services.users import find_user
from pushd.store.records import UserRecord


def invalid_credentials() -> ApiError:
    return ApiError(401, "invalid_credentials", "the username or password is wrong")


class Login:
    def __init__(
        self, ctx: Context, audit: Audit, throttler: Throttler, passwords: Passwords
    ) -> None:
        self._ctx = ctx
        self._audit = audit
        self._throttler = throttler
        self._passwords = passwords

    async def check_password(
        self, login: object, password: object, *, client_ip: str | None
    ) -> UserRecord:
        """The user whose password this is, or 401 (or 429 when locked out).

        An unknown user costs the same hash check as a known one, and the answer is the
        same, so the response does not tell whether the account exists.
        """
        name = login if isinstance(login, str) else ""
        found = await find_user(self._ctx, name.strip()) if 0 < len(name) <= 320 else None
        user = found.record if found else None
        keys = subjects(Guess.PASSWORD, user_id=user.user_id if user else None, client_ip=client_ip)
        await self._throttler.guard(keys)
        stored = user.account.password_hash if user else None
        given = password if isinstance(password, str) else ""
        if not await self._passwords.verify(stored, given) or user is None or stored is None:
            await self._throttler.failed(
                keys,
                user_id=user.user_id if user else "",
                username=user.account.username if user else "",
            )
            await self._audit.record(
                "login",
                user_id=user.user_id if user else "",
                username=user.account.username if user else "",
                method="password",
                outcome="failure",
                client_ip=client_ip or "",
            )
            raise invalid_credentials()
        await self._throttler.succeeded(keys)
        await self._audit.record(
            "login",
            user_id=user.user_id,
            username=user.account.username,
            method="password",
            outcome="success",
            client_ip=client_ip or "",
        )
        return user
