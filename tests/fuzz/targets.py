"""One oracle per parser of outside input.

Each ``check_*`` takes one input, lets the parser refuse it with its documented error, and
asserts what must hold of anything it accepts (invariants, build -> parse round trips).
Any other exception escapes: that is a crash. The Hypothesis tests in tests/fuzz/, the
atheris harnesses in fuzz/ and the stored-crash replays (tests/fuzz/crashes/) all call
these same functions, so a property is written once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import hmac
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from mfa_core.account_recovery import normalise_phone
from mfa_core.encoding import b64url_encode
from mfa_core.errors import (
    CodeMismatch,
    CodeReplayed,
    InvalidDeviceReply,
    InvalidJwt,
    InvalidMessageId,
    InvalidParameter,
    InvalidPhoneNumber,
    InvalidUri,
    ResponseMismatch,
)
from mfa_core.jsonutil import parse_json_object
from mfa_core.jws import sign_jwt, verify_jwt
from mfa_core.message_id import parse_message_id
from mfa_core.oath import (
    APP_DIGITS,
    MAX_PERIOD,
    OathKind,
    OathParameters,
    build_otpauth_uri,
    parse_otpauth_uri,
    verify_hotp,
    verify_totp,
)
from mfa_core.push import (
    parse_notification_claims,
    parse_number_choices,
    verify_challenge_response,
)
from mfa_core.push_poll import parse_poll_claims
from mfa_core.push_replies import (
    MAX_BODY_BYTES,
    MAX_FIELD_CHARS,
    parse_authentication_claims,
    parse_device_envelope,
    parse_device_info,
    parse_refresh_envelope,
    parse_registration_claims,
)
from mfa_core.push_uri import (
    MIN_SECRET_BYTES,
    CombinedRegistration,
    PushRegistration,
    build_combined_uri,
    build_registration_uri,
    parse_combined_uri,
    parse_registration_uri,
)
from mfa_core.recovery import RecoveryCodeSet, redeem_recovery_code
from pushd.store import records
from pushd.store.codec import CodecError, decode, encode

KEY = bytes(range(32))  # the HS256 key of every token the oracles sign
NOW = 1_700_000_000.0  # the clock the poll-claims parser is given

# Every record type pushd's tables decode from the store (pushd/store/tables.py).
RECORD_TYPES: tuple[type[Any], ...] = (
    records.UserRecord,
    records.ChallengeRecord,
    records.RegistrationRecord,
    records.PushGuard,
    records.ApiKeyRecord,
    records.SealedValue,
    records.Seen,
    records.OtpEnrolment,
    records.Ceremony,
    records.Reauthentication,
    records.Throttle,
    records.EmailToken,
    records.AlternativeRecord,
    records.CaseRecord,
    records.SessionRecord,
)


def text_of(data: bytes) -> str:
    """Any bytes as a Python string (invalid UTF-8 becomes lone surrogates, as it can be)."""
    return data.decode("utf-8", "surrogateescape")


def storable(value: str) -> bool:
    """Text pushd can write to SQLite, Redis or a log: it encodes as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def splice(original: str, at: int, cut: int, insert: str) -> str:
    """A mutation: ``cut`` characters at ``at`` (both wrapped into range) replaced by ``insert``."""
    at %= len(original) + 1
    return original[:at] + insert + original[at + cut % 8 :]


# --- registration and OATH URIs -------------------------------------------------------


def check_push_uri(text: str) -> None:
    """``pushauth://``: only InvalidUri; what parses is a usable registration and round-trips."""
    try:
        registration = parse_registration_uri(text)
    except InvalidUri:
        pass
    else:
        _check_push_registration(registration)
        try:
            rebuilt = build_registration_uri(registration)
        except InvalidParameter:  # parsing is more lenient than building (e.g. the colour)
            pass
        else:
            assert parse_registration_uri(rebuilt) == registration, rebuilt
    try:
        combined = parse_combined_uri(text)
    except InvalidUri:
        return
    _check_push_registration(combined.push)
    _check_oath(combined.oath)
    try:
        rebuilt = build_combined_uri(combined)
    except InvalidParameter:
        return
    again = parse_combined_uri(rebuilt)
    assert again == CombinedRegistration(push=combined.push, oath=normalised(combined.oath))


def _check_push_registration(registration: PushRegistration) -> None:
    assert len(registration.secret) >= MIN_SECRET_BYTES
    assert registration.challenge
    assert "_action=register" in registration.registration_url
    assert registration.issuer
    assert registration.account
    for value in (registration.issuer, registration.account, registration.registration_url):
        assert storable(value), value


def check_otpauth_uri(text: str) -> None:
    """``otpauth://``: only InvalidUri; what parses is in range and round-trips."""
    try:
        params = parse_otpauth_uri(text)
    except InvalidUri:
        return
    _check_oath(params)
    assert params.issuer is None or params.issuer
    rebuilt = build_otpauth_uri(params)
    assert parse_otpauth_uri(rebuilt) == normalised(params), rebuilt


def _check_oath(params: OathParameters) -> None:
    assert params.digits in APP_DIGITS
    assert 1 <= params.period <= MAX_PERIOD
    assert 0 <= params.counter < 2**64
    assert len(params.secret) >= 10
    assert params.account
    assert hashlib.new(params.algorithm).digest_size > 0


def normalised(params: OathParameters) -> OathParameters:
    """What a URI keeps: HOTP has no period and TOTP no counter (both take their defaults)."""
    if params.kind is OathKind.HOTP:
        return replace(params, period=30)
    return replace(params, counter=0)


# --- compact JWS -----------------------------------------------------------------------


def mac_segment(signing_input: str, key: bytes = KEY) -> str:
    return b64url_encode(hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest())


def check_jws(token: str) -> None:
    """Only InvalidJwt; a token that verifies carries the one canonical spelling of its MAC."""
    try:
        claims = verify_jwt(token, KEY)
    except InvalidJwt:
        return
    header, payload, signature = token.split(".")
    assert signature.rstrip("=") == mac_segment(f"{header}.{payload}"), token
    assert isinstance(claims, dict)


def check_jws_mutant(original: str, mutant: str) -> None:
    """A changed token never verifies (the signature's optional ``=`` padding aside)."""
    try:
        verify_jwt(mutant, KEY)
    except InvalidJwt:
        return
    assert mutant.rstrip("=") == original.rstrip("="), mutant


# --- what the phone sends --------------------------------------------------------------


def check_device_body(body: bytes) -> None:
    """The JSON envelope of every device request: only InvalidDeviceReply, usable fields."""
    try:
        envelope = parse_device_envelope(body)
    except InvalidDeviceReply:
        pass
    else:
        assert 0 < len(envelope.message_id) <= MAX_FIELD_CHARS
        assert 0 < len(envelope.jwt) <= MAX_BODY_BYTES
        assert storable(envelope.message_id)
        assert storable(envelope.jwt)
        check_message_id(envelope.message_id)
    try:
        refresh = parse_refresh_envelope(body)
    except InvalidDeviceReply:
        return
    assert 0 < len(refresh.mechanism_uid) <= MAX_FIELD_CHARS
    assert storable(refresh.mechanism_uid)
    assert storable(refresh.jwt)
    assert refresh.username is None or storable(refresh.username)


def check_message_id(text: object) -> None:
    try:
        parsed = parse_message_id(text)
    except InvalidMessageId:
        return
    assert parse_message_id(str(parsed)) == parsed


def check_device_claims(claims: Mapping[str, object]) -> None:
    """The claims of a verified device JWT, through every parser: only InvalidDeviceReply."""
    parsers: tuple[Callable[[Mapping[str, object]], object], ...] = (
        parse_registration_claims,
        parse_authentication_claims,
        parse_device_info,
        lambda c: parse_poll_claims(c, now=NOW),
        parse_notification_claims,
    )
    for parser in parsers:
        try:
            parsed = parser(claims)
        except InvalidDeviceReply:
            continue
        for value in _strings(parsed):
            assert storable(value), (parser, value)
    with contextlib.suppress(ResponseMismatch):
        verify_challenge_response(KEY, b"challenge", claims.get("response"))
    with contextlib.suppress(InvalidDeviceReply):
        parse_number_choices(claims.get("n"))


def check_device_claims_json(payload: bytes) -> None:
    """A JWT payload as pushd reads it (verify_jwt) after the signature checked out."""
    try:
        claims = parse_json_object(payload, InvalidJwt)
    except InvalidJwt:
        return
    check_device_claims(claims)


def _strings(value: object) -> list[str]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [s for f in dataclasses.fields(value) for s in _strings(getattr(value, f.name))]
    if isinstance(value, (tuple, list)):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


# --- codes typed by people -------------------------------------------------------------

_OATH = OathParameters(kind=OathKind.TOTP, secret=KEY[:20], account="alice")
_CODES = RecoveryCodeSet(
    owner="d", salt=b"salt", digests=(b"x" * 32,), used=frozenset(), created_at=0
)


def check_code(code: str) -> None:
    """One-time passwords and recovery codes: a wrong one is a mismatch, never a crash."""
    with contextlib.suppress(CodeMismatch, CodeReplayed):
        verify_totp(_OATH, code, now=NOW)
    with contextlib.suppress(CodeMismatch):
        verify_hotp(replace(_OATH, kind=OathKind.HOTP), code, next_counter=0)
    with contextlib.suppress(CodeMismatch, CodeReplayed):
        redeem_recovery_code((_CODES,), code, key=KEY)


_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def check_phone(text: str) -> None:
    """E.164 input: only InvalidPhoneNumber; what parses is E.164 and a fixed point."""
    try:
        number = normalise_phone(text)
    except InvalidPhoneNumber:
        return
    assert _E164.fullmatch(number), number
    assert normalise_phone(number) == number


# --- stored records ---------------------------------------------------------------------


def check_record(data: bytes, cls: type[Any]) -> None:
    """Only CodecError; a record that decodes is whole and well typed, and re-encodes stably."""
    try:
        record = decode(data, cls)
    except CodecError:
        return
    problem = conformance(record, cls)
    assert problem is None, f"{cls.__name__}: {problem}"
    again = encode(record)
    assert encode(decode(again, cls)) == again


def conformance(value: Any, hint: Any, path: str = "") -> str | None:  # noqa: PLR0911, PLR0912
    """None when ``value`` is exactly of type ``hint`` all the way down, else where it is not."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if all(conformance(value, option, path) is not None for option in args):
            return f"{path}: {value!r} is none of {args}"
        return None
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if type(value) is not hint:
            return f"{path}: {type(value).__name__} is not {hint.__name__}"
        hints = typing.get_type_hints(hint)
        for f in dataclasses.fields(hint):
            problem = conformance(getattr(value, f.name), hints[f.name], f"{path}.{f.name}")
            if problem:
                return problem
        return None
    if origin is tuple:
        if not isinstance(value, tuple):
            return f"{path}: not a tuple"
        if len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],) * len(value)
        if len(args) != len(value):
            return f"{path}: {len(value)} items where {len(args)} belong"
        return next(
            (p for i, a in enumerate(args) if (p := conformance(value[i], a, f"{path}[{i}]"))),
            None,
        )
    if origin is frozenset:
        if not isinstance(value, frozenset):
            return f"{path}: not a frozenset"
        return next((p for v in value if (p := conformance(v, args[0], path))), None)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return None if type(value) is hint else f"{path}: {value!r} is not a {hint.__name__}"
    if hint is type(None):
        return None if value is None else f"{path}: {value!r} is not None"
    if hint in (str, bytes, int, float, bool):
        return None if type(value) is hint else f"{path}: {value!r} is not {hint.__name__}"
    return f"{path}: no rule for {hint!r}"  # pragma: no cover (a new field type: teach it)


# --- byte-level entry points: what each atheris harness feeds, and what crashes replay ----

JWS_TOKEN = sign_jwt({"response": "x", "mechanismUid": "m", "deny": True}, KEY)


def fuzz_push_uri(data: bytes) -> None:
    check_push_uri(text_of(data))


def fuzz_otpauth_uri(data: bytes) -> None:
    check_otpauth_uri(text_of(data))


def fuzz_jws(data: bytes) -> None:
    """First byte even: the rest is a token. Odd: a mutation of a valid token (position,
    characters cut, text inserted)."""
    if len(data) < 3 or data[0] % 2 == 0:
        check_jws(text_of(data[1:]))
    else:
        check_jws_mutant(JWS_TOKEN, splice(JWS_TOKEN, data[1], data[2], text_of(data[3:])))


def fuzz_device_reply(data: bytes) -> None:
    """The same bytes as a device request body and as a verified JWT's payload."""
    check_device_body(data)
    check_device_claims_json(data)
    check_message_id(text_of(data))


def fuzz_record(data: bytes) -> None:
    """First byte picks the record type; the rest is what the store handed back."""
    if data:
        check_record(data[1:], RECORD_TYPES[data[0] % len(RECORD_TYPES)])


def fuzz_people_input(data: bytes) -> None:
    """What people type: a phone number, a one-time password, a recovery code."""
    text = text_of(data)
    check_phone(text)
    check_code(text)


BYTE_TARGETS: dict[str, Callable[[bytes], None]] = {
    "push_uri": fuzz_push_uri,
    "otpauth_uri": fuzz_otpauth_uri,
    "jws": fuzz_jws,
    "device_reply": fuzz_device_reply,
    "records": fuzz_record,
    "people_input": fuzz_people_input,
}
