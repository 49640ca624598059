"""Expires transactions nobody is waiting on, and purges old records.

Waiting requests expire their own transaction at its deadline; this sweep covers
the rest so metrics, fraud counters and later reads are right. Every minute it also
drops audit events older than ``audit_retention_days``. Compare-and-set
makes each expiry happen once even when several instances sweep.
"""

from __future__ import annotations

import asyncio
import logging

from pushd.services.audit import STREAM as AUDIT_STREAM
from pushd.services.challenges import ChallengeService
from pushd.services.context import Context
from pushd.services.registrations import RegistrationService
from pushd.store.engine import StoreError

log = logging.getLogger("pushd.expiry")


class Sweeper:
    def __init__(
        self,
        ctx: Context,
        challenges: ChallengeService,
        registrations: RegistrationService,
        *,
        interval: float = 1.0,
        purge_every: int = 60,
    ) -> None:
        self._ctx = ctx
        self._challenges = challenges
        self._registrations = registrations
        self._interval = interval
        self._purge_every = purge_every

    async def run(self) -> None:
        rounds = 0
        while True:
            try:
                await self.sweep()
                rounds += 1
                if rounds % self._purge_every == 0:
                    await self.purge()
            except StoreError:
                log.warning("expiry sweep failed; retrying", exc_info=True)
            await asyncio.sleep(self._interval)

    async def purge(self) -> int:
        """Drop expired records and audit events past their retention; returns how many."""
        ctx = self._ctx
        purged = await ctx.store.engine.purge_expired()
        if ctx.settings.audit_retention_days > 0:
            cutoff = ctx.clock() - ctx.settings.audit_retention_days * 86400
            purged += await ctx.store.engine.trim_events(AUDIT_STREAM, cutoff)
        return purged

    async def sweep(self) -> int:
        store, now = self._ctx.store, self._ctx.clock()
        expired = 0
        for key in await store.challenges.due(now):
            await self._challenges.expire(key)
            expired += 1
        for key in await store.registrations.due(now):
            await self._registrations.expire(key)
            expired += 1
        return expired
