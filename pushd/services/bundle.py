"""All of pushd's services, wired together over one :class:`Context`."""

from __future__ import annotations

from dataclasses import dataclass

from pushd.services.api_keys import KeyChecker
from pushd.services.challenges import ChallengeService
from pushd.services.context import Context
from pushd.services.device import DeviceReplies
from pushd.services.expiry import Sweeper
from pushd.services.registrations import RegistrationService


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    ctx: Context
    challenges: ChallengeService
    registrations: RegistrationService
    devices: DeviceReplies
    keys: KeyChecker
    sweeper: Sweeper

    @classmethod
    def build(cls, ctx: Context) -> Services:
        challenges = ChallengeService(ctx)
        registrations = RegistrationService(ctx, challenges)
        return cls(
            ctx=ctx,
            challenges=challenges,
            registrations=registrations,
            devices=DeviceReplies(ctx, challenges, registrations),
            keys=KeyChecker(ctx.store, cache_seconds=ctx.settings.api_key_cache_seconds),
            sweeper=Sweeper(ctx, challenges, registrations),
        )
