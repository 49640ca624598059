"""Re-authentication: a fresh password check, traded for a short-lived token.

Removing a device or regenerating recovery codes needs one. The token is random,
stored only as a hash, bound to the user, and expires after ``PUSHD_REAUTH_TTL``.
"""

from __future__ import annotations

import hashlib
import secrets

from pushd.errors import ApiError
from pushd.services.audit import Audit
from pushd.services.context import Context
from pushd.services.login import Login
from pushd.store.records import Reauthentication, UserRecord


def reauth_required() -> ApiError:
    return ApiError(
        403, "reauthentication_required", "confirm the password first (POST .../reauthenticate)"
    )


class Reauth:
    def __init__(self, ctx: Context, audit: Audit, login: Login) -> None:
        self._ctx = ctx
        self._audit = audit
        self._login = login

    async def start(
        self, username: str, password: object, *, client_ip: str | None
    ) -> tuple[str, float]:
        """Check the password (throttled); returns a token and its expiry."""
        user = await self._login.check_password(username, password, client_ip=client_ip)
        token = secrets.token_urlsafe(32)
        now = self._ctx.clock()
        record = Reauthentication(
            user_id=user.user_id, at=now, expires_at=now + self._ctx.settings.reauth_ttl
        )
        await self._ctx.store.reauthentications.insert(_digest(token), record)
        await self._audit.record(
            "reauthenticated",
            user_id=user.user_id,
            username=user.account.username,
            client_ip=client_ip or "",
        )
        return token, record.expires_at

    async def checked_at(self, user: UserRecord, token: object) -> float:
        """When the password was last confirmed with this token, or 403."""
        if not isinstance(token, str) or not token:
            raise reauth_required()
        found = await self._ctx.store.reauthentications.get(_digest(token))
        if found is None or found.record.user_id != user.user_id:
            raise reauth_required()
        changed = user.account.password_changed_at
        if changed is not None and found.record.at < changed:
            raise reauth_required()  # a password reset ends every earlier re-authentication
        return found.record.at


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
