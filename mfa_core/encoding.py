"""Base64 in the two forms the push protocol uses, with strict, typed decoding.

- b64: RFC 4648 section 4 (standard alphabet), written with ``=`` padding.
- b64url: RFC 4648 section 5 (URL-safe alphabet), written without padding.

Decoders accept the value with or without padding (the apps differ) but never a
character outside the alphabet, and raise :class:`InvalidEncoding` on anything else.
"""

from __future__ import annotations

import base64
import re

from mfa_core.errors import InvalidEncoding

_STANDARD = re.compile(r"[A-Za-z0-9+/]*(?:={1,2})?")
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]*(?:={1,2})?")
_EITHER = re.compile(r"[A-Za-z0-9+/_-]*(?:={1,2})?")


def b64_encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64_decode(text: str) -> bytes:
    """Decode standard-alphabet base64, padded or not."""
    return _decode(text, _STANDARD, "base64")


def b64url_decode(text: str) -> bytes:
    """Decode URL-safe base64, padded or not."""
    return _decode(text, _URL_SAFE, "base64url")


def b64_decode_any(text: str) -> bytes:
    """Decode base64 written in either alphabet (what lenient app-side decoders accept)."""
    return _decode(text, _EITHER, "base64")


def _decode(text: str, alphabet: re.Pattern[str], name: str) -> bytes:
    if not isinstance(text, str) or alphabet.fullmatch(text) is None:
        raise InvalidEncoding(f"not {name}")
    body = text.rstrip("=")
    if len(body) % 4 == 1 or (len(body) != len(text) and len(text) % 4 != 0):
        raise InvalidEncoding(f"{name} of impossible length")
    padded = body + "=" * (-len(body) % 4)
    # The checks above leave nothing for b64decode to refuse.
    return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
