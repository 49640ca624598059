"""API keys for login pages and admin keys for operators: shown once, stored as hashes."""

from __future__ import annotations

import enum
import secrets
import time
from collections import OrderedDict

from pushd.keys import api_key_digest
from pushd.store.records import ApiKeyRecord
from pushd.store.tables import Store


class Scope(enum.StrEnum):
    API = "api"  # login pages: the /v1 API
    ADMIN = "admin"  # operators: /v1/admin


PREFIXES = {Scope.API: "pk_", Scope.ADMIN: "ak_"}


async def create_key(store: Store, name: str, scope: Scope, *, now: float) -> str:
    """Store a new key's hash and return the key itself (the only time it is seen)."""
    key = PREFIXES[scope] + secrets.token_urlsafe(32)
    digest = api_key_digest(key)
    record = ApiKeyRecord(key_id=digest, name=name, scope=scope, created_at=now, hint=key[:7])
    await store.api_keys.insert(digest, record)
    return key


async def list_keys(store: Store) -> list[ApiKeyRecord]:
    return sorted((v.record for v in await store.api_keys.scan()), key=lambda r: r.created_at)


async def revoke_key(store: Store, name: str) -> int:
    """Revoke every key of that name (or with that hint); returns how many."""
    revoked = 0
    for record in await list_keys(store):
        if name in (record.name, record.hint):
            revoked += await store.api_keys.delete(record.key_id)
    return revoked


class KeyChecker:
    """Looks keys up by hash, remembering good ones for a few seconds (revocation delay)."""

    def __init__(self, store: Store, *, cache_seconds: float, max_entries: int = 1024) -> None:
        self._store = store
        self._ttl = cache_seconds
        self._max = max_entries
        self._cache: OrderedDict[str, tuple[float, Scope]] = OrderedDict()

    async def scope_of(self, key: str) -> Scope | None:
        digest = api_key_digest(key)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await self._store.api_keys.get(digest)
        if found is None:
            self._cache.pop(digest, None)
            return None
        scope = Scope(found.record.scope)
        self._cache[digest] = (now + self._ttl, scope)
        self._cache.move_to_end(digest)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return scope
