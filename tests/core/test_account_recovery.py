from __future__ import annotations

from dataclasses import replace

import pytest

from mfa_core import account_recovery as ar
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
from tests.support.rng import seeded_rng

KEY = b"k" * 32
NOW = 50_000.0
CONTACT = ar.ContactDetails(
    email="alice@example.com", email_verified=True, phone="+44 20 7946 0958"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("+44 20 7946 0958", "+442079460958"), ("+1 (650) 253-0000", "+16502530000")],
)
def test_phone_numbers_normalise_to_e164(text: str, expected: str) -> None:
    assert ar.normalise_phone(text) == expected


@pytest.mark.parametrize("text", ["020 7946 0958", "+44 12", "+999 1234567", "+abc", "", None])
def test_phone_numbers_need_a_country_code_and_must_be_valid(text: object) -> None:
    with pytest.raises(InvalidPhoneNumber):
        ar.normalise_phone(text)  # type: ignore[arg-type]


def test_contact_review_due() -> None:
    assert ar.contact_review_due(None, now=NOW, every_days=90)
    assert not ar.contact_review_due(NOW - 86400, now=NOW, every_days=90)
    assert ar.contact_review_due(NOW - 90 * 86400, now=NOW, every_days=90)


@pytest.mark.parametrize(
    ("contact", "missing"),
    [
        (CONTACT, ()),
        (replace(CONTACT, phone=None), ("sms",)),
        (replace(CONTACT, phone="07946 0958"), ("sms",)),
        (replace(CONTACT, email_verified=False), ("email",)),
        (replace(CONTACT, email=None, phone=None), ("sms", "email")),
    ],
)
def test_missing_channels(contact: ar.ContactDetails, missing: tuple[str, ...]) -> None:
    assert ar.missing_channels(contact) == missing
    if missing:
        with pytest.raises(AlternativeMethodUnavailable):
            ar.start_alternative(contact, rng=seeded_rng(), now=NOW, key=KEY)


def start() -> ar.IssuedCodes:
    return ar.start_alternative(CONTACT, rng=seeded_rng(), now=NOW, key=KEY)


def test_both_codes_are_required() -> None:
    issued = start()
    challenge = issued.challenge
    assert (challenge.phone, challenge.sends, challenge.expires_at) == (
        "+442079460958",
        1,
        NOW + 600,
    )
    assert issued.sms_code != issued.email_code
    assert issued.sms_code.encode() not in repr(challenge).encode()
    attempt = ar.register_attempt(challenge, now=NOW + 1)
    assert attempt.attempts == 1
    for sms, email in ((issued.sms_code, "000000"), ("000000", issued.email_code), ("", "")):
        with pytest.raises(CodeMismatch):
            ar.check_codes(attempt, sms_code=sms, email_code=email, key=KEY)
    done = ar.check_codes(attempt, sms_code=issued.sms_code, email_code=issued.email_code, key=KEY)
    assert done.completed
    with pytest.raises(CodeReplayed):
        ar.register_attempt(done, now=NOW + 2)
    with pytest.raises(CodeReplayed):
        ar.resend_alternative(done, rng=seeded_rng(), now=NOW, key=KEY)


def test_attempt_limit_and_expiry() -> None:
    challenge = start().challenge
    for _ in range(5):
        challenge = ar.register_attempt(challenge, now=NOW + 1)
    with pytest.raises(AttemptsExhausted):
        ar.register_attempt(challenge, now=NOW + 1)
    with pytest.raises(Expired):
        ar.register_attempt(start().challenge, now=NOW + 600)


def test_resend_issues_new_codes_up_to_the_limit() -> None:
    issued = start()
    again = ar.resend_alternative(issued.challenge, rng=seeded_rng(9), now=NOW + 30, key=KEY)
    assert again.challenge.sends == 2
    assert again.challenge.expires_at == NOW + 630
    attempt = ar.register_attempt(again.challenge, now=NOW + 31)
    with pytest.raises(CodeMismatch):  # the first codes no longer work
        ar.check_codes(attempt, sms_code=issued.sms_code, email_code=issued.email_code, key=KEY)
    third = ar.resend_alternative(again.challenge, rng=seeded_rng(10), now=NOW, key=KEY)
    with pytest.raises(ResendLimitReached):
        ar.resend_alternative(third.challenge, rng=seeded_rng(11), now=NOW, key=KEY)


def test_limits_are_settable_and_the_key_is_checked() -> None:
    limits = ar.AlternativeLimits(ttl_seconds=60, max_attempts=1, max_sends=1)
    issued = ar.start_alternative(CONTACT, rng=seeded_rng(), now=NOW, key=KEY, limits=limits)
    assert issued.challenge.expires_at == NOW + 60
    with pytest.raises(ResendLimitReached):
        ar.resend_alternative(issued.challenge, rng=seeded_rng(), now=NOW, key=KEY)
    with pytest.raises(InvalidParameter):
        ar.start_alternative(CONTACT, rng=seeded_rng(), now=NOW, key=b"short")


# --- manual verification -------------------------------------------------------------


def case_with_evidence() -> ar.ManualCase:
    opened = ar.open_case(case_id="c1", username="alice", now=NOW)
    assert opened.state is ar.CaseState.OPENED
    return ar.attach_evidence(opened, evidence_ref="blob-1")


def all_checked(case: ar.ManualCase, *, passed: bool = True) -> ar.ManualCase:
    for check in ar.CaseCheck:
        case = ar.record_check(case, check, passed=passed, operator="op", now=NOW + 1)
    return case


def test_case_approved_then_closed_destroys_evidence() -> None:
    case = all_checked(case_with_evidence())
    assert case.state is ar.CaseState.EVIDENCE_RECEIVED
    approved = ar.approve_case(case, operator="op", now=NOW + 2, note="ok")
    assert (approved.state, approved.decided_by, approved.decided_at) == (
        ar.CaseState.APPROVED,
        "op",
        NOW + 2,
    )
    closed = ar.close_case(approved, now=NOW + 3)
    assert (closed.state, closed.evidence_ref, closed.evidence_destroyed) == (
        ar.CaseState.CLOSED,
        None,
        True,
    )
    with pytest.raises(IllegalTransition):
        ar.attach_evidence(closed, evidence_ref="again")


def test_approval_needs_every_check_passed() -> None:
    case = case_with_evidence()
    with pytest.raises(IllegalTransition) as caught:
        ar.approve_case(case, operator="op", now=NOW)
    assert caught.value.reason == "checks_incomplete"
    failing = ar.record_check(
        all_checked(case), ar.CaseCheck.NAMES_MATCH, passed=False, operator="op2", now=NOW + 5
    )
    assert len(failing.checks) == 3  # the new result replaced the old one
    assert failing.check(ar.CaseCheck.NAMES_MATCH) == ar.CheckRecord(
        check=ar.CaseCheck.NAMES_MATCH, passed=False, operator="op2", at=NOW + 5
    )
    with pytest.raises(IllegalTransition):
        ar.approve_case(failing, operator="op", now=NOW)


def test_reject_from_opened_or_with_evidence() -> None:
    opened = ar.open_case(case_id="c2", username="bob", now=NOW)
    assert opened.check(ar.CaseCheck.NAMES_MATCH) is None
    rejected = ar.reject_case(opened, operator="op", now=NOW, note="no document")
    assert rejected.state is ar.CaseState.REJECTED
    assert ar.close_case(rejected, now=NOW).evidence_destroyed
    assert ar.reject_case(case_with_evidence(), operator="op", now=NOW).state is (
        ar.CaseState.REJECTED
    )


def test_case_moves_outside_the_table_are_refused() -> None:
    opened = ar.open_case(case_id="c3", username="c", now=NOW)
    with pytest.raises(IllegalTransition):
        ar.record_check(opened, ar.CaseCheck.NAMES_MATCH, passed=True, operator="o", now=NOW)
    with pytest.raises(IllegalTransition):
        ar.close_case(opened, now=NOW)
    replaced = ar.attach_evidence(case_with_evidence(), evidence_ref="blob-2")
    assert replaced.evidence_ref == "blob-2"
