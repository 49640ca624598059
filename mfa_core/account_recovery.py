"""Getting back into an account without the second factor.

1. The alternative method: one code by SMS to an E.164 number and one by email,
   both required, with expiry, attempt and resend limits.
2. Manual verification: an operator checks a photo ID; the case ends closed with
   the evidence destroyed.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, replace

import phonenumbers

from mfa_core.entropy import RandomBytes, random_string
from mfa_core.errors import (
    AlternativeMethodUnavailable,
    AttemptsExhausted,
    CodeMismatch,
    CodeReplayed,
    Expired,
    IllegalTransition,
    InvalidParameter,
    InvalidPhoneNumber,
    ResendLimitReached,
)

CODE_DIGITS = 6
SALT_BYTES = 16
MIN_KEY_BYTES = 32


def normalise_phone(text: str) -> str:
    """An E.164 number (``+`` and country code required), or :class:`InvalidPhoneNumber`."""
    if not isinstance(text, str) or not text.strip().startswith("+") or len(text) > 64:
        raise InvalidPhoneNumber("a phone number needs its country code, like +44 20 7946 0958")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as e:
        raise InvalidPhoneNumber("not a phone number") from e
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # libphonenumber calls some 16-digit German numbers valid; E.164 (and SMS gateways)
    # stop at 15 digits.
    if not phonenumbers.is_valid_number(number) or len(e164) > 16:
        raise InvalidPhoneNumber("not a valid phone number")
    return e164


def contact_review_due(last_confirmed_at: float | None, *, now: float, every_days: int) -> bool:
    """Whether the login should ask the user to confirm their phone and email again."""
    return last_confirmed_at is None or now - last_confirmed_at >= every_days * 86400


# --- the alternative method ----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactDetails:
    email: str | None
    email_verified: bool
    phone: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlternativeLimits:
    ttl_seconds: float = 600.0
    max_attempts: int = 5
    max_sends: int = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class AlternativeChallenge:
    phone: str
    email: str
    salt: bytes
    sms_digest: bytes
    email_digest: bytes
    expires_at: float
    limits: AlternativeLimits
    attempts: int = 0
    sends: int = 1
    completed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedCodes:
    """The challenge to store and the two codes to send (never stored in clear)."""

    challenge: AlternativeChallenge
    sms_code: str
    email_code: str


def missing_channels(contact: ContactDetails) -> tuple[str, ...]:
    """Which of ``sms`` and ``email`` this account cannot use; empty when both work."""
    phone, email = _usable_channels(contact)
    return tuple(name for name, usable in (("sms", phone), ("email", email)) if usable is None)


def start_alternative(
    contact: ContactDetails,
    *,
    rng: RandomBytes,
    now: float,
    key: bytes,
    limits: AlternativeLimits | None = None,
) -> IssuedCodes:
    phone, email = _usable_channels(contact)
    if phone is None or email is None:
        missing = " or ".join(missing_channels(contact))
        raise AlternativeMethodUnavailable(f"unavailable: no usable {missing}")
    limits = limits or AlternativeLimits()
    unsent = AlternativeChallenge(
        phone=phone,
        email=email,
        salt=b"",
        sms_digest=b"",
        email_digest=b"",
        expires_at=now,
        limits=limits,
        sends=0,
    )
    return _issue(unsent, rng=rng, now=now, key=key)


def _usable_channels(contact: ContactDetails) -> tuple[str | None, str | None]:
    try:
        phone: str | None = normalise_phone(contact.phone or "")
    except InvalidPhoneNumber:
        phone = None
    email = contact.email if contact.email and contact.email_verified else None
    return phone, email


def resend_alternative(
    challenge: AlternativeChallenge, *, rng: RandomBytes, now: float, key: bytes
) -> IssuedCodes:
    """Fresh codes on both channels (the old ones stop working); attempts carry over."""
    if challenge.completed:
        raise CodeReplayed("this recovery is already complete")
    if challenge.sends >= challenge.limits.max_sends:
        raise ResendLimitReached("no more codes can be sent; try again later")
    return _issue(challenge, rng=rng, now=now, key=key)


def register_attempt(challenge: AlternativeChallenge, *, now: float) -> AlternativeChallenge:
    """Count an attempt before checking it, so guesses are limited even if the check crashes."""
    if challenge.completed:
        raise CodeReplayed("this recovery is already complete")
    if now >= challenge.expires_at:
        raise Expired("the codes have expired; ask for new ones")
    if challenge.attempts >= challenge.limits.max_attempts:
        raise AttemptsExhausted("too many wrong codes")
    return replace(challenge, attempts=challenge.attempts + 1)


def check_codes(
    challenge: AlternativeChallenge, *, sms_code: str, email_code: str, key: bytes
) -> AlternativeChallenge:
    """Both codes must match (compared in constant time); returns the completed challenge."""
    sms_ok = hmac.compare_digest(_digest(sms_code, key, challenge.salt), challenge.sms_digest)
    email_ok = hmac.compare_digest(_digest(email_code, key, challenge.salt), challenge.email_digest)
    if not (sms_ok and email_ok):
        raise CodeMismatch("both codes are needed and must be right")
    return replace(challenge, completed=True)


def _issue(base: AlternativeChallenge, *, rng: RandomBytes, now: float, key: bytes) -> IssuedCodes:
    sms_code = random_string(rng, "0123456789", CODE_DIGITS)
    email_code = random_string(rng, "0123456789", CODE_DIGITS)
    salt = rng(SALT_BYTES)
    challenge = replace(
        base,
        salt=salt,
        sms_digest=_digest(sms_code, key, salt),
        email_digest=_digest(email_code, key, salt),
        expires_at=now + base.limits.ttl_seconds,
        sends=base.sends + 1,
    )
    return IssuedCodes(challenge=challenge, sms_code=sms_code, email_code=email_code)


def _digest(code: str, key: bytes, salt: bytes) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise InvalidParameter("the hashing key must be at least 32 bytes")
    text = code.strip() if isinstance(code, str) else ""
    return hmac.new(key, salt + text.encode("utf-8"), hashlib.sha256).digest()


# --- manual verification ---------------------------------------------------------------


class CaseState(enum.StrEnum):
    OPENED = "opened"
    EVIDENCE_RECEIVED = "evidence_received"
    APPROVED = "approved"
    REJECTED = "rejected"
    CLOSED = "closed"


class CaseCheck(enum.StrEnum):
    NAMES_MATCH = "names_match"  # the name on the ID matches the account
    FROM_REGISTERED_EMAIL = "from_registered_email"  # the request came from the account's email
    AVATAR_MATCHES = "avatar_matches"  # the avatar matches the photo, or shows no human face


class CaseEvent(enum.StrEnum):
    ATTACH_EVIDENCE = "attach_evidence"
    RECORD_CHECK = "record_check"
    APPROVE = "approve"
    REJECT = "reject"
    CLOSE = "close"


_CASE_TRANSITIONS: Mapping[tuple[CaseState, CaseEvent], CaseState] = {
    (CaseState.OPENED, CaseEvent.ATTACH_EVIDENCE): CaseState.EVIDENCE_RECEIVED,
    (CaseState.EVIDENCE_RECEIVED, CaseEvent.ATTACH_EVIDENCE): CaseState.EVIDENCE_RECEIVED,
    (CaseState.EVIDENCE_RECEIVED, CaseEvent.RECORD_CHECK): CaseState.EVIDENCE_RECEIVED,
    (CaseState.EVIDENCE_RECEIVED, CaseEvent.APPROVE): CaseState.APPROVED,
    (CaseState.OPENED, CaseEvent.REJECT): CaseState.REJECTED,
    (CaseState.EVIDENCE_RECEIVED, CaseEvent.REJECT): CaseState.REJECTED,
    (CaseState.APPROVED, CaseEvent.CLOSE): CaseState.CLOSED,
    (CaseState.REJECTED, CaseEvent.CLOSE): CaseState.CLOSED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckRecord:
    check: CaseCheck
    passed: bool
    operator: str
    at: float
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ManualCase:
    case_id: str
    username: str
    state: CaseState
    opened_at: float
    evidence_ref: str | None = None
    checks: tuple[CheckRecord, ...] = ()
    decided_by: str | None = None
    decided_at: float | None = None
    decision_note: str = ""
    closed_at: float | None = None
    evidence_destroyed: bool = False

    def check(self, check: CaseCheck) -> CheckRecord | None:
        return next((record for record in self.checks if record.check is check), None)


def open_case(*, case_id: str, username: str, now: float) -> ManualCase:
    return ManualCase(case_id=case_id, username=username, state=CaseState.OPENED, opened_at=now)


def attach_evidence(case: ManualCase, *, evidence_ref: str) -> ManualCase:
    """Record where the (encrypted) ID document is kept; a new upload replaces the old."""
    return replace(case, state=_next(case, CaseEvent.ATTACH_EVIDENCE), evidence_ref=evidence_ref)


def record_check(
    case: ManualCase, check: CaseCheck, *, passed: bool, operator: str, now: float, note: str = ""
) -> ManualCase:
    record = CheckRecord(check=check, passed=passed, operator=operator, at=now, note=note)
    others = tuple(r for r in case.checks if r.check is not check)
    return replace(case, state=_next(case, CaseEvent.RECORD_CHECK), checks=(*others, record))


def approve_case(case: ManualCase, *, operator: str, now: float, note: str = "") -> ManualCase:
    """Approval needs every check recorded and passed."""
    failing = [c for c in CaseCheck if (r := case.check(c)) is None or not r.passed]
    if failing:
        raise IllegalTransition(
            f"checks not passed: {', '.join(failing)}", reason="checks_incomplete"
        )
    return _decide(case, CaseEvent.APPROVE, operator=operator, now=now, note=note)


def reject_case(case: ManualCase, *, operator: str, now: float, note: str = "") -> ManualCase:
    return _decide(case, CaseEvent.REJECT, operator=operator, now=now, note=note)


def close_case(case: ManualCase, *, now: float) -> ManualCase:
    """Close a decided case; the caller destroys every copy of the evidence it names."""
    return replace(
        case,
        state=_next(case, CaseEvent.CLOSE),
        closed_at=now,
        evidence_ref=None,
        evidence_destroyed=True,
    )


def _decide(
    case: ManualCase, event: CaseEvent, *, operator: str, now: float, note: str
) -> ManualCase:
    return replace(
        case, state=_next(case, event), decided_by=operator, decided_at=now, decision_note=note
    )


def _next(case: ManualCase, event: CaseEvent) -> CaseState:
    target = _CASE_TRANSITIONS.get((case.state, event))
    if target is None:
        raise IllegalTransition(f"a case that is {case.state} cannot take {event}")
    return target
