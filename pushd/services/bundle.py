"""All of pushd's services, wired together over one :class:`Context`."""

from __future__ import annotations

from dataclasses import dataclass

from pushd.services.accounts import Accounts
from pushd.services.admin import Admin
from pushd.services.alternative import Alternative
from pushd.services.api_keys import KeyChecker
from pushd.services.audit import Audit
from pushd.services.cases import Cases
from pushd.services.challenges import ChallengeService
from pushd.services.context import Context
from pushd.services.device import DeviceReplies
from pushd.services.expiry import Sweeper
from pushd.services.login import Login
from pushd.services.mfa import Mfa
from pushd.services.otp import Otp
from pushd.services.passwords import Passwords
from pushd.services.reauth import Reauth
from pushd.services.recovery_codes import RecoveryCodes
from pushd.services.registrations import RegistrationService
from pushd.services.throttle import Throttler
from pushd.services.webauthn import WebAuthn


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    ctx: Context
    audit: Audit
    throttler: Throttler
    passwords: Passwords
    codes: RecoveryCodes
    challenges: ChallengeService
    registrations: RegistrationService
    devices: DeviceReplies
    login: Login
    reauth: Reauth
    mfa: Mfa
    otp: Otp
    webauthn: WebAuthn
    admin: Admin
    accounts: Accounts
    alternative: Alternative
    cases: Cases
    keys: KeyChecker
    sweeper: Sweeper

    @classmethod
    def build(cls, ctx: Context) -> Services:
        audit = Audit(ctx)
        throttler = Throttler(ctx, audit)
        passwords = Passwords(ctx.settings)
        codes = RecoveryCodes(ctx, audit, throttler)
        challenges = ChallengeService(ctx, audit)
        registrations = RegistrationService(ctx, challenges, codes, audit)
        login = Login(ctx, audit, throttler, passwords)
        reauth = Reauth(ctx, audit, login)
        admin = Admin(ctx, audit, throttler)
        return cls(
            ctx=ctx,
            audit=audit,
            throttler=throttler,
            passwords=passwords,
            codes=codes,
            challenges=challenges,
            registrations=registrations,
            devices=DeviceReplies(ctx, challenges, registrations),
            login=login,
            reauth=reauth,
            mfa=Mfa(ctx, audit, reauth),
            otp=Otp(ctx, audit, throttler, codes),
            webauthn=WebAuthn(ctx, audit, codes),
            admin=admin,
            accounts=Accounts(ctx, audit, passwords),
            alternative=Alternative(ctx, audit, throttler),
            cases=Cases(ctx, audit, admin),
            keys=KeyChecker(ctx.store, cache_seconds=ctx.settings.api_key_cache_seconds),
            sweeper=Sweeper(ctx, challenges, registrations),
        )
