"""Master-key rotation: which key seals what, and re-sealing everything under the current key.

Every ``sealed*`` field of every stored record, nested ones included (a user's devices, a
session's registration offer), is a vault value whose header names its key. ``reseal``
re-encrypts those sealed under another key, one compare-and-set per record, so it is safe
while pushd serves, on any number of instances, and can simply be run again.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from pushd.keys import SealError, Vault, sealed_key_id
from pushd.store.engine import Conflict
from pushd.store.tables import Store, Table, Versioned

PAGE = 500


@dataclass(frozen=True, slots=True)
class ResealReport:
    records: int  # records rewritten
    values: int  # sealed values re-encrypted
    unopened: int  # values under a key that is not configured: left as they are


async def census(store: Store) -> Counter[str]:
    """How many sealed values each key id (hex) holds, over the whole store."""
    counts: Counter[str] = Counter()
    async for _table, _key, record in _every_record(store):
        for sealed in _sealed_values(record.record):
            counts[sealed_key_id(sealed).hex()] += 1
    return counts


async def reseal(store: Store, vault: Vault) -> ResealReport:
    """Re-seal every value not sealed under the current key (values no key opens are kept)."""
    records = values = unopened = 0
    async for table, key, found in _every_record(store):
        stale = [s for s in _sealed_values(found.record) if not vault.sealed_with_current_key(s)]
        if not stale:
            continue
        unopened += sum(not vault.can_open(s) for s in stale)
        rewritten = await _reseal_record(table, key, found, vault)
        if rewritten:
            records += 1
            values += rewritten
    return ResealReport(records=records, values=values, unopened=unopened)


async def _reseal_record(table: Table[Any], key: str, found: Versioned[Any], vault: Vault) -> int:
    """Rewrite one record with its values re-sealed; how many were (0: nothing written)."""
    counted: list[int] = []

    def change(record: Any) -> Any:
        counted.clear()  # a retry after a conflict starts again from the latest version
        return _rewrite(record, lambda sealed: _resealed(vault, sealed, counted))

    try:
        mutated = await table.mutate(key, change, current=found)
    except Conflict:
        return 0  # rewritten meanwhile by its owner; running again picks it up
    return len(counted) if mutated is not None and mutated.changed else 0


def _resealed(vault: Vault, sealed: bytes, counted: list[int]) -> bytes:
    """``Vault.reseal`` of a value a configured key opens; anything else is left as it is."""
    if not vault.can_open(sealed):
        return sealed  # under a key that is not configured: kept, and reported
    try:
        fresh = vault.reseal(sealed)  # the value itself when already under the current key
    except SealError:
        return sealed  # a known key id that does not open it: leave it for the operator
    if fresh is not sealed:
        counted.append(1)
    return fresh


async def _every_record(
    store: Store,
) -> AsyncIterator[tuple[Table[Any], str, Versioned[Any]]]:
    for table in store.tables():
        after = ""
        while True:
            page = await table.scan_page(after=after, limit=PAGE)
            for key, found in page:
                yield table, key, found
            if len(page) < PAGE:
                break
            after = page[-1][0]


def _sealed_values(value: object) -> list[bytes]:
    found: list[bytes] = []

    def collect(sealed: bytes) -> bytes:
        found.append(sealed)
        return sealed

    _rewrite(value, collect)
    return found


def _rewrite(value: Any, on_sealed: Callable[[bytes], bytes]) -> Any:
    """``value`` with every non-empty ``sealed*`` field replaced by ``on_sealed`` of it;
    the very same object when nothing changed."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            current = getattr(value, f.name)
            if f.name.startswith("sealed") and isinstance(current, bytes):
                new = on_sealed(current) if current else current
            else:
                new = _rewrite(current, on_sealed)
            if new is not current:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, list | tuple):
        items = [_rewrite(item, on_sealed) for item in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if isinstance(value, dict):
        rewritten = {k: _rewrite(v, on_sealed) for k, v in value.items()}
        return value if all(rewritten[k] is value[k] for k in value) else rewritten
    return value
