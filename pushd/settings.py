"""pushd's settings: the only module that reads the environment.

Precedence, lowest first: defaults, the TOML file (``PUSHD_CONFIG`` or ``--config``),
``PUSHD_*`` environment variables, command-line flags. Read once at start-up and
passed down; secrets are redacted from ``repr``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "PUSHD_"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it."""


def _setting(default: Any, help_text: str, *, secret: bool = False) -> Any:
    return field(default=default, metadata={"help": help_text, "secret": secret})


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    # --- serving ---
    host: str = _setting("127.0.0.1", "address to listen on")
    port: int = _setting(8080, "TCP port to listen on")
    public_url: str = _setting(
        "", "base URL phones and browsers use to reach pushd (default http://HOST:PORT)"
    )
    data_dir: Path = _setting(Path("var"), "directory of the embedded store and the key file")
    master_key: str = _setting(
        "", "64 hex characters; default: a key file created in DATA_DIR", secret=True
    )
    other_master_keys: str = _setting(
        "",
        "comma-separated 64-hex keys that open sealed values but never seal: the next key"
        " before a rotation, the previous one until `pushd keys reseal` has run",
        secret=True,
    )
    log_level: str = _setting("info", "debug, info, warning or error")
    access_log: bool = _setting(True, "one JSON line per request")
    max_wait: float = _setting(60.0, "longest long-poll a client may ask for, in seconds")
    drain_timeout: float = _setting(
        20.0,
        "seconds a stop (SIGTERM) may take: waiting long-polls are answered at once, sends in"
        " flight are finished",
    )
    api_key_cache_seconds: float = _setting(
        10.0, "how long a checked API key is trusted before it is looked up again"
    )

    # --- slow clients and floods ---
    header_timeout: float = _setting(
        10.0,
        "seconds a client has to send a request's headers, from connecting or from the"
        " first byte of a later request; then the connection is closed",
    )
    body_timeout: float = _setting(
        20.0,
        "seconds a client has to send a request body after its headers, plus one per"
        " BODY_MIN_RATE bytes received; then 408",
    )
    body_min_rate: int = _setting(500, "bytes a second that earn a slow body more time (0: none)")
    keepalive_timeout: float = _setting(
        75.0, "seconds an idle connection stays open between requests (above a proxy's own)"
    )
    max_header_bytes: int = _setting(
        8190, "longest request line, header name or header value, in bytes; longer gets 431"
    )
    max_connections: int = _setting(
        0,
        "open connections at most; beyond, those still waiting for a request's headers are"
        " closed first (0: the open-files limit less 256)",
    )

    # --- push protocol ---
    issuer: str = _setting("Backstage", "issuer shown in the authenticator app")
    challenge_ttl: float = _setting(120.0, "seconds a login challenge stays answerable")
    registration_ttl: float = _setting(300.0, "seconds a registration QR code stays valid")
    lb_cookie: str = _setting("amlbcookie=01", "load-balancer cookie name=value put in QR codes")
    push_background_colour: str = _setting("", "QR code 'b' background colour, six hex digits")
    push_image_url: str = _setting("", "logo URL shown by the app for this issuer")

    # --- push fatigue defences ---
    require_number_matching: bool = _setting(False, "make every challenge number matching")
    push_rate_limit: int = _setting(5, "challenges a user may be sent per window (0: no limit)")
    push_rate_window: float = _setting(300.0, "the rate-limit window, in seconds")
    push_denial_backoff: float = _setting(
        30.0, "wait after a denial before the next challenge; doubles with each denial in a row"
    )
    push_suspend_after: int = _setting(
        5, "suspend push for a user after this many fraud signals (0: never)"
    )

    # --- storage: the embedded store, or Redis for several instances ---
    redis_url: str = _setting(
        "",
        "Redis for several instances: redis://, rediss:// (TLS), unix://, or"
        " redis+sentinel://host:port[,host:port]/service[/db]; empty: the embedded store",
        secret=True,
    )
    redis_prefix: str = _setting(
        "{pushd}:", "key prefix; the {hash tag} keeps every key in one Cluster slot"
    )
    redis_pool_size: int = _setting(64, "Redis connections per instance (callers wait beyond)")
    redis_timeout: float = _setting(5.0, "seconds a Redis command may take")
    audit_retention_days: int = _setting(400, "days audit events are kept (0: forever)")

    # --- one-time passwords and WebAuthn ---
    otp_digits: int = _setting(6, "digits of new OATH registrations (6 or 8)")
    otp_algorithm: str = _setting("sha1", "hash of new OATH registrations: sha1, sha256, sha512")
    otp_period: int = _setting(30, "TOTP period in seconds")
    otp_window: int = _setting(1, "TOTP steps accepted either side of now (clock drift)")
    hotp_look_ahead: int = _setting(10, "HOTP codes accepted ahead of the expected counter")
    enrolment_ttl: float = _setting(600.0, "seconds an OTP or WebAuthn registration may take")
    webauthn_rp_id: str = _setting("", "WebAuthn relying-party id (default: PUBLIC_URL's host)")
    webauthn_rp_name: str = _setting("", "WebAuthn relying-party name (default: ISSUER)")
    webauthn_origins: str = _setting("", "comma-separated origins (default: PUBLIC_URL)")

    # --- passwords, re-authentication, throttling ---
    password_time_cost: int = _setting(3, "argon2id passes (RFC 9106 second profile)")
    password_memory_kib: int = _setting(65536, "argon2id memory in KiB")
    reauth_ttl: float = _setting(300.0, "seconds a password re-check allows device removal")
    throttle_max_failures: int = _setting(5, "wrong codes or passwords before a lockout")
    throttle_window: float = _setting(900.0, "seconds over which failures are counted")
    throttle_lockout: float = _setting(30.0, "first lockout in seconds; doubles with each one")
    throttle_lockout_cap: float = _setting(3600.0, "longest lockout in seconds")

    # --- email and SMS (account recovery) ---
    email_mode: str = _setting("console", "console (log, codes masked) or smtp")
    smtp_host: str = _setting("localhost", "SMTP server")
    smtp_port: int = _setting(25, "SMTP port (587 for STARTTLS, 465 for TLS)")
    smtp_starttls: bool = _setting(False, "upgrade the SMTP connection with STARTTLS")
    smtp_tls: bool = _setting(False, "connect to SMTP over TLS from the start (port 465)")
    smtp_username: str = _setting("", "SMTP login (optional)")
    smtp_password: str = _setting("", "SMTP password", secret=True)
    smtp_ca_file: str = _setting("", "CA certificates to trust for SMTP (default: the system's)")
    email_from: str = _setting("Backstage <no-reply@localhost>", "the From of every email")
    sms_mode: str = _setting("console", "console (log, codes masked), webhook or twilio")
    sms_url: str = _setting("", "webhook: URL that takes {to, body} JSON; twilio: API base URL")
    sms_token: str = _setting("", "webhook bearer token, or the Twilio auth token", secret=True)
    sms_account_sid: str = _setting("", "twilio: the account SID")
    sms_from: str = _setting("", "twilio: the sending number (E.164)")
    message_retries: int = _setting(3, "attempts to hand an email or SMS over before failing")
    templates_dir: str = _setting("", "directory of message templates overriding the built-in")
    contact_review_days: int = _setting(180, "ask users to confirm phone and email this often")

    # --- the hosted pages ---
    session_idle_timeout: float = _setting(
        1800.0, "seconds without a request before a hosted-pages session ends"
    )
    session_max_age: float = _setting(43200.0, "longest a hosted-pages session lasts, in seconds")
    web_number_matching: bool = _setting(
        True, "the hosted pages send number-matching push challenges (the user taps a number)"
    )
    web_forwarded_for: bool = _setting(
        False, "take the user's address from X-Forwarded-For (only behind a reverse proxy)"
    )

    # --- push delivery: APNs (aioapns) ---
    apns_endpoint: str = _setting(
        "", "APNs host:port (default Apple's production host, or sandbox with APNS_SANDBOX)"
    )
    apns_sandbox: bool = _setting(False, "use Apple's development (sandbox) APNs host")
    apns_ca_file: str = _setting("", "CA certificates to trust for APNs (default: the system's)")
    apns_key_file: str = _setting("", "token auth: the .p8 signing key from Apple")
    apns_key_id: str = _setting("", "token auth: the key's 10-character id")
    apns_team_id: str = _setting("", "token auth: the Apple developer team id")
    apns_topic: str = _setting("", "the authenticator app's bundle id (apns-topic)")
    apns_cert_file: str = _setting("", "certificate auth: PEM with certificate and key")

    # --- push delivery: FCM (firebase-admin) ---
    fcm_endpoint: str = _setting("", "FCM base URL (default https://fcm.googleapis.com)")
    fcm_ca_file: str = _setting("", "CA certificates to trust for FCM and its OAuth endpoint")
    fcm_credentials: str = _setting("", "Google service-account JSON file")
    fcm_project: str = _setting("", "Firebase project id (default: the service account's)")

    # --- push delivery: sending ---
    push_send_timeout: float = _setting(10.0, "seconds one send may take before it is retried")
    push_retry_attempts: int = _setting(5, "sends of one notification at most (1: no retries)")
    push_retry_base: float = _setting(0.5, "first retry delay in seconds; doubles, with jitter")
    push_retry_cap: float = _setting(8.0, "longest retry delay in seconds")

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise SettingsError("PUSHD_PORT must be 1..65535")
        for name in (
            "challenge_ttl", "registration_ttl", "max_wait", "push_rate_window",
            "session_idle_timeout", "session_max_age", "header_timeout", "body_timeout",
            "keepalive_timeout", "drain_timeout",
        ):  # fmt: skip
            if getattr(self, name) <= 0:
                raise SettingsError(f"{ENV_PREFIX}{name.upper()} must be positive")
        _check_client_limits(self)
        _check_master_keys(self)
        if self.redis_url:
            _check_redis_url(self.redis_url)
        if "=" not in self.lb_cookie:
            raise SettingsError("PUSHD_LB_COOKIE must be name=value")
        token_auth = (self.apns_key_file, self.apns_key_id, self.apns_team_id, self.apns_topic)
        if any(token_auth) and not all(token_auth) and not self.apns_cert_file:
            raise SettingsError(
                "APNs token auth needs PUSHD_APNS_KEY_FILE, _KEY_ID, _TEAM_ID and _TOPIC together"
            )
        if self.otp_digits not in (6, 8) or self.otp_algorithm not in ("sha1", "sha256", "sha512"):
            raise SettingsError("PUSHD_OTP_DIGITS must be 6 or 8, PUSHD_OTP_ALGORITHM sha1/256/512")
        if self.throttle_max_failures < 1 or self.password_memory_kib < 8:
            raise SettingsError("PUSHD_THROTTLE_MAX_FAILURES >= 1, PUSHD_PASSWORD_MEMORY_KIB >= 8")
        if self.email_mode not in ("console", "smtp") or self.sms_mode not in (
            "console", "webhook", "twilio",
        ):  # fmt: skip
            raise SettingsError(
                "PUSHD_EMAIL_MODE console|smtp; PUSHD_SMS_MODE console|webhook|twilio"
            )
        if self.apns_cert_file and not self.apns_topic:
            raise SettingsError("APNs certificate auth needs PUSHD_APNS_TOPIC (the bundle id)")
        if self.push_retry_attempts < 1 or self.push_send_timeout <= 0:
            raise SettingsError("PUSHD_PUSH_RETRY_ATTEMPTS >= 1 and PUSHD_PUSH_SEND_TIMEOUT > 0")

    @property
    def rp_id(self) -> str:
        return self.webauthn_rp_id or urllib.parse.urlsplit(self.base_url).hostname or "localhost"

    @property
    def origins(self) -> tuple[str, ...]:
        configured = [o.strip().rstrip("/") for o in self.webauthn_origins.split(",") if o.strip()]
        return tuple(configured) or (self.base_url,)

    @property
    def other_keys(self) -> tuple[str, ...]:
        """``PUSHD_OTHER_MASTER_KEYS`` as a list."""
        return tuple(k.strip() for k in self.other_master_keys.split(",") if k.strip())

    @property
    def apns_configured(self) -> bool:
        return bool(self.apns_cert_file or self.apns_key_file)

    @property
    def fcm_configured(self) -> bool:
        return bool(self.fcm_credentials)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            redacted = f.metadata["secret"] and value
            shown.append(f"{f.name}={'<redacted>' if redacted else repr(value)}")
        return f"Settings({', '.join(shown)})"


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    config_file: Path | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    path = config_file or (
        Path(env[f"{ENV_PREFIX}CONFIG"]) if env.get(f"{ENV_PREFIX}CONFIG") else None
    )
    if path is not None:
        values.update(_from_toml(path))
    for f in fields(Settings):
        raw = env.get(ENV_PREFIX + f.name.upper())
        if raw is not None:
            values[f.name] = _convert(f, raw)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except TypeError as e:
        raise SettingsError(str(e)) from e


def describe_settings() -> str:
    """One line per setting, for ``pushd serve --help``."""
    lines = []
    for f in fields(Settings):
        default = f.default if f.default not in ("", None) else "(unset)"
        lines.append(f"  {ENV_PREFIX}{f.name.upper():<28} {f.metadata['help']} [{default}]")
    return "\n".join(lines)


def _from_toml(path: Path) -> dict[str, object]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise SettingsError(f"cannot read config file {path}: {e}") from e
    known = {f.name: f for f in fields(Settings)}
    values: dict[str, object] = {}
    for key, value in data.items():
        if key not in known:
            raise SettingsError(f"unknown setting {key!r} in {path}")
        values[key] = _convert(known[key], value) if isinstance(value, str) else value
    if "data_dir" in values:
        values["data_dir"] = Path(str(values["data_dir"]))
    return values


def _convert(f: dataclasses.Field[Any], raw: str) -> object:
    kind: type = type(typing.cast(object, f.default))
    name = ENV_PREFIX + f.name.upper()
    try:
        if kind is bool:
            return _boolean(raw)
        if kind in (int, float):
            return kind(raw)
        if issubclass(kind, Path):
            return Path(raw)
    except ValueError as e:
        raise SettingsError(f"{name}: cannot read {raw!r} as {kind.__name__}") from e
    return raw


def _boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)


def _check_client_limits(settings: Settings) -> None:
    if settings.body_min_rate < 0 or settings.max_connections < 0:
        raise SettingsError("PUSHD_BODY_MIN_RATE and PUSHD_MAX_CONNECTIONS must be >= 0")
    if settings.max_header_bytes < 1024:
        raise SettingsError("PUSHD_MAX_HEADER_BYTES must be at least 1024")


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "redis+cluster", "rediss+cluster")


def _check_master_keys(settings: Settings) -> None:
    key = settings.master_key
    if key and (len(key) != 64 or not _is_hex(key)):
        raise SettingsError("PUSHD_MASTER_KEY must be 64 hex characters")
    if any(len(k) != 64 or not _is_hex(k) for k in settings.other_keys):
        raise SettingsError("PUSHD_OTHER_MASTER_KEYS must be 64-hex keys, comma-separated")


def _check_redis_url(url: str) -> None:
    """A clear start-up error for a URL pushd cannot use (never echoing it: it is secret)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in REDIS_SCHEMES:
        raise SettingsError(f"PUSHD_REDIS_URL must start with one of {', '.join(REDIS_SCHEMES)}://")
    if scheme in ("redis+sentinel", "redis+cluster", "rediss+cluster"):
        netloc, _, path = rest.partition("/")
        for host in netloc.rsplit("@", 1)[-1].split(","):
            name, _, port = host.rpartition(":")
            if not name or not port.isdigit():
                raise SettingsError(f"PUSHD_REDIS_URL: every {scheme} node must be host:port")
        if scheme == "redis+sentinel" and not path.strip("/"):
            raise SettingsError("PUSHD_REDIS_URL: name the Sentinel service (…/SERVICE[/db])")
