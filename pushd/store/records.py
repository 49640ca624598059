"""What pushd stores. Secrets are only ever kept sealed (``sealed_*`` fields)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mfa_core.account_recovery import AlternativeChallenge, ManualCase
from mfa_core.oath import OathKind
from mfa_core.profile import MfaProfile
from mfa_core.push import NumberMatch, PushType
from mfa_core.push_replies import Transport
from mfa_core.push_state import PushTransaction
from mfa_core.recovery import RecoveryCodeSet
from mfa_core.webauthn import WebAuthnCredential


@dataclass(frozen=True, slots=True, kw_only=True)
class PushDevice:
    device_id: str
    mechanism_uid: str
    sealed_secret: bytes
    push_token: str
    transport: Transport
    device_name: str
    device_type: str
    registered_at: float
    token_stale: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OathDevice:
    device_id: str
    kind: OathKind
    sealed_secret: bytes
    digits: int
    algorithm: str
    period: int
    next_counter: int = 0
    last_step: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WebAuthnDevice:
    device_id: str
    credential: WebAuthnCredential


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    username: str
    created_at: float
    email: str | None = None
    email_verified: bool = False
    phone: str | None = None
    password_hash: str | None = None
    password_changed_at: float | None = None
    contact_confirmed_at: float | None = None
    mfa_review_due: bool = False  # set after a recovery code or the alternative method


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    user_id: str
    account: Account
    profile: MfaProfile = field(default_factory=MfaProfile)
    push: tuple[PushDevice, ...] = ()
    oath: tuple[OathDevice, ...] = ()
    webauthn: tuple[WebAuthnDevice, ...] = ()
    recovery: tuple[RecoveryCodeSet, ...] = ()
    webauthn_handle: bytes = b""  # the WebAuthn user.id: random, never the username

    def push_device(self) -> PushDevice | None:
        return self.push[0] if self.push else None

    @property
    def recovery_codes_remaining(self) -> int:
        return sum(code_set.remaining for code_set in self.recovery)


@dataclass(frozen=True, slots=True, kw_only=True)
class PushGuard:
    """Per-user push-fatigue state: the pending challenge, the rate window, fraud signals."""

    active_challenge_id: str | None = None
    active_until: float = 0.0
    recent: tuple[float, ...] = ()
    denials_in_a_row: int = 0
    last_denial_at: float | None = None
    fraud_signals: int = 0
    suspended_at: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChallengeRecord:
    """A login challenge, or the test notification that ends a registration.

    It carries the device's sealed secret so a reply is checked with one read.
    """

    challenge_id: str
    message_id: str
    user_id: str
    username: str
    device_id: str
    mechanism_uid: str
    sealed_secret: bytes
    challenge: bytes
    push_type: PushType
    message: str
    txn: PushTransaction
    number: NumberMatch | None = None
    context_json: str | None = None
    notification_jwt: str = ""
    registration_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingDevice:
    """What the phone told us when it scanned the code."""

    mechanism_uid: str
    push_token: str
    transport: Transport
    device_name: str
    device_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationRecord:
    registration_id: str
    message_id: str
    user_id: str
    username: str
    issuer: str
    account_name: str
    sealed_secret: bytes
    challenge: bytes
    txn: PushTransaction
    device: PendingDevice | None = None
    device_id: str | None = None
    test_challenge_id: str | None = None
    codes_issued: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyRecord:
    key_id: str
    name: str
    scope: str
    created_at: float
    hint: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OtpEnrolment:
    """An OATH registration waiting for its first code."""

    enrolment_id: str
    user_id: str
    kind: OathKind
    sealed_secret: bytes
    digits: int
    algorithm: str
    period: int
    expires_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Ceremony:
    """A WebAuthn registration or authentication waiting for the browser's answer."""

    ceremony_id: str
    user_id: str
    kind: str  # "registration" | "authentication"
    challenge: bytes
    expires_at: float
    name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reauthentication:
    """A fresh password check, for a few minutes: what device removal needs."""

    user_id: str
    at: float
    expires_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Throttle:
    """Failed attempts of one kind for one subject (a user or a client address)."""

    failures: tuple[float, ...] = ()
    lockouts: int = 0
    locked_until: float = 0.0
    last_lockout_at: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """One security event; never holds a secret, code, token or password."""

    at: float
    kind: str
    user_id: str = ""
    username: str = ""
    method: str = ""
    outcome: str = ""
    actor: str = ""
    client_ip: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailToken:
    """A single-use link sent by email: verify an address, or reset a password."""

    purpose: str  # "verify_email" | "password_reset"
    user_id: str
    email: str
    expires_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AlternativeRecord:
    """The alternative method in progress: two codes out, both needed back."""

    alternative_id: str
    user_id: str
    challenge: AlternativeChallenge


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseRecord:
    """A manual-verification case; the ID document itself lives sealed under evidence_ref."""

    case: ManualCase
    user_id: str
    note: str = ""
    evidence_type: str = ""
    evidence_size: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SealedValue:
    sealed: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Seen:
    """A one-time value already used (a poll nonce); it expires with its window."""

    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRecord:
    """A hosted-pages session, kept under the SHA-256 of the id in the browser's cookie.

    ``created_at`` moves on at every privilege change (the id is rotated then), so a
    session created before the account's ``password_changed_at`` is no longer valid.
    What a page must not lose on reload but must not show twice (the registration URI,
    which holds the device secret, and fresh recovery codes) is sealed.
    """

    created_at: float
    seen_at: float
    expires_at: float
    csrf_token: str
    username: str = ""
    user_id: str = ""
    password_ok: bool = False
    mfa_ok: bool = False
    challenge_id: str | None = None
    registration_id: str | None = None
    otp_enrolment_id: str | None = None
    ceremony_id: str | None = None
    alternative_id: str | None = None
    alternative_to: str = ""  # where its codes went, masked: "+44•••23 and a•••@example.com"
    sealed_offer: bytes = b""  # the pushauth:// or otpauth:// URI being registered
    sealed_codes: bytes = b""  # recovery codes to show once, newline-separated
