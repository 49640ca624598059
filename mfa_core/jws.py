"""Compact HS256 JSON Web Tokens exactly as the ForgeRock apps write and read them.

The header is always the compact ``{"typ":"JWT","alg":"HS256"}``: the iOS verifier
pads the header segment before computing the MAC, so any other spelling fails
there. Verification accepts no other algorithm (``none`` included), checks the
signature in constant time before reading the payload, and bounds the size.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from mfa_core.encoding import b64url_decode, b64url_encode
from mfa_core.errors import InvalidEncoding, InvalidJwt, InvalidParameter
from mfa_core.jsonutil import compact_json, parse_json_object

HEADER_SEGMENT = b64url_encode(b'{"typ":"JWT","alg":"HS256"}')
MAX_TOKEN_CHARS = 8192
MIN_KEY_BYTES = 32


def sign_jwt(claims: Mapping[str, object], secret: bytes) -> str:
    """Sign ``claims`` (key order kept) with HS256 under the raw ``secret`` bytes."""
    _check_key(secret)
    payload = b64url_encode(compact_json(dict(claims)).encode("utf-8"))
    signing_input = f"{HEADER_SEGMENT}.{payload}"
    return f"{signing_input}.{b64url_encode(_mac(secret, signing_input))}"


def verify_jwt(token: str, secret: bytes) -> dict[str, object]:
    """Return the claims of an HS256 token signed with ``secret``, or raise :class:`InvalidJwt`."""
    _check_key(secret)
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise InvalidJwt("token missing or too large", reason="jwt_too_large")
    parts = token.split(".")
    if len(parts) != 3 or not token.isascii():
        raise InvalidJwt("not a compact JWS")
    header_segment, payload_segment, signature_segment = parts
    header = _decode_segment(header_segment)
    if header.get("alg") != "HS256" or "crit" in header:
        raise InvalidJwt("algorithm not allowed", reason="jwt_algorithm")
    _decode_bytes(signature_segment)
    expected = _mac(secret, f"{header_segment}.{payload_segment}")
    # Compare spellings, not decoded bytes: b64decode ignores the unused low bits of the
    # last character, so four spellings of one MAC would verify (padding stays optional).
    given = signature_segment.rstrip("=").encode("ascii")
    if not hmac.compare_digest(given, b64url_encode(expected).encode("ascii")):
        raise InvalidJwt("bad signature", reason="jwt_signature")
    return _decode_segment(payload_segment)


def _mac(secret: bytes, signing_input: str) -> bytes:
    return hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()


def _check_key(secret: bytes) -> None:
    if not isinstance(secret, bytes) or len(secret) < MIN_KEY_BYTES:
        raise InvalidParameter(f"HS256 keys must be at least {MIN_KEY_BYTES} bytes")


def _decode_bytes(segment: str) -> bytes:
    try:
        return b64url_decode(segment)
    except InvalidEncoding as e:
        raise InvalidJwt("segment is not base64url") from e


def _decode_segment(segment: str) -> dict[str, object]:
    return parse_json_object(_decode_bytes(segment), InvalidJwt)
