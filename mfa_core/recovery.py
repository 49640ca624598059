"""Recovery codes (section 7): ten single-use codes per registration, stored only as hashes.

Hash: HMAC-SHA256 under a server-held key (pushd derives it from its master key)
with a random salt per set. A code carries ~59.5 bits from the CSPRNG, so a slow
password hash would buy nothing against online guessing (which pushd rate-limits)
while costing one slow hash per stored code at every redemption; the keyed hash
means a copy of the database alone cannot be used to test guesses offline.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from collections.abc import Iterable
from dataclasses import dataclass, replace

from mfa_core.entropy import RandomBytes, random_string
from mfa_core.errors import CodeMismatch, CodeReplayed, InvalidParameter

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
CODE_COUNT = 10
CODE_LENGTH = 10
SALT_BYTES = 16
MIN_KEY_BYTES = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoveryCodeSet:
    """One set of hashed codes; ``owner`` is the device it came with, or a regeneration id."""

    owner: str
    salt: bytes
    digests: tuple[bytes, ...]
    used: frozenset[int]
    created_at: float

    @property
    def remaining(self) -> int:
        return len(self.digests) - len(self.used)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoveryCodeMatch:
    owner: str
    index: int
    updated: RecoveryCodeSet


def generate_recovery_codes(
    rng: RandomBytes, *, count: int = CODE_COUNT, length: int = CODE_LENGTH
) -> tuple[str, ...]:
    """``count`` distinct codes of ``length`` characters from ``[0-9A-Za-z]``."""
    if count < 1 or length < 8:
        raise InvalidParameter("at least one code of at least 8 characters")
    codes: list[str] = []
    while len(codes) < count:
        code = random_string(rng, ALPHABET, length)
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def hash_recovery_codes(
    codes: Iterable[str], *, owner: str, key: bytes, rng: RandomBytes, now: float
) -> RecoveryCodeSet:
    salt = rng(SALT_BYTES)
    digests = tuple(_digest(code, key=key, salt=salt) for code in codes)
    return RecoveryCodeSet(
        owner=owner, salt=salt, digests=digests, used=frozenset(), created_at=now
    )


def redeem_recovery_code(
    sets: Iterable[RecoveryCodeSet], code: str, *, key: bytes
) -> RecoveryCodeMatch:
    """Find ``code`` in any of the user's sets and return the set with it consumed.

    Every stored digest is compared (no early exit). A used code raises
    :class:`CodeReplayed`, an unknown one :class:`CodeMismatch`; the caller persists
    ``updated`` with a compare-and-set so two redemptions cannot both succeed.
    """
    candidate = normalise_code(code)
    found: tuple[RecoveryCodeSet, int] | None = None
    for code_set in sets:
        digest = _digest(candidate, key=key, salt=code_set.salt)
        for index, stored in enumerate(code_set.digests):
            if hmac.compare_digest(stored, digest) and found is None:
                found = (code_set, index)
    if found is None:
        raise CodeMismatch("not a recovery code of this user")
    code_set, index = found
    if index in code_set.used:
        raise CodeReplayed("recovery code already used")
    updated = replace(code_set, used=code_set.used | {index})
    return RecoveryCodeMatch(owner=code_set.owner, index=index, updated=updated)


def normalise_code(code: str) -> str:
    """Drop the spaces and dashes people add when copying; codes stay case-sensitive."""
    return code.replace(" ", "").replace("-", "") if isinstance(code, str) else ""


def _digest(code: str, *, key: bytes, salt: bytes) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise InvalidParameter("the hashing key must be at least 32 bytes")
    # surrogatepass: a lone surrogate (from JSON's "\ud800") is a mismatch, not a crash.
    return hmac.new(key, salt + code.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
