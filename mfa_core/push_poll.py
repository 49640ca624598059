"""The poll fallback: a phone whose notification never arrived asks for its pending ones.

An extension beyond the ForgeRock protocol (the real app does not send it). The
request is ``POST <r with _action=pending>`` with ``{"mechanismUid", "jwt"}``, the JWT
signed with the device secret (HS256) and carrying ``mechanismUid``, ``iat`` (epoch
seconds, a string like every claim) and a random ``nonce``. The server accepts it
within ``max_skew`` seconds of its clock and refuses a nonce it has seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mfa_core.encoding import b64url_encode
from mfa_core.entropy import RandomBytes
from mfa_core.errors import InvalidDeviceReply

DEFAULT_MAX_SKEW = 60.0
NONCE_BYTES = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class PollRequest:
    mechanism_uid: str
    issued_at: int
    nonce: str


def poll_claims(*, mechanism_uid: str, now: float, rng: RandomBytes) -> dict[str, str]:
    return {
        "mechanismUid": mechanism_uid,
        "iat": str(int(now)),
        "nonce": b64url_encode(rng(NONCE_BYTES)),
    }


def parse_poll_claims(
    claims: Mapping[str, object], *, now: float, max_skew: float = DEFAULT_MAX_SKEW
) -> PollRequest:
    uid, issued, nonce = claims.get("mechanismUid"), claims.get("iat"), claims.get("nonce")
    if not (isinstance(uid, str) and uid and isinstance(nonce, str) and 16 <= len(nonce) <= 64):
        raise InvalidDeviceReply("poll request lacks mechanismUid or nonce")
    # Bounded before int(): past 4300 digits int() raises ValueError, not InvalidDeviceReply.
    if (
        not isinstance(issued, str)
        or not issued.isascii()
        or not issued.isdigit()
        or len(issued) > 20
    ):
        raise InvalidDeviceReply("poll request lacks iat", reason="poll_stale")
    if abs(now - int(issued)) > max_skew:
        raise InvalidDeviceReply("poll request too old or from the future", reason="poll_stale")
    return PollRequest(mechanism_uid=uid, issued_at=int(issued), nonce=nonce)
