"""Passwords: argon2id hashes, checked on a worker thread (each check costs ~0.1 s of CPU)."""

from __future__ import annotations

import asyncio
import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pushd.errors import invalid_request
from pushd.settings import Settings

MIN_LENGTH = 10
MAX_LENGTH = 1024


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.password_time_cost,
            memory_cost=settings.password_memory_kib,
            parallelism=1,
        )
        # Checked when the user is unknown, so that answer takes as long as any other.
        self._decoy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, normalise(password))

    async def verify(self, stored: str | None, password: str) -> bool:
        candidate = normalise(password)
        target = stored or await self._decoy_hash()
        try:
            return await asyncio.to_thread(self._hasher.verify, target, candidate)
        except (VerificationError, InvalidHashError):
            return False

    async def _decoy_hash(self) -> str:
        if self._decoy is None:
            self._decoy = await asyncio.to_thread(self._hasher.hash, secrets.token_urlsafe(16))
        return self._decoy

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


def normalise(password: str) -> str:
    """NFKC, as NIST SP 800-63B asks, so the same password typed anywhere matches."""
    return unicodedata.normalize("NFKC", password)


def check_strength(password: object, *, username: str, email: str | None) -> str:
    """A new password: 10 to 1024 characters, not the username or email, not all one kind."""
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise invalid_request(f"a password is {MIN_LENGTH} to {MAX_LENGTH} characters")
    lowered = password.casefold()
    if lowered in {username.casefold(), (email or "").casefold()}:
        raise invalid_request("the password cannot be the username or email address")
    if len(set(lowered)) < 4:
        raise invalid_request("the password repeats too few characters")
    return password
