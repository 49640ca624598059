"""The Redis store: the same RecordEngine contract, shared by every pushd instance.

Records are msgpack (the codec) in a hash with their version; every change is one
Lua script (compare-and-set on the version, lookups and deadlines together), so a
decision is applied once even when two replies race on two instances. TTLs on
challenges and registrations match their expiry; deadlines live in sorted sets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from functools import partial
from typing import Any, TypeVar

import msgpack
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from pushd.store import redis_scripts
from pushd.store.engine import AlreadyExists, LookupTaken, Stored, StoreError, VersionConflict
from pushd.store.redis_batch import Batcher
from pushd.store.redis_connect import RedisClient, connect
from pushd.store.redis_keys import Keys

log = logging.getLogger("pushd.store")
T = TypeVar("T")
SEQ_DIGITS = 20
FIELDS = ("v", "d", "e")  # version, msgpack record, expires_at ("" for never)


class RedisEngine:
    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str,
        clock: Callable[[], float] = time.time,
        pool_size: int = 64,
    ) -> None:
        self.client = client
        self.keys = Keys(prefix)
        self._clock = clock
        # A Cluster client's pools fail when full instead of waiting: queue callers here.
        # Elsewhere the commands of one loop turn share a pipeline (see redis_batch).
        self._limit = asyncio.Semaphore(pool_size) if isinstance(client, RedisCluster) else None
        self._batch = None if isinstance(client, RedisCluster) else Batcher(client)
        self._insert = client.register_script(redis_scripts.INSERT)
        self._update = client.register_script(redis_scripts.UPDATE)
        self._delete = client.register_script(redis_scripts.DELETE)
        self._append = client.register_script(redis_scripts.APPEND)
        self._find = client.register_script(redis_scripts.FIND)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        prefix: str,
        pool_size: int = 64,
        command_timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> RedisEngine:
        client = connect(url, pool_size=pool_size, command_timeout=command_timeout)
        engine = cls(client, prefix=prefix, clock=clock, pool_size=pool_size)
        try:
            await engine.ping()
            await engine.check_durability()
        except BaseException:
            await engine.close()
            raise
        return engine

    # --- the RecordEngine contract ---------------------------------------------------

    async def get(self, table: str, key: str) -> Stored | None:
        fields = await self._read("HMGET", self.keys.record(table, key), *FIELDS)
        return self._live(fields)

    async def get_many(self, table: str, keys: Sequence[str]) -> list[Stored | None]:
        names = [self.keys.record(table, key) for key in keys]
        if self._batch is None:
            rows = await self._pipeline(lambda pipe: [pipe.hmget(n, *FIELDS) for n in names])
            return [self._live(fields) for fields in rows]
        batch = self._batch
        sent = [batch.submit("HMGET", name, *FIELDS, idempotent=True) for name in names]
        try:
            rows = await asyncio.gather(*sent)  # futures, not tasks: nothing to schedule
        except (RedisError, OSError) as e:
            raise StoreError(f"redis: {e}") from e
        return [self._live(fields) for fields in rows]

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
        args = [*self._write_args(table, key, data, expires_at, due_at), len(lookups)]
        await self._script(
            self._insert,
            [self.keys.record(table, key), self.keys.due(table)],
            [*args, *self._lookup_args(lookups)],
        )
        return 1

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
        args = self._write_args(table, key, data, expires_at, due_at)
        pairs = self._lookup_args(lookups or ())
        result = await self._script(
            self._update,
            [self.keys.record(table, key), self.keys.due(table)],
            [*args, version, "0" if lookups is None else "1", len(pairs) // 2, *pairs],
        )
        return int(result)

    async def delete(self, table: str, key: str, *, version: int | None = None) -> bool:
        result = await self._script(
            self._delete,
            [self.keys.record(table, key), self.keys.due(table)],
            [_owner(table, key), key, "" if version is None else version],
        )
        return bool(result)

    async def find(self, lookup: str, value: str) -> tuple[str, str] | None:
        found = await self.find_record(lookup, value)
        return None if found is None else (found[0], found[1])

    async def find_record(self, lookup: str, value: str) -> tuple[str, str, Stored] | None:
        reply = await self._script(
            self._find, [self.keys.lookup(lookup, value)], [self.keys.prefix], idempotent=True
        )
        if not reply:
            return None
        stored = self._live(reply[1:])
        if stored is None:
            return None
        table, _, key = _text(reply[0]).partition("\0")
        return table, key, stored

    async def due(self, table: str, now: float, limit: int) -> Sequence[str]:
        due_key = self.keys.due(table)
        members = await self._call(self.client.zrangebyscore, due_key, "-inf", now, 0, limit)
        keys = [_text(m) for m in members]
        if not keys:
            return []
        alive = await self._pipeline(
            lambda pipe: [pipe.exists(self.keys.record(table, k)) for k in keys]
        )
        gone = [k for k, exists in zip(keys, alive, strict=True) if not exists]
        if gone:  # expired by Redis before anyone swept them: forget their deadlines
            await self._call(self.client.zrem, due_key, *gone)
        return [k for k, exists in zip(keys, alive, strict=True) if exists]

    async def scan(
        self, table: str, limit: int = 1000, *, after: str = ""
    ) -> Sequence[tuple[str, Stored]]:
        """SCANs the keyspace: for operators' listings and walks, never on a request's path."""
        prefix = self.keys.record(table, "")
        names = sorted(await self._keys_matching(self.keys.record_pattern(table)))
        if after:
            names = [n for n in names if n.removeprefix(prefix) > after]
        found: list[tuple[str, Stored]] = []
        for start in range(0, len(names), max(limit, 1)):  # pages, until ``limit`` are live
            chunk = names[start : start + limit]
            rows = await self._pipeline(partial(_hmget_all, chunk))
            for name, fields in zip(chunk, rows, strict=True):
                stored = self._live(fields)
                if stored is not None:
                    found.append((name.removeprefix(prefix), stored))
            if len(found) >= limit:
                break
        return found[:limit]

    async def append(self, stream: str, *, at: float, key: str, data: bytes) -> None:
        entry = msgpack.packb([key, data], use_bin_type=True)
        await self._script(
            self._append,
            [self.keys.events(stream, key), self.keys.events(stream, None),
             self.keys.event_sequence],
            [at, entry],
        )  # fmt: skip

    async def read(
        self, stream: str, *, key: str | None, since: float, until: float, limit: int
    ) -> Sequence[tuple[float, str, bytes]]:
        rows: list[Any] = await self._call(
            self.client.zrangebyscore,
            self.keys.events(stream, key),
            since,
            f"({until}",
            0,
            limit,
            withscores=True,
        )
        out = []
        for member, score in rows:
            owner, data = msgpack.unpackb(_raw(member)[SEQ_DIGITS:], raw=False)
            out.append((float(score), str(owner), bytes(data)))
        return out

    async def purge_expired(self) -> int:
        """Records expire by themselves; only old audit events need trimming."""
        return 0

    async def trim_events(self, stream: str, before: float) -> int:
        everything = self.keys.events(stream, None)
        names = await self._keys_matching(self.keys.events_pattern(stream))
        per_key = [name for name in names if name != everything]
        removed = await self._pipeline(
            lambda pipe: [
                pipe.zremrangebyscore(name, "-inf", f"({before}") for name in [everything, *per_key]
            ]
        )
        return int(removed[0])

    async def scrub(self) -> None:
        """An append-only file still holds deleted values until it is rewritten."""
        try:
            enabled = await self.client.config_get("appendonly")
        except RedisError:
            return  # CONFIG is off in some managed services; their persistence is theirs
        if _setting(enabled, "appendonly") == "yes":
            await self._call(self.client.bgrewriteaof)

    async def ping(self) -> None:
        await self._call(self.client.ping)

    async def publish(self, channel: str, payload: bytes) -> None:
        """PUBLISH with the store's other commands (the decision bus); Redis errors raised."""
        if self._batch is None:
            await self.client.publish(channel, payload)
        else:
            await self._batch.execute("PUBLISH", channel, payload, idempotent=False)

    async def check_durability(self) -> list[str]:
        """Warn about settings that could lose or evict records (pushd still starts)."""
        try:
            config = await self.client.config_get("*")
        except RedisError:
            log.warning("could not read the Redis configuration to check its durability")
            return ["unknown"]
        warnings = []
        if _setting(config, "appendonly") != "yes":
            warnings.append("appendonly is off: a restart loses pending challenges and records")
        elif _setting(config, "appendfsync") not in ("everysec", "always"):
            warnings.append("appendfsync should be everysec or always")
        if _setting(config, "maxmemory-policy") != "noeviction":
            warnings.append("maxmemory-policy should be noeviction: evicted records are lost")
        for warning in warnings:
            log.warning("Redis durability: %s", warning)
        return warnings

    async def close(self) -> None:
        if self._batch is not None:
            await self._batch.close()
        await self.client.aclose()
        pool = getattr(self.client, "connection_pool", None)
        sentinels = getattr(pool, "sentinel_manager", None)
        for sentinel in sentinels.sentinels if sentinels else ():  # their own connections
            await sentinel.aclose()

    # --- plumbing ---------------------------------------------------------------------

    def _live(self, fields: Sequence[Any]) -> Stored | None:
        """A record read with FIELDS, unless it is missing or dead by pushd's clock."""
        version, data, expires_at = fields
        if version is None or data is None:
            return None
        if expires_at and float(expires_at) <= self._clock():
            return None
        return Stored(_raw(data), int(version))

    def _write_args(
        self, table: str, key: str, data: bytes, expires_at: float | None, due_at: float | None
    ) -> list[Any]:
        owner = _owner(table, key)
        now = repr(self._clock())
        return [
            self.keys.prefix,
            owner,
            key,
            data,
            _ms(expires_at),
            _at(due_at),
            _at(expires_at),
            now,
        ]

    def _lookup_args(self, lookups: Collection[tuple[str, str]]) -> list[str]:
        return [item for name, value in lookups for item in (self.keys.lookup(name, value), name)]

    async def _call(self, method: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """An idempotent command: tried again once on a dropped connection (a pooled
        connection Redis closed while idle, after a restart or failover)."""
        try:
            async with self._slot():
                try:
                    return await method(*args, **kwargs)
                except RedisConnectionError:
                    return await method(*args, **kwargs)
        except (RedisError, OSError) as e:
            raise StoreError(f"redis: {e}") from e

    async def _keys_matching(self, pattern: str) -> list[str]:
        """SCAN (every shard of a Cluster): for operators' listings and retention."""

        async def scan() -> list[str]:
            return [_text(name) async for name in self.client.scan_iter(match=pattern, count=500)]

        return await self._call(scan)

    def _slot(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return self._limit if self._limit is not None else contextlib.nullcontext()

    async def _read(self, *command: Any) -> Any:
        """An idempotent command (tried again once on a dropped connection, like ``_call``)."""
        if self._batch is None:
            return await self._call(self.client.execute_command, *command)
        try:
            return await self._batch.execute(*command, idempotent=True)
        except (RedisError, OSError) as e:
            raise StoreError(f"redis: {e}") from e

    async def _script(
        self, script: Any, keys: list[str], args: list[Any], *, idempotent: bool = False
    ) -> Any:
        """A script; only a read-only one (``idempotent``) is sent again after a lost reply."""
        try:
            if self._batch is not None:
                command = ("EVALSHA", script.sha, len(keys), *keys, *args)
                return await self._batch.execute(*command, idempotent=idempotent, script=script)
            if idempotent:
                return await self._call(script, keys=keys, args=args)
            async with self._slot():
                return await script(keys=keys, args=args)
        except ResponseError as e:
            raise _refusal(str(e)) from e
        except (RedisError, OSError) as e:
            raise StoreError(f"redis: {e}") from e

    async def _pipeline(self, build: Callable[[Any], list[Any]]) -> list[Any]:
        """Idempotent reads in one round trip (tried again like ``_call``)."""

        async def run() -> list[Any]:
            async with self.client.pipeline(transaction=False) as pipe:
                build(pipe)
                result: list[Any] = await pipe.execute()
                return result

        return await self._call(run)


def _raw(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _text(value: Any) -> str:
    return _raw(value).decode("utf-8")


def _refusal(message: str) -> Exception:
    if "PUSHD exists" in message:
        return AlreadyExists(message)
    if "PUSHD conflict" in message:
        return VersionConflict(message)
    if "PUSHD taken" in message:
        return LookupTaken(message.rsplit(" ", 1)[-1])
    return StoreError(f"redis: {message}")


def _owner(table: str, key: str) -> str:
    return f"{table}\0{key}"


def _ms(epoch: float | None) -> str:
    return "" if epoch is None else str(max(1, int(epoch * 1000)))


def _at(epoch: float | None) -> str:
    return "" if epoch is None else repr(epoch)


def _setting(config: Any, name: str) -> str:
    value = config.get(name) if isinstance(config, dict) else None
    if value is None and isinstance(config, dict):
        value = config.get(name.encode())
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _hmget_all(names: Sequence[str], pipe: Any) -> list[Any]:
    return [pipe.hmget(name, *FIELDS) for name in names]
