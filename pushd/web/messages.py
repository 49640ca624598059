"""What a person reads when something is refused: one clear sentence per error code."""

from __future__ import annotations

from mfa_core.errors import MfaError
from pushd.errors import ApiError, from_mfa_error

MESSAGES = {
    "invalid_credentials": "That username or password is not right.",
    "invalid_code": "That code is not right. Check it and try again.",
    "invalid_token": "This link is not valid any more. Ask for a new one.",
    "username_taken": "That username is taken. Choose another.",
    "email_taken": "An account already uses that email address. Sign in, or reset its password.",
    "push_suspended": "Push sign-in is suspended for your account after repeated denials."
    " Use another method, or ask the help desk to lift the suspension.",
    "challenge_pending": "A sign-in request is already waiting on your phone. Answer it, or"
    " wait until it expires.",
    "no_push_device": "You have no phone registered for push sign-in.",
    "push_device_unreachable": "We cannot reach your phone: open the authenticator app so it"
    " reconnects, then try again, or use another method.",
    "push_device_exists": "You already have a phone registered for push. Remove it first.",
    "device_limit": "You cannot add another device of this kind.",
    "unknown_device": "That device is not registered any more.",
    "duplicate_device": "That security key is already registered.",
    "already_enrolled": "You have devices registered, so two-step verification stays on.",
    "not_opted_out": "Two-step verification is already on.",
    "reauthentication_required": "Confirm your password first.",
    "alternative_unavailable": "The alternative method needs a phone number (with its country"
    " code) and a verified email address on your account. Ask for manual verification instead.",
    "attempts_exhausted": "Too many wrong codes. Ask for new codes.",
    "resend_limit": "No more codes can be sent. Ask for manual verification instead.",
    "already_used": "This recovery is already complete.",
    "expired": "These codes have expired. Ask for new ones.",
    "case_open": "You already have an open case. We will email you when it is decided.",
    "case_closed": "This case is closed.",
    "unsupported_media_type": "Send a photo (JPEG or PNG) or a PDF of your ID.",
    "payload_too_large": "That file is too large: it must be under 10 MB.",
    "webauthn_rejected": "Your security key's answer was not accepted. Try again.",
    "possible_clone": "This security key looks copied, so it was refused. Use another method.",
    "delivery_failed": "We could not send the message. Try again in a few minutes.",
    "user_not_found": "There is no such account.",
    "not_found": "That has expired or does not exist. Start again.",
    "csrf_failed": "This form has expired or was sent from another site. Go back, reload the"
    " page and try again.",
    "unavailable": "The service is busy. Try again in a moment.",
    "internal_error": "Something went wrong on our side. Try again.",
    "already_final": "That request has already ended.",
    "moved": "This page is out of date. Continuing…",
}


def friendly(error: ApiError | MfaError) -> str:
    """One sentence for the page: the known message for the code, or the service's own."""
    api = from_mfa_error(error) if isinstance(error, MfaError) else error
    retry = api.details.get("retry_after")
    wait = f" in {retry} seconds" if isinstance(retry, int) else " later"
    if api.code == "locked":
        return f"Too many wrong attempts. Try again{wait}."
    if api.code == "rate_limited":
        return f"Too many sign-in requests. You can send another{wait}."
    if api.code in MESSAGES:
        return MESSAGES[api.code]
    text = api.message.strip().rstrip(".")
    return f"{text[:1].upper()}{text[1:]}." if text else "That did not work. Try again."


Refused = (ApiError, MfaError)  # what the services raise when they say no


def refusal(error: ApiError | MfaError) -> ApiError:
    return from_mfa_error(error) if isinstance(error, MfaError) else error
