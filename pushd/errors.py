"""The one place errors become HTTP answers: ``{"error": {"code", "message"}}``.

Codes are stable and documented in the OpenAPI spec; messages are for people.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from mfa_core.errors import (
    AlternativeMethodUnavailable,
    AttemptsExhausted,
    DeviceLimitReached,
    DuplicateDevice,
    Expired,
    IllegalTransition,
    MalformedInput,
    MfaError,
    ReauthenticationRequired,
    ResendLimitReached,
    RuleViolation,
    UnknownDevice,
    VerificationFailed,
)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.details = dict(details or {})

    def body(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        error.update(self.details)
        return {"error": error}


def invalid_request(message: str) -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, "invalid_request", message)


def not_found(what: str) -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no such {what}")


def conflict(code: str, message: str, **details: object) -> ApiError:
    return ApiError(HTTPStatus.CONFLICT, code, message, details=details)


def rate_limited(
    retry_after: float, message: str = "too many attempts; try again later"
) -> ApiError:
    seconds = max(1, int(retry_after + 0.999))
    return ApiError(
        HTTPStatus.TOO_MANY_REQUESTS,
        "rate_limited",
        message,
        headers={"Retry-After": str(seconds)},
        details={"retry_after": seconds},
    )


# Most specific first: the first class an error is an instance of decides.
_MFA_STATUS: tuple[tuple[type[MfaError], int], ...] = (
    (ReauthenticationRequired, HTTPStatus.FORBIDDEN),
    (UnknownDevice, HTTPStatus.NOT_FOUND),
    (DeviceLimitReached, HTTPStatus.CONFLICT),
    (DuplicateDevice, HTTPStatus.CONFLICT),
    (AlternativeMethodUnavailable, HTTPStatus.CONFLICT),
    (Expired, HTTPStatus.GONE),
    (AttemptsExhausted, HTTPStatus.TOO_MANY_REQUESTS),
    (ResendLimitReached, HTTPStatus.TOO_MANY_REQUESTS),
    (RuleViolation, HTTPStatus.CONFLICT),
    (IllegalTransition, HTTPStatus.CONFLICT),
    (VerificationFailed, HTTPStatus.UNAUTHORIZED),
    (MalformedInput, HTTPStatus.BAD_REQUEST),
)


def from_mfa_error(error: MfaError) -> ApiError:
    status = next(
        (code for cls, code in _MFA_STATUS if isinstance(error, cls)), HTTPStatus.BAD_REQUEST
    )
    return ApiError(status, error.reason, error.detail)
