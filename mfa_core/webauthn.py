"""WebAuthn ceremonies over py_webauthn: one function per step, the caller persists.

Options exclude credentials already registered, prefer user verification and
resident keys, and take the relying party's id and origins from the caller. A
sign count that does not move forward (when either side counts) is reported as
a possible clone, after the signature has been verified.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from mfa_core.errors import DuplicateDevice, PossibleClonedAuthenticator, WebAuthnRejected
from mfa_core.jsonutil import parse_json_object

# What py_webauthn's parsers raise on malformed input besides its own exceptions.
_PARSE_ERRORS = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)
MAX_CREDENTIAL_JSON_CHARS = 64 * 1024
_TRANSPORTS = frozenset(t.value for t in AuthenticatorTransport)


@dataclass(frozen=True, slots=True, kw_only=True)
class RelyingParty:
    rp_id: str
    name: str
    origins: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class WebAuthnCredential:
    credential_id: bytes
    public_key: bytes
    sign_count: int
    transports: tuple[str, ...]
    aaguid: str
    backup_eligible: bool
    backed_up: bool
    name: str
    created_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedWebAuthnLogin:
    credential: WebAuthnCredential
    user_verified: bool


def registration_options(
    *,
    rp: RelyingParty,
    user_handle: bytes,
    user_name: str,
    display_name: str,
    existing: Sequence[WebAuthnCredential],
    challenge: bytes,
    timeout_ms: int = 120_000,
) -> dict[str, object]:
    """``PublicKeyCredentialCreationOptions`` as JSON for ``navigator.credentials.create``."""
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=rp.name,
        user_id=user_handle,
        user_name=user_name,
        user_display_name=display_name,
        challenge=challenge,
        timeout=timeout_ms,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[_descriptor(c) for c in existing],
    )
    return parse_json_object(options_to_json(options))


def verify_registration(
    *,
    rp: RelyingParty,
    credential: str | Mapping[str, object],
    expected_challenge: bytes,
    existing: Sequence[WebAuthnCredential],
    name: str,
    now: float,
) -> WebAuthnCredential:
    """Verify the browser's ``create()`` result and return the credential to store."""
    try:
        parsed: RegistrationCredential = parse_registration_credential_json(_json(credential))
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=expected_challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=list(rp.origins),
        )
    except _PARSE_ERRORS as e:
        raise WebAuthnRejected("the security key's registration did not verify") from e
    if any(c.credential_id == verified.credential_id for c in existing):
        raise DuplicateDevice("this security key is already registered")
    transports = parsed.response.transports or []
    return WebAuthnCredential(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=tuple(str(t.value) for t in transports),
        aaguid=verified.aaguid,
        backup_eligible=verified.credential_device_type is CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
        name=name,
        created_at=now,
    )


def authentication_options(
    *,
    rp: RelyingParty,
    credentials: Sequence[WebAuthnCredential],
    challenge: bytes,
    timeout_ms: int = 120_000,
) -> dict[str, object]:
    """``PublicKeyCredentialRequestOptions`` as JSON for ``navigator.credentials.get``."""
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        challenge=challenge,
        timeout=timeout_ms,
        allow_credentials=[_descriptor(c) for c in credentials],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return parse_json_object(options_to_json(options))


def verify_authentication(
    *,
    rp: RelyingParty,
    credential: str | Mapping[str, object],
    expected_challenge: bytes,
    credentials: Sequence[WebAuthnCredential],
) -> VerifiedWebAuthnLogin:
    """Verify an assertion against the user's credentials; returns the one to update."""
    try:
        parsed: AuthenticationCredential = parse_authentication_credential_json(_json(credential))
    except _PARSE_ERRORS as e:
        raise WebAuthnRejected("the security key's answer did not verify") from e
    stored = next((c for c in credentials if c.credential_id == parsed.raw_id), None)
    if stored is None:
        raise WebAuthnRejected("not a security key of this user")
    try:
        # Sign count 0 here: py_webauthn would refuse a regression without telling us;
        # we check it below, after the signature is known to be good.
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=expected_challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=list(rp.origins),
            credential_public_key=stored.public_key,
            credential_current_sign_count=0,
        )
    except _PARSE_ERRORS as e:
        raise WebAuthnRejected("the security key's answer did not verify") from e
    new_count = verified.new_sign_count
    if (new_count > 0 or stored.sign_count > 0) and new_count <= stored.sign_count:
        raise PossibleClonedAuthenticator("sign count did not increase: possible cloned key")
    updated = replace(stored, sign_count=new_count, backed_up=verified.credential_backed_up)
    return VerifiedWebAuthnLogin(credential=updated, user_verified=verified.user_verified)


def _descriptor(credential: WebAuthnCredential) -> PublicKeyCredentialDescriptor:
    transports = [AuthenticatorTransport(t) for t in credential.transports if t in _TRANSPORTS]
    return PublicKeyCredentialDescriptor(id=credential.credential_id, transports=transports)


def _json(credential: str | Mapping[str, object]) -> str:
    text = credential if isinstance(credential, str) else json.dumps(credential)
    if len(text) > MAX_CREDENTIAL_JSON_CHARS:
        raise WebAuthnRejected("credential too large")
    return text
