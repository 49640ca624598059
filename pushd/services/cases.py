"""Manual verification: a photo ID checked by an operator, then destroyed.

The document is checked for size and type (by its bytes, not only its label),
sealed under the master key, never logged, and deleted with every copy (the
store scrubs its files) when the case closes. A decision closes the case: an
approval resets the user's MFA (set-up at next login); a rejection changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace

from mfa_core.account_recovery import (
    CaseCheck,
    ManualCase,
    approve_case,
    attach_evidence,
    close_case,
    open_case,
    record_check,
    reject_case,
)
from mfa_core.errors import IllegalTransition
from pushd.errors import ApiError, conflict, not_found
from pushd.messaging import DeliveryError
from pushd.services.admin import Admin
from pushd.services.audit import Audit
from pushd.services.context import Context
from pushd.services.users import require_user
from pushd.store.engine import LookupTaken
from pushd.store.records import CaseRecord, SealedValue
from pushd.store.tables import Versioned

log = logging.getLogger("pushd.cases")
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}


class Cases:
    def __init__(self, ctx: Context, audit: Audit, admin: Admin) -> None:
        self._ctx = ctx
        self._audit = audit
        self._admin = admin

    async def open(self, username: str, *, note: str) -> CaseRecord:
        ctx = self._ctx
        user = (await require_user(ctx, username)).record
        case_id = str(uuid.UUID(bytes=ctx.rng(16), version=4))
        record = CaseRecord(
            case=open_case(case_id=case_id, username=user.account.username, now=ctx.clock()),
            user_id=user.user_id,
            note=note,
        )
        try:
            await ctx.store.cases.insert(case_id, record)
        except LookupTaken as e:
            raise conflict("case_open", "this user already has an open case") from e
        await self._audit.record(
            "case_opened", user_id=user.user_id, username=username, detail=case_id
        )
        if user.account.email:
            await self._notify(
                user.account.email, "case_opened", case_id=case_id, username=user.account.username
            )
        return record

    async def add_evidence(self, case_id: str, *, content_type: str, data: bytes) -> CaseRecord:
        """Store the ID document sealed; a new upload replaces (and destroys) the old one."""
        kind = content_type.split(";", 1)[0].strip().lower()
        if kind not in SIGNATURES:
            raise ApiError(415, "unsupported_media_type", "send a JPEG, PNG or PDF")
        if len(data) > MAX_EVIDENCE_BYTES:
            raise ApiError(413, "payload_too_large", "the document must be under 10 MB")
        if not data.startswith(SIGNATURES[kind]):
            raise ApiError(415, "unsupported_media_type", f"the file is not a {kind.split('/')[1]}")
        current = await self._get(case_id)
        ref = str(uuid.UUID(bytes=self._ctx.rng(16), version=4))
        try:
            case = attach_evidence(current.record.case, evidence_ref=ref)
        except IllegalTransition as e:
            raise conflict("case_closed", "this case takes no more documents") from e
        await self._ctx.store.evidence.insert(ref, SealedValue(sealed=self._ctx.vault.seal(data)))
        updated = replace(current.record, case=case, evidence_type=kind, evidence_size=len(data))
        await self._ctx.store.cases.update(case_id, current, updated)
        if current.record.case.evidence_ref:
            await self._destroy(current.record.case.evidence_ref)
        await self._audit.record(
            "case_evidence",
            user_id=updated.user_id,
            username=case.username,
            detail=f"{case_id} {kind}",
        )
        return updated

    async def get(self, case_id: str) -> CaseRecord:
        return (await self._get(case_id)).record

    async def list(self, state: str | None = None) -> list[CaseRecord]:
        records = [v.record for v in await self._ctx.store.cases.scan()]
        chosen = [r for r in records if state is None or str(r.case.state) == state]
        return sorted(chosen, key=lambda r: r.case.opened_at)

    async def evidence(self, case_id: str, *, actor: str) -> tuple[bytes, str]:
        record = await self.get(case_id)
        ref = record.case.evidence_ref
        found = await self._ctx.store.evidence.get(ref) if ref else None
        if found is None:
            raise not_found("document for this case")
        await self._audit.record(
            "case_evidence_viewed",
            user_id=record.user_id,
            username=record.case.username,
            actor=actor,
            detail=case_id,
        )
        return self._ctx.vault.open(found.record.sealed), record.evidence_type

    async def check(
        self, case_id: str, check: str, *, passed: bool, note: str, actor: str
    ) -> CaseRecord:
        if check not in {c.value for c in CaseCheck}:
            raise ApiError(
                400,
                "invalid_request",
                "check must be names_match, from_registered_email or avatar_matches",
            )
        now = self._ctx.clock()
        record = await self._move(
            case_id,
            lambda case: record_check(
                case, CaseCheck(check), passed=passed, operator=actor, now=now, note=note
            ),
        )
        await self._audit.record(
            "case_check",
            user_id=record.user_id,
            username=record.case.username,
            actor=actor,
            detail=f"{case_id} {check}={'pass' if passed else 'fail'}",
        )
        return record

    async def decide(self, case_id: str, *, approve: bool, note: str, actor: str) -> CaseRecord:
        """Approve (every check passed: MFA is reset) or reject; either way the case closes."""
        now = self._ctx.clock()
        decide = approve_case if approve else reject_case
        record = await self._move(
            case_id, lambda case: decide(case, operator=actor, now=now, note=note)
        )
        username = record.case.username
        if approve:
            await self._admin.reset_mfa(username, actor=actor)
        await self._audit.record(
            "case_approved" if approve else "case_rejected",
            user_id=record.user_id,
            username=username,
            actor=actor,
            detail=case_id,
        )
        closed = await self.close(case_id, actor=actor)
        user = await self._ctx.store.users.get(record.user_id)
        if user is not None and user.record.account.email:
            await self._notify(
                user.record.account.email,
                "case_approved" if approve else "case_rejected",
                case_id=case_id,
                username=username,
            )
        return closed

    async def close(self, case_id: str, *, actor: str) -> CaseRecord:
        now = self._ctx.clock()
        before = (await self._get(case_id)).record.case.evidence_ref
        record = await self._move(case_id, lambda case: close_case(case, now=now))
        if before:
            await self._destroy(before)
        await self._audit.record(
            "case_closed",
            user_id=record.user_id,
            username=record.case.username,
            actor=actor,
            detail=f"{case_id}: document destroyed",
        )
        return record

    async def _move(self, case_id: str, change: Callable[[ManualCase], ManualCase]) -> CaseRecord:
        def moved(record: CaseRecord) -> CaseRecord:
            return replace(record, case=change(record.case))

        try:
            mutated = await self._ctx.store.cases.mutate(case_id, moved)
        except IllegalTransition as e:
            raise conflict(
                e.reason if e.reason != "illegal_transition" else "case_state", e.detail
            ) from e
        if mutated is None:
            raise not_found("case")
        return mutated.record

    async def _destroy(self, ref: str) -> None:
        await self._ctx.store.evidence.delete(ref)
        await self._ctx.store.engine.scrub()

    async def _get(self, case_id: str) -> Versioned[CaseRecord]:
        found = await self._ctx.store.cases.get(case_id)
        if found is None:
            raise not_found("case")
        return found

    async def _notify(self, email: str, template: str, **values: str) -> None:
        try:
            await self._ctx.mailer.send(email, self._ctx.templates.render(template, **values))
        except DeliveryError:
            log.exception("case notice not sent", extra={"template": template})
