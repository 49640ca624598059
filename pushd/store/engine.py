"""The storage engine contract: versioned records, unique lookups, expiry and deadlines.

Both engines (embedded SQLite and Redis) implement :class:`RecordEngine`; typed
tables are built on top of it (``tables.py``). Every write is atomic, and an
update only succeeds against the version it read (compare-and-set).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol


class StoreError(Exception):
    """The store could not be reached or answered wrongly: an operational failure."""


class Conflict(Exception):
    """Base of the expected refusals: the caller decides what they mean."""


class AlreadyExists(Conflict):
    pass


class VersionConflict(Conflict):
    """Someone else changed the record since it was read."""


class LookupTaken(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is taken")
        self.name = name


@dataclass(frozen=True, slots=True)
class Stored:
    data: bytes
    version: int


class RecordEngine(Protocol):
    """``expires_at`` (epoch seconds) makes a record vanish; ``due_at`` lists it in ``due()``.

    ``lookups`` are unique ``(name, value)`` pairs owned by the record (a username, an
    email, a mechanism uid): writing one that another record owns raises LookupTaken.
    """

    async def get(self, table: str, key: str) -> Stored | None: ...

    async def get_many(self, table: str, keys: Sequence[str]) -> list[Stored | None]:
        """``get`` of several keys at once (one round trip)."""
        ...

    async def insert(
        self,
        table: str,
        key: str,
        data: bytes,
        *,
        expires_at: float | None = None,
        due_at: float | None = None,
        lookups: Collection[tuple[str, str]] = (),
    ) -> int: ...

    async def update(
        self,
        table: str,
        key: str,
        data: bytes,
        *,
        version: int,
        expires_at: float | None = None,
        due_at: float | None = None,
        lookups: Collection[tuple[str, str]] | None = None,
    ) -> int:
        """Replace the record if it is still at ``version``; ``lookups=None`` keeps them."""
        ...

    async def delete(self, table: str, key: str, *, version: int | None = None) -> bool: ...

    async def find(self, lookup: str, value: str) -> tuple[str, str] | None:
        """The (table, key) that owns a unique lookup value."""
        ...

    async def find_record(self, lookup: str, value: str) -> tuple[str, str, Stored] | None:
        """``find`` and the owner's record, read together (one round trip)."""
        ...

    async def due(self, table: str, now: float, limit: int) -> Sequence[str]: ...

    async def scan(
        self, table: str, limit: int = 1000, *, after: str = ""
    ) -> Sequence[tuple[str, Stored]]:
        """Live records in key order, keys after ``after``: operators' listings and walks."""
        ...

    async def append(self, stream: str, *, at: float, key: str, data: bytes) -> None:
        """Add an entry to an append-only stream (the audit log), indexed by ``key`` and time."""
        ...

    async def read(
        self, stream: str, *, key: str | None, since: float, until: float, limit: int
    ) -> Sequence[tuple[float, str, bytes]]:
        """Entries with ``since <= at < until`` (for ``key``, or all), oldest first."""
        ...

    async def trim_events(self, stream: str, before: float) -> int:
        """Drop a stream's entries older than ``before`` (retention); returns how many."""
        ...

    async def scrub(self) -> None:
        """Leave no copy of deleted data on disk (after destroying an ID document)."""
        ...

    async def purge_expired(self) -> int:
        """Drop expired records now (engines with native expiry return 0)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
