"""Typed tables over a :class:`RecordEngine`, and the :class:`Store` pushd works with."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pushd.store import codec
from pushd.store.engine import AlreadyExists, RecordEngine, VersionConflict
from pushd.store.records import (
    AlternativeRecord,
    ApiKeyRecord,
    CaseRecord,
    Ceremony,
    ChallengeRecord,
    EmailToken,
    OtpEnrolment,
    PushGuard,
    Reauthentication,
    RegistrationRecord,
    SealedValue,
    Seen,
    SessionRecord,
    Throttle,
    UserRecord,
)

R = TypeVar("R", bound=codec.Record)

# Decided transactions stay readable this long, so a late long-poll still sees the outcome.
DECIDED_RETENTION = 600.0


@dataclass(frozen=True, slots=True)
class Versioned(Generic[R]):
    record: R
    version: int


@dataclass(frozen=True, slots=True)
class Mutated(Generic[R]):
    """The record after ``Table.mutate``; ``changed`` is whether this call wrote it."""

    current: Versioned[R]
    changed: bool

    @property
    def record(self) -> R:
        return self.current.record


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteOptions:
    expires_at: float | None = None
    due_at: float | None = None
    lookups: Collection[tuple[str, str]] = ()


class Table(Generic[R]):
    """One kind of record; ``options`` derives expiry, deadline and lookups from a record."""

    def __init__(
        self,
        engine: RecordEngine,
        name: str,
        cls: type[R],
        options: Callable[[R], WriteOptions] | None = None,
    ) -> None:
        self._engine = engine
        self.name = name
        self._cls = cls
        self._options = options or (lambda _record: WriteOptions())

    async def get(self, key: str) -> Versioned[R] | None:
        stored = await self._engine.get(self.name, key)
        if stored is None:
            return None
        return Versioned(codec.decode(stored.data, self._cls), stored.version)

    async def get_many(self, keys: Sequence[str]) -> list[Versioned[R] | None]:
        """``get`` of several keys in one read (one round trip to Redis)."""
        found = await self._engine.get_many(self.name, keys)
        return [
            None
            if stored is None
            else Versioned(codec.decode(stored.data, self._cls), stored.version)
            for stored in found
        ]

    async def insert(self, key: str, record: R) -> Versioned[R]:
        opts = self._options(record)
        version = await self._engine.insert(
            self.name,
            key,
            codec.encode(record),
            expires_at=opts.expires_at,
            due_at=opts.due_at,
            lookups=opts.lookups,
        )
        return Versioned(record, version)

    async def update(self, key: str, current: Versioned[R], record: R) -> Versioned[R]:
        """Write ``record`` if the stored one is still ``current``; else VersionConflict."""
        opts = self._options(record)
        version = await self._engine.update(
            self.name,
            key,
            codec.encode(record),
            version=current.version,
            expires_at=opts.expires_at,
            due_at=opts.due_at,
            lookups=opts.lookups,
        )
        return Versioned(record, version)

    async def mutate(
        self,
        key: str,
        change: Callable[[R], R],
        *,
        attempts: int = 50,
        current: Versioned[R] | None = None,
    ) -> Mutated[R] | None:
        """Read, change, compare-and-set; retried on conflict. ``None`` if the record is gone.

        ``change`` may raise to abort; returning the same record writes nothing. ``current``,
        a version the caller has just read, saves the first read: a write from it is still
        compared with the stored version, and an abort or a no-op decided on it is decided
        again on the stored record.
        """
        given = current
        for attempt in range(attempts):
            if current is None:
                current = await self.get(key)
                if current is None:
                    return None
            read_here = current is not given
            try:
                record = change(current.record)
            except Exception:
                if read_here:
                    raise
                current = None
                continue
            if record is current.record:
                if read_here:
                    return Mutated(current, changed=False)
                current = None
                continue
            try:
                return Mutated(await self.update(key, current, record), changed=True)
            except VersionConflict:
                current = None
                await _back_off(attempt)
        raise VersionConflict(f"{self.name}/{key} kept changing")

    async def upsert(self, key: str, change: Callable[[R], R], *, new: R) -> Mutated[R]:
        """``mutate``, or insert ``change(new)`` when there is no record yet."""
        for _ in range(50):
            mutated = await self.mutate(key, change)
            if mutated is not None:
                return mutated
            try:
                return Mutated(await self.insert(key, change(new)), changed=True)
            except AlreadyExists:
                continue
        raise VersionConflict(f"{self.name}/{key} kept changing")

    async def delete(self, key: str, *, version: int | None = None) -> bool:
        return await self._engine.delete(self.name, key, version=version)

    async def due(self, now: float, limit: int = 100) -> list[str]:
        return list(await self._engine.due(self.name, now, limit))

    async def scan(self) -> list[Versioned[R]]:
        rows = await self._engine.scan(self.name)
        return [Versioned(codec.decode(s.data, self._cls), s.version) for _, s in rows]

    async def scan_page(
        self, *, after: str = "", limit: int = 500
    ) -> list[tuple[str, Versioned[R]]]:
        """Up to ``limit`` live records with keys after ``after``, in key order."""
        rows = await self._engine.scan(self.name, limit, after=after)
        return [(k, Versioned(codec.decode(s.data, self._cls), s.version)) for k, s in rows]


async def _back_off(attempt: int) -> None:
    """Many writers on one record (a throttle counter under a flood, several instances):
    a growing, jittered pause after the first retry keeps them from colliding forever."""
    if attempt > 0:
        await asyncio.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))  # noqa: S311


def _user_options(user: UserRecord) -> WriteOptions:
    lookups = [("username", user.account.username.casefold())]
    if user.account.email:
        lookups.append(("email", user.account.email.casefold()))
    lookups += [("mechanism_uid", device.mechanism_uid) for device in user.push]
    return WriteOptions(lookups=lookups)


def _challenge_options(record: ChallengeRecord) -> WriteOptions:
    return WriteOptions(
        expires_at=record.txn.expires_at + DECIDED_RETENTION, due_at=record.txn.deadline()
    )


def _registration_options(record: RegistrationRecord) -> WriteOptions:
    # The phone that scanned is found by its mechanism uid before it becomes a device.
    lookups = [("pending_mechanism", record.device.mechanism_uid)] if record.device else []
    return WriteOptions(
        expires_at=record.txn.expires_at + DECIDED_RETENTION,
        due_at=record.txn.deadline(),
        lookups=lookups,
    )


POLL_NONCE_RETENTION = 300.0
THROTTLE_RETENTION = 86400.0


def _expiring(expires_at: Callable[[R], float]) -> Callable[[R], WriteOptions]:
    return lambda record: WriteOptions(expires_at=expires_at(record))


def _seen_options(record: Seen) -> WriteOptions:
    return WriteOptions(expires_at=record.at + POLL_NONCE_RETENTION)


def _case_options(record: CaseRecord) -> WriteOptions:
    """One case at a time per user: the open case owns the user's ``open_case`` lookup."""
    is_open = str(record.case.state) != "closed"
    return WriteOptions(lookups=[("open_case", record.user_id)] if is_open else [])


def _throttle_expiry(record: Throttle) -> float:
    latest = max((*record.failures, record.locked_until, record.last_lockout_at or 0.0))
    return latest + THROTTLE_RETENTION


class Store:
    """Everything pushd keeps, over one engine."""

    def __init__(self, engine: RecordEngine) -> None:
        self.engine = engine
        self.users = Table(engine, "user", UserRecord, _user_options)
        self.challenges = Table(engine, "challenge", ChallengeRecord, _challenge_options)
        self.registrations = Table(
            engine, "registration", RegistrationRecord, _registration_options
        )
        self.push_guards = Table(engine, "push_guard", PushGuard)
        self.api_keys = Table(engine, "api_key", ApiKeyRecord)
        self.meta = Table(engine, "meta", SealedValue)
        self.poll_nonces = Table(engine, "poll_nonce", Seen, _seen_options)
        self.otp_enrolments = Table(
            engine, "otp_enrolment", OtpEnrolment, _expiring(lambda r: r.expires_at)
        )
        self.ceremonies = Table(engine, "ceremony", Ceremony, _expiring(lambda r: r.expires_at))
        self.reauthentications = Table(
            engine, "reauth", Reauthentication, _expiring(lambda r: r.expires_at)
        )
        self.throttles = Table(engine, "throttle", Throttle, _expiring(_throttle_expiry))
        self.email_tokens = Table(
            engine, "email_token", EmailToken, _expiring(lambda r: r.expires_at)
        )
        self.alternatives = Table(
            engine, "alternative", AlternativeRecord,
            _expiring(lambda r: r.challenge.expires_at + DECIDED_RETENTION),
        )  # fmt: skip
        self.cases = Table(engine, "case", CaseRecord, _case_options)
        self.evidence = Table(engine, "evidence", SealedValue)
        self.sessions = Table(engine, "session", SessionRecord, _expiring(lambda r: r.expires_at))

    def tables(self) -> list[Table[Any]]:
        """Every table, for whole-store walks (key rotation)."""
        return [value for value in vars(self).values() if isinstance(value, Table)]

    async def user_id_by(self, lookup: str, value: str) -> str | None:
        found = await self.engine.find(lookup, value)
        return found[1] if found is not None and found[0] == self.users.name else None

    async def user_by(self, lookup: str, value: str) -> Versioned[UserRecord] | None:
        """The user owning a lookup value (username, email, mechanism uid), in one read."""
        found = await self.engine.find_record(lookup, value)
        if found is None or found[0] != self.users.name:
            return None
        stored = found[2]
        return Versioned(codec.decode(stored.data, UserRecord), stored.version)

    async def close(self) -> None:
        await self.engine.close()
