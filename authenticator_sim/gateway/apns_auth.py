"""APNs provider-token (ES256 JWT) checks, as Apple applies them.

Each distinct token string is verified once and the outcome cached, so a busy
connection costs a dictionary look-up per request. Expiry is re-checked every time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from authenticator_sim.gateway.stats import Stats

TOKEN_LIFETIME = 3600.0  # Apple rejects a token whose iat is older than one hour
UPDATE_INTERVAL = 1200.0  # ... and a new token sooner than 20 minutes after the last one
_FUTURE_SKEW = 300.0
_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class _Signed:
    iat: int


class ProviderTokens:
    """Answers each ``authorization`` header with ``None`` (accepted) or Apple's reason."""

    def __init__(
        self,
        public_key: ec.EllipticCurvePublicKey,
        *,
        key_id: str,
        team_id: str,
        strict_updates: bool,
        stats: Stats,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._public_key = public_key
        self._key_id = key_id
        self._team_id = team_id
        self._strict = strict_updates
        self._stats = stats
        self._clock = clock
        self._verified: dict[bytes, _Signed | str] = {}
        self._accepted: set[bytes] = set()
        self._iats_seen: set[int] = set()
        self._last_update: float | None = None

    def check(self, authorization: bytes | None) -> str | None:
        if not authorization:
            return "MissingProviderToken"
        signed = self._verified.get(authorization)
        if signed is None:
            signed = self._verify(authorization)
            if len(self._verified) >= _CACHE_LIMIT:
                self._verified.clear()
            self._verified[authorization] = signed
        if isinstance(signed, str):
            return signed
        now = self._clock()
        if now - signed.iat > TOKEN_LIFETIME:
            return "ExpiredProviderToken"
        if signed.iat - now > _FUTURE_SKEW:
            return "InvalidProviderToken"
        if authorization not in self._accepted:
            refused = self._first_use(signed.iat, now)
            if refused:
                return refused
            if len(self._accepted) >= _CACHE_LIMIT:
                self._accepted.clear()
            self._accepted.add(authorization)
            self._stats.provider_tokens_seen += 1
        return None

    def _first_use(self, iat: int, now: float) -> str | None:
        """Apple's rule: refresh the token no more than once every 20 minutes."""
        if iat in self._iats_seen:
            return None  # the same token signed again (ECDSA differs each time)
        if (
            self._strict
            and self._last_update is not None
            and now - self._last_update < UPDATE_INTERVAL
        ):
            return "TooManyProviderTokenUpdates"
        if len(self._iats_seen) >= _CACHE_LIMIT:
            self._iats_seen.clear()
        self._iats_seen.add(iat)
        self._last_update = now
        return None

    def _verify(self, authorization: bytes) -> _Signed | str:
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "MissingProviderToken"
        try:
            if jwt.get_unverified_header(token).get("kid") != self._key_id:
                return "InvalidProviderToken"
            claims = jwt.decode(
                token,
                self._public_key,
                algorithms=["ES256"],
                issuer=self._team_id,
                options={"require": ["iss", "iat"], "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            return "InvalidProviderToken"
        iat = claims["iat"]
        if not isinstance(iat, int) or isinstance(iat, bool):
            return "InvalidProviderToken"
        return _Signed(iat)
