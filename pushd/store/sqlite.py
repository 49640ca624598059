"""The embedded store: one SQLite file in WAL mode, durable across restarts.

Each operation is one short transaction run synchronously on the event-loop thread,
so no two operations interleave and none waits for a thread hand-off: measured, the
hop to a store thread (and the GIL convoy it causes under load) cost more than the SQL.
Commits append to the write-ahead log without fsync (``synchronous=NORMAL``: a crash
of the process loses nothing; a power cut may lose the last second); the fsyncs happen
in WAL checkpoints, which run on a background thread. Another process (the CLI) may
share the file: a write that finds it locked is retried without blocking the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TypeVar

from pushd.store.engine import AlreadyExists, LookupTaken, Stored, StoreError, VersionConflict

T = TypeVar("T")
log = logging.getLogger("pushd.store")
SCHEMA_VERSION = 1
_LOCK_RETRIES = 40
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    tbl TEXT NOT NULL,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    data BLOB NOT NULL,
    expires_at REAL,
    due_at REAL,
    UNIQUE (tbl, key)
);
CREATE INDEX IF NOT EXISTS records_due ON records (tbl, due_at) WHERE due_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_expiry ON records (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS lookups (
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    tbl TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (name, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lookups_owner ON lookups (tbl, key);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    at REAL NOT NULL,
    key TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_key ON events (stream, key, at);
CREATE INDEX IF NOT EXISTS events_by_time ON events (stream, at);
"""
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
# A new record, or one that replaces an expired record under the same key.
_INSERT = (
    "INSERT INTO records (tbl, key, version, data, expires_at, due_at) VALUES (?, ?, 1, ?, ?, ?)"
    " ON CONFLICT (tbl, key) DO UPDATE SET version = 1, data = excluded.data,"
    " expires_at = excluded.expires_at, due_at = excluded.due_at"
    " WHERE records.expires_at IS NOT NULL AND records.expires_at <= ?"
)
# Compare-and-set: only the version that was read, and only while it is live.
_UPDATE = (
    "UPDATE records SET version = version + 1, data = ?, expires_at = ?, due_at = ?"
    " WHERE tbl = ? AND key = ? AND version = ? AND (expires_at IS NULL OR expires_at > ?)"
)
_FIND_OWNER = (
    "SELECT l.tbl, l.key FROM lookups l JOIN records r ON r.tbl = l.tbl AND r.key = l.key"
    " WHERE l.name = ? AND l.value = ? AND (r.expires_at IS NULL OR r.expires_at > ?)"
)
_FIND_RECORD = (
    "SELECT l.tbl, l.key, r.data, r.version FROM lookups l"
    " JOIN records r ON r.tbl = l.tbl AND r.key = l.key"
    " WHERE l.name = ? AND l.value = ? AND (r.expires_at IS NULL OR r.expires_at > ?)"
)


class SQLiteEngine:
    def __init__(self, path: Path, *, clock: Callable[[], float]) -> None:
        self._path = path
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        self._checkpointer: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, path: Path, *, clock: Callable[[], float], checkpoint_every: float = 1.0
    ) -> SQLiteEngine:
        engine = cls(path, clock=clock)
        await asyncio.to_thread(engine._connect)
        engine._checkpointer = asyncio.create_task(engine._checkpoints(checkpoint_every))
        return engine

    # --- the RecordEngine contract ---------------------------------------------------

    async def get(self, table: str, key: str) -> Stored | None:
        return await self._run(self._get, table, key, self._clock())

    async def get_many(self, table: str, keys: Sequence[str]) -> list[Stored | None]:
        now = self._clock()
        return await self._run(lambda: [self._get(table, key, now) for key in keys])

    async def insert(
        self,
        table: str,
        key: str,
        data: bytes,
        *,
        expires_at: float | None = None,
        due_at: float | None = None,
        lookups: Collection[tuple[str, str]] = (),
    ) -> int:
        write = functools.partial(
            self._write,
            version=None,
            expires_at=expires_at,
            due_at=due_at,
            lookups=lookups,
            now=self._clock(),
        )
        return await self._transaction(write, table, key, data)

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
        write = functools.partial(
            self._write,
            version=version,
            expires_at=expires_at,
            due_at=due_at,
            lookups=lookups,
            now=self._clock(),
        )
        return await self._transaction(write, table, key, data)

    async def delete(self, table: str, key: str, *, version: int | None = None) -> bool:
        return await self._transaction(self._delete, table, key, version)

    async def find(self, lookup: str, value: str) -> tuple[str, str] | None:
        return await self._run(self._find, lookup, value, self._clock())

    async def find_record(self, lookup: str, value: str) -> tuple[str, str, Stored] | None:
        return await self._run(self._find_record, lookup, value, self._clock())

    async def due(self, table: str, now: float, limit: int) -> Sequence[str]:
        return await self._run(self._due, table, now, limit)

    async def scan(
        self, table: str, limit: int = 1000, *, after: str = ""
    ) -> Sequence[tuple[str, Stored]]:
        return await self._run(self._scan, table, limit, after, self._clock())

    async def append(self, stream: str, *, at: float, key: str, data: bytes) -> None:
        await self._transaction(self._append, stream, at, key, data)

    async def read(
        self, stream: str, *, key: str | None, since: float, until: float, limit: int
    ) -> Sequence[tuple[float, str, bytes]]:
        return await self._run(self._read, stream, key, since, until, limit)

    async def trim_events(self, stream: str, before: float) -> int:
        return await self._transaction(self._trim_events, stream, before)

    async def scrub(self) -> None:
        """Deleted rows are already zeroed (secure_delete); the write-ahead log still holds
        their old pages until it is checkpointed and truncated."""
        await asyncio.to_thread(_checkpoint, self._path, "TRUNCATE")

    async def purge_expired(self) -> int:
        return await self._transaction(self._purge, self._clock())

    async def ping(self) -> None:
        await self._run(lambda: self._db.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.to_thread(_checkpoint, self._path, "TRUNCATE")
            conn.close()

    # --- running operations -----------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn`` now; a write that finds the file locked by another process is retried."""
        delay = 0.002
        for _ in range(_LOCK_RETRIES):
            try:
                return fn(*args)
            except sqlite3.OperationalError as e:
                if not _is_locked(e):
                    raise StoreError(f"sqlite: {e}") from e
            except sqlite3.Error as e:
                raise StoreError(f"sqlite: {e}") from e
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
        raise StoreError("sqlite: the database stayed locked")

    async def _transaction(self, fn: Callable[..., T], *args: object) -> T:
        return await self._run(self._in_transaction, fn, *args)

    async def _checkpoints(self, every: float) -> None:
        """Move the write-ahead log into the database (and fsync) off the loop thread."""
        while True:
            await asyncio.sleep(every)
            try:
                await asyncio.to_thread(_checkpoint, self._path, "PASSIVE")
            except sqlite3.Error:
                log.warning("WAL checkpoint failed; will retry", exc_info=True)

    def _in_transaction(self, fn: Callable[..., T], *args: object) -> T:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(*args)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("store is closed")
        return self._conn

    def _connect(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpoint thread does it
        conn.execute("PRAGMA busy_timeout=0")  # never block the loop: _run retries
        conn.execute("PRAGMA secure_delete=ON")  # deleted content is overwritten with zeros
        conn.executescript(_SCHEMA)
        (current,) = conn.execute("PRAGMA user_version").fetchone()
        if current > SCHEMA_VERSION:
            conn.close()
            raise StoreError(f"{self._path} was written by a newer pushd (schema {current})")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._conn = conn

    def _get(self, table: str, key: str, now: float) -> Stored | None:
        row = self._db.execute(
            f"SELECT data, version FROM records WHERE tbl=? AND key=? AND {_LIVE}",  # noqa: S608
            (table, key, now),
        ).fetchone()
        return Stored(row[0], row[1]) if row else None

    def _write(
        self,
        table: str,
        key: str,
        data: bytes,
        *,
        version: int | None,
        expires_at: float | None,
        due_at: float | None,
        lookups: Collection[tuple[str, str]] | None,
        now: float,
    ) -> int:
        db = self._db
        if version is None:
            written = db.execute(_INSERT, (table, key, data, expires_at, due_at, now)).rowcount
            if not written:
                raise AlreadyExists(f"{table}/{key}")
            self._replace_lookups(table, key, lookups or (), now)
            return 1
        written = db.execute(_UPDATE, (data, expires_at, due_at, table, key, version, now)).rowcount
        if not written:
            raise VersionConflict(f"{table}/{key}")
        if lookups is not None:
            self._replace_lookups(table, key, lookups, now)
        return version + 1

    def _replace_lookups(
        self, table: str, key: str, lookups: Collection[tuple[str, str]], now: float
    ) -> None:
        db = self._db
        owned = db.execute("SELECT name, value FROM lookups WHERE tbl=? AND key=?", (table, key))
        if {tuple(row) for row in owned} == set(lookups):
            return  # the usual update: the same lookups, already this record's
        db.execute("DELETE FROM lookups WHERE tbl=? AND key=?", (table, key))
        for name, value in lookups:
            if self._find(name, value, now) is not None:
                raise LookupTaken(name)
            db.execute(
                "INSERT OR REPLACE INTO lookups (name, value, tbl, key) VALUES (?, ?, ?, ?)",
                (name, value, table, key),
            )

    def _delete(self, table: str, key: str, version: int | None) -> bool:
        if version is None:
            cursor = self._db.execute("DELETE FROM records WHERE tbl=? AND key=?", (table, key))
        else:
            cursor = self._db.execute(
                "DELETE FROM records WHERE tbl=? AND key=? AND version=?", (table, key, version)
            )
        deleted = cursor.rowcount > 0
        if deleted:
            self._db.execute("DELETE FROM lookups WHERE tbl=? AND key=?", (table, key))
        return deleted

    def _find(self, lookup: str, value: str, now: float) -> tuple[str, str] | None:
        row = self._db.execute(_FIND_OWNER, (lookup, value, now)).fetchone()
        return (row[0], row[1]) if row else None

    def _find_record(self, lookup: str, value: str, now: float) -> tuple[str, str, Stored] | None:
        row = self._db.execute(_FIND_RECORD, (lookup, value, now)).fetchone()
        return (row[0], row[1], Stored(row[2], row[3])) if row else None

    def _due(self, table: str, now: float, limit: int) -> list[str]:
        rows = self._db.execute(
            "SELECT key FROM records WHERE tbl=? AND due_at IS NOT NULL AND due_at <= ?"
            " ORDER BY due_at LIMIT ?",
            (table, now, limit),
        ).fetchall()
        return [row[0] for row in rows]

    def _scan(self, table: str, limit: int, after: str, now: float) -> list[tuple[str, Stored]]:
        rows = self._db.execute(
            f"SELECT key, data, version FROM records WHERE tbl=? AND key>? AND {_LIVE}"  # noqa: S608
            " ORDER BY key LIMIT ?",
            (table, after, now, limit),
        ).fetchall()
        return [(row[0], Stored(row[1], row[2])) for row in rows]

    def _append(self, stream: str, at: float, key: str, data: bytes) -> None:
        self._db.execute(
            "INSERT INTO events (stream, at, key, data) VALUES (?, ?, ?, ?)",
            (stream, at, key, data),
        )

    def _read(
        self, stream: str, key: str | None, since: float, until: float, limit: int
    ) -> list[tuple[float, str, bytes]]:
        if key is None:
            rows = self._db.execute(
                "SELECT at, key, data FROM events WHERE stream = ? AND at >= ? AND at < ?"
                " ORDER BY at, seq LIMIT ?",
                (stream, since, until, limit),
            ).fetchall()
        else:
            rows = self._db.execute(
                "SELECT at, key, data FROM events WHERE stream = ? AND key = ? AND at >= ?"
                " AND at < ? ORDER BY at, seq LIMIT ?",
                (stream, key, since, until, limit),
            ).fetchall()
        return [(row[0], row[1], row[2]) for row in rows]

    def _trim_events(self, stream: str, before: float) -> int:
        return self._db.execute(
            "DELETE FROM events WHERE stream = ? AND at < ?", (stream, before)
        ).rowcount

    def _purge(self, now: float) -> int:
        self._db.execute(
            "DELETE FROM lookups WHERE (tbl, key) IN (SELECT tbl, key FROM records"
            " WHERE expires_at IS NOT NULL AND expires_at <= ?)",
            (now,),
        )
        return self._db.execute(
            "DELETE FROM records WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
        ).rowcount


def _is_locked(error: sqlite3.OperationalError) -> bool:
    return "locked" in str(error) or "busy" in str(error)


def _checkpoint(path: Path, mode: str) -> None:
    with contextlib.closing(sqlite3.connect(path, timeout=5)) as conn:
        conn.execute(f"PRAGMA wal_checkpoint({mode})")
