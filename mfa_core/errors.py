"""The one error tree of mfa_core.

Every error carries a stable, machine-readable ``reason``; callers map reasons to
their own answers (pushd maps them to HTTP status codes in one place).
"""

from __future__ import annotations


class MfaError(Exception):
    """Root of everything mfa_core raises on bad input or a refused operation."""

    reason: str = "mfa_error"

    def __init__(self, detail: str = "", *, reason: str | None = None) -> None:
        if reason is not None:
            self.reason = reason
        super().__init__(detail or self.reason)

    @property
    def detail(self) -> str:
        return str(self.args[0])


# --- input that does not parse -------------------------------------------------


class MalformedInput(MfaError):
    reason = "malformed"


class InvalidEncoding(MalformedInput):
    reason = "invalid_encoding"


class InvalidUri(MalformedInput):
    reason = "invalid_uri"


class InvalidMessageId(MalformedInput):
    reason = "invalid_message_id"


class InvalidDeviceReply(MalformedInput):
    reason = "invalid_device_reply"


class InvalidJwt(MalformedInput):
    """A compact JWS that is malformed, too large, of another algorithm or wrongly signed."""

    reason = "jwt_malformed"


class InvalidPhoneNumber(MalformedInput):
    reason = "invalid_phone_number"


class InvalidParameter(MalformedInput):
    """A caller-supplied setting outside what the protocol or the apps accept."""

    reason = "invalid_parameter"


# --- a secret, code or signature that does not verify --------------------------


class VerificationFailed(MfaError):
    reason = "verification_failed"


class CodeMismatch(VerificationFailed):
    reason = "code_mismatch"


class CodeReplayed(VerificationFailed):
    reason = "code_replayed"


class ResponseMismatch(VerificationFailed):
    reason = "response_mismatch"


class WebAuthnRejected(VerificationFailed):
    reason = "webauthn_rejected"


class PossibleClonedAuthenticator(VerificationFailed):
    """The signature verified but the sign count did not move forward."""

    reason = "sign_count_regressed"


# --- a state machine asked for a move it does not allow ------------------------


class IllegalTransition(MfaError):
    reason = "illegal_transition"


# --- a rule of the product refuses the operation -------------------------------


class RuleViolation(MfaError):
    reason = "rule_violation"


class DeviceLimitReached(RuleViolation):
    reason = "device_limit"


class DuplicateDevice(RuleViolation):
    reason = "duplicate_device"


class UnknownDevice(RuleViolation):
    reason = "unknown_device"


class ReauthenticationRequired(RuleViolation):
    reason = "reauthentication_required"


class AlternativeMethodUnavailable(RuleViolation):
    reason = "alternative_unavailable"


class Expired(RuleViolation):
    reason = "expired"


class AttemptsExhausted(RuleViolation):
    reason = "attempts_exhausted"


class ResendLimitReached(RuleViolation):
    reason = "resend_limit"
