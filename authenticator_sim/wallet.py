"""The simulated phone's accounts, secrets and counters, in a JSON file the user names.

Written atomically (a temporary file renamed over the old one) with mode 0600, under
an exclusive lock so two authsim processes never lose each other's changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from mfa_core.encoding import b64_decode, b64_encode
from mfa_core.oath import OathKind, OathParameters
from mfa_core.push import PushRegistration

WALLET_VERSION = 1


class WalletError(Exception):
    """The wallet file is missing, unreadable, or does not hold that account."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PushAccount:
    account_id: str
    issuer: str
    account: str
    mechanism_uid: str
    secret: str  # b64 of the raw shared secret
    registration_url: str
    authentication_url: str
    lb_cookie: str | None
    ios: bool
    push_token: str
    created_at: float

    @property
    def secret_bytes(self) -> bytes:
        return b64_decode(self.secret)

    @property
    def label(self) -> str:
        return f"{self.issuer}:{self.account}"


@dataclass(frozen=True, slots=True, kw_only=True)
class OathAccount:
    account_id: str
    issuer: str
    account: str
    kind: str
    secret: str  # b64 of the raw OATH secret
    digits: int
    algorithm: str
    period: int
    counter: int  # the next moving factor for HOTP
    ios: bool
    created_at: float

    @property
    def parameters(self) -> OathParameters:
        return OathParameters(
            kind=OathKind(self.kind),
            secret=b64_decode(self.secret),
            issuer=self.issuer,
            account=self.account,
            digits=self.digits,
            algorithm=self.algorithm,
            period=self.period,
            counter=self.counter,
        )

    @property
    def label(self) -> str:
        return f"{self.issuer}:{self.account}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """A notification fetched but not yet answered."""

    account_id: str
    message_id: str
    jwt: str
    received_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Wallet:
    android_token: str = ""
    ios_token: str = ""
    push: tuple[PushAccount, ...] = ()
    oath: tuple[OathAccount, ...] = ()
    inbox: tuple[Received, ...] = ()
    handled: tuple[str, ...] = field(default=())  # message ids answered or ignored

    def find(self, name: str) -> PushAccount | OathAccount:
        """By id, ``issuer:account`` or account name (which must then be unambiguous)."""
        accounts: list[PushAccount | OathAccount] = [*self.push, *self.oath]
        for key in ("account_id", "label", "account"):
            found = [a for a in accounts if getattr(a, key) == name]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise WalletError(f"{name!r} names several accounts; use an id from `accounts`")
        raise WalletError(f"no account {name!r}")

    def token(self, *, ios: bool) -> str:
        return self.ios_token if ios else self.android_token

    def with_tokens(self) -> Wallet:
        """The phone's push tokens, made on first use like a freshly installed app."""
        return replace(
            self,
            android_token=self.android_token
            or f"{secrets.token_urlsafe(16)}:APA91b{secrets.token_urlsafe(105)}",
            ios_token=self.ios_token or secrets.token_hex(32).upper(),
        )


def new_push_account(
    registration: PushRegistration, *, mechanism_uid: str, ios: bool, push_token: str
) -> PushAccount:
    return PushAccount(
        account_id=f"push-{secrets.token_hex(4)}",
        issuer=registration.issuer,
        account=registration.account,
        mechanism_uid=mechanism_uid,
        secret=b64_encode(registration.secret),
        registration_url=registration.registration_url,
        authentication_url=registration.authentication_url,
        lb_cookie=registration.load_balancer_cookie,
        ios=ios,
        push_token=push_token,
        created_at=time.time(),
    )


def new_oath_account(params: OathParameters, *, ios: bool) -> OathAccount:
    return OathAccount(
        account_id=f"oath-{secrets.token_hex(4)}",
        issuer=params.issuer or "",
        account=params.account,
        kind=str(params.kind),
        secret=b64_encode(params.secret),
        digits=params.digits,
        algorithm=params.algorithm,
        period=params.period,
        counter=params.counter,
        ios=ios,
        created_at=time.time(),
    )


def load(path: Path) -> Wallet:
    if not path.exists():
        return Wallet()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != WALLET_VERSION:
            raise WalletError(f"{path} is not an authsim wallet of version {WALLET_VERSION}")
        return Wallet(
            android_token=data.get("android_token", ""),
            ios_token=data.get("ios_token", ""),
            push=tuple(PushAccount(**a) for a in data.get("push", [])),
            oath=tuple(OathAccount(**a) for a in data.get("oath", [])),
            inbox=tuple(Received(**r) for r in data.get("inbox", [])),
            handled=tuple(data.get("handled", [])),
        )
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise WalletError(f"cannot read the wallet {path}: {e}") from e


def save(path: Path, wallet: Wallet) -> None:
    data: dict[str, Any] = {"version": WALLET_VERSION, **asdict(wallet)}
    data["handled"] = list(wallet.handled[-1000:])  # enough to refuse replays of recent ones
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".wallet-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the wallet's lock file while reading, changing and writing it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a", encoding="ascii") as lock:
        os.chmod(lock_path, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
