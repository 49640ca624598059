"""The append-only audit log: every security event, queryable per user and time range.

Events never hold a secret, code, token or password. Each is also written as a JSON
log line, so a failed store write still leaves a trail (and is logged as an error).
"""

from __future__ import annotations

import logging
from dataclasses import fields

from pushd.services.context import Context
from pushd.store import codec
from pushd.store.engine import StoreError
from pushd.store.records import AuditEvent

log = logging.getLogger("pushd.audit")
STREAM = "audit"
ANYONE = "-"
_FIELDS = tuple(f.name for f in fields(AuditEvent))


class Audit:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def record(
        self,
        kind: str,
        *,
        user_id: str = "",
        username: str = "",
        method: str = "",
        outcome: str = "",
        actor: str = "",
        client_ip: str = "",
        detail: str = "",
    ) -> AuditEvent:
        event = AuditEvent(
            at=self._ctx.clock(),
            kind=kind,
            user_id=user_id,
            username=username,
            method=method,
            outcome=outcome,
            actor=actor,
            client_ip=client_ip,
            detail=detail,
        )
        if log.isEnabledFor(logging.INFO):
            log.info("audit", extra={k: v for k in _FIELDS if (v := getattr(event, k))})
        try:
            await self._ctx.store.engine.append(
                STREAM, at=event.at, key=user_id or ANYONE, data=codec.encode(event)
            )
        except StoreError:
            log.exception("audit event not stored", extra={"kind": kind, "user_id": user_id})
        return event

    async def query(
        self, *, user_id: str | None, since: float, until: float, limit: int = 500
    ) -> list[AuditEvent]:
        rows = await self._ctx.store.engine.read(
            STREAM, key=user_id, since=since, until=until, limit=limit
        )
        return [codec.decode(data, AuditEvent) for _, _, data in rows]
