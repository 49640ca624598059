"""OATH one-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238), section 6.

Codes are computed with the standard library's HMAC rather than pyotp: the ForgeRock
app still offers MD5 and SHA-224/384, which pyotp refuses, and every secret here is
raw bytes. Verification returns the step or counter that matched, so the caller can
store it and refuse reuse; it never returns a bool.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass

from mfa_core.entropy import RandomBytes
from mfa_core.errors import CodeMismatch, CodeReplayed, InvalidParameter, InvalidUri
from mfa_core.uri import join_uri, split_uri

# Every algorithm the ForgeRock app can compute; the names are hashlib's.
_HASHES = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})
# What new enrolments may use: all authenticator apps support these.
ENROLMENT_ALGORITHMS = ("sha1", "sha256", "sha512")
APP_DIGITS = (6, 8)
MIN_SECRET_BYTES = 10
MAX_PERIOD = 300
DEFAULT_TOTP_WINDOW = 1
DEFAULT_HOTP_LOOK_AHEAD = 10


class OathKind(enum.StrEnum):
    TOTP = "totp"
    HOTP = "hotp"


@dataclass(frozen=True, slots=True, kw_only=True)
class OathParameters:
    kind: OathKind
    secret: bytes
    account: str
    issuer: str | None = None
    digits: int = 6
    algorithm: str = "sha1"
    period: int = 30
    counter: int = 0


def hotp(secret: bytes, counter: int, *, digits: int = 6, algorithm: str = "sha1") -> str:
    """The RFC 4226 code for ``counter`` (dynamic truncation, ``digits`` decimal digits)."""
    if not 6 <= digits <= 10 or algorithm not in _HASHES or counter < 0:
        raise InvalidParameter("digits must be 6..10, the algorithm known, the counter >= 0")
    digest = hmac.new(secret, counter.to_bytes(8, "big"), algorithm).digest()
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFF_FFFF
    return str(number % 10**digits).zfill(digits)


def totp_step(now: float, period: int = 30) -> int:
    return math.floor(now / period)


def totp(
    secret: bytes, now: float, *, period: int = 30, digits: int = 6, algorithm: str = "sha1"
) -> str:
    """The RFC 6238 code at ``now`` (epoch seconds)."""
    _check_period(period)
    return hotp(secret, totp_step(now, period), digits=digits, algorithm=algorithm)


def code_at(params: OathParameters, moving_factor: int) -> str:
    return hotp(params.secret, moving_factor, digits=params.digits, algorithm=params.algorithm)


# --- enrolment -------------------------------------------------------------------


def new_oath_parameters(
    rng: RandomBytes,
    *,
    kind: OathKind,
    issuer: str,
    account: str,
    digits: int = 6,
    algorithm: str = "sha1",
    period: int = 30,
) -> OathParameters:
    """A fresh secret as long as the hash output (160 bits for SHA-1, RFC 4226 section 4)."""
    if algorithm not in ENROLMENT_ALGORITHMS or digits not in APP_DIGITS:
        raise InvalidParameter("algorithm must be sha1/sha256/sha512 and digits 6 or 8")
    _check_period(period)
    secret = rng(hashlib.new(algorithm).digest_size)
    return OathParameters(
        kind=kind,
        secret=secret,
        issuer=issuer,
        account=account,
        digits=digits,
        algorithm=algorithm,
        period=period,
    )


def build_otpauth_uri(params: OathParameters) -> str:
    """An ``otpauth://`` URI that Google Authenticator and the ForgeRock app accept."""
    return join_uri(
        scheme="otpauth",
        host=str(params.kind),
        issuer=params.issuer or "",
        account=params.account,
        params=oath_query(params, with_issuer=params.issuer is not None),
    )


def parse_otpauth_uri(uri: str) -> OathParameters:
    split = split_uri(uri, scheme="otpauth", hosts=(OathKind.TOTP, OathKind.HOTP))
    issuer = split.params.get("issuer") or split.label_issuer
    return oath_from_params(
        kind=OathKind(split.host), issuer=issuer, account=split.account, params=split.params
    )


def oath_query(params: OathParameters, *, with_issuer: bool) -> list[tuple[str, str]]:
    if params.digits not in APP_DIGITS or params.algorithm not in _HASHES:
        raise InvalidParameter("digits must be 6 or 8 and the algorithm known")
    query = [("secret", base64.b32encode(params.secret).decode("ascii").rstrip("="))]
    if with_issuer and params.issuer is not None:
        query.append(("issuer", params.issuer))
    query += [("algorithm", params.algorithm.upper()), ("digits", str(params.digits))]
    if params.kind is OathKind.TOTP:
        query.append(("period", str(params.period)))
    else:
        query.append(("counter", str(params.counter)))
    return query


def oath_from_params(
    *, kind: OathKind, issuer: str | None, account: str, params: Mapping[str, str]
) -> OathParameters:
    try:
        digits = int(params.get("digits", "6"))
        period = int(params.get("period", "30"))
        counter = int(params.get("counter", "0"))
    except ValueError as e:
        raise InvalidUri("digits, period and counter must be integers") from e
    algorithm = params.get("algorithm", "SHA1").lower()
    if algorithm not in _HASHES or digits not in APP_DIGITS or not 0 <= counter < 2**64:
        raise InvalidUri("unsupported algorithm, digit count or counter")
    if not 1 <= period <= MAX_PERIOD:
        raise InvalidUri("unsupported period")
    return OathParameters(
        kind=kind,
        secret=_base32_secret(params.get("secret", "")),
        issuer=issuer,
        account=account,
        digits=digits,
        algorithm=algorithm,
        period=period,
        counter=counter,
    )


# --- verification ----------------------------------------------------------------


def verify_totp(
    params: OathParameters,
    code: str,
    *,
    now: float,
    window: int = DEFAULT_TOTP_WINDOW,
    last_accepted_step: int | None = None,
) -> int:
    """Return the time step ``code`` matches within ``+-window`` steps of ``now``.

    A step at or before ``last_accepted_step`` is refused (RFC 6238 section 5.2).
    """
    if window < 0:
        raise InvalidParameter("window must be >= 0")
    current = totp_step(now, params.period)
    matched = _first_match(params, code, range(max(0, current - window), current + window + 1))
    if matched is None:
        raise CodeMismatch("code does not match")
    if last_accepted_step is not None and matched <= last_accepted_step:
        raise CodeReplayed("code already used")
    return matched


def verify_hotp(
    params: OathParameters,
    code: str,
    *,
    next_counter: int,
    look_ahead: int = DEFAULT_HOTP_LOOK_AHEAD,
) -> int:
    """Return the counter in ``[next_counter, next_counter + look_ahead]`` that ``code`` matches.

    Android shows counter+1 first and iOS counter+0, so both fall in the window; the
    caller stores ``matched + 1`` as the new ``next_counter`` (resynchronisation).
    """
    if look_ahead < 0 or next_counter < 0:
        raise InvalidParameter("look-ahead and counter must be >= 0")
    matched = _first_match(params, code, range(next_counter, next_counter + look_ahead + 1))
    if matched is None:
        raise CodeMismatch("code does not match")
    return matched


def _first_match(params: OathParameters, code: str, factors: range) -> int | None:
    """Compare against every candidate (no early exit) and return the first that matched."""
    # surrogatepass: a lone surrogate (from JSON's "\ud800") is a mismatch, not a crash.
    given = code.encode("utf-8", "surrogatepass") if isinstance(code, str) else b""
    matched: int | None = None
    for factor in factors:
        if hmac.compare_digest(code_at(params, factor).encode("ascii"), given) and matched is None:
            matched = factor
    return matched


def _base32_secret(text: str) -> bytes:
    cleaned = text.replace(" ", "").rstrip("=").upper()
    try:
        secret = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError) as e:
        raise InvalidUri("secret is not base32") from e
    if len(secret) < MIN_SECRET_BYTES:
        raise InvalidUri("secret shorter than 80 bits")
    return secret


def _check_period(period: int) -> None:
    if not 1 <= period <= MAX_PERIOD:
        raise InvalidParameter(f"period must be 1..{MAX_PERIOD} seconds")
