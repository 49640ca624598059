"""Typed tables: a change handed the caller's copy of a record still lands on the stored one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pushd.store.engine import RecordEngine
from pushd.store.records import PushGuard
from pushd.store.tables import Store


class Stale(Exception):
    pass


async def test_mutate_from_a_stale_copy_decides_on_the_stored_record(engine: RecordEngine) -> None:
    guards = Store(engine).push_guards
    first = await guards.insert("u", PushGuard(recent=(1.0,)))
    await guards.update("u", first, PushGuard(recent=(1.0, 2.0)))  # someone else moved it on

    def add(guard: PushGuard) -> PushGuard:
        return replace(guard, recent=(*guard.recent, 3.0))

    added = await guards.mutate("u", add, current=first)
    assert added is not None
    assert (added.changed, added.current.version, added.record.recent) == (True, 3, (1.0, 2.0, 3.0))

    def refuse_the_old_one(guard: PushGuard) -> PushGuard:
        if len(guard.recent) < 3:
            raise Stale
        return replace(guard, fraud_signals=1)

    refused_on_copy = await guards.mutate("u", refuse_the_old_one, current=first)
    assert refused_on_copy is not None
    assert refused_on_copy.record.fraud_signals == 1

    def keep_the_old_one(guard: PushGuard) -> PushGuard:
        return guard if len(guard.recent) == 1 else replace(guard, denials_in_a_row=2)

    kept_on_copy = await guards.mutate("u", keep_the_old_one, current=first)
    assert kept_on_copy is not None
    assert kept_on_copy.record.denials_in_a_row == 2

    def refuse(_guard: PushGuard) -> PushGuard:
        raise Stale

    with pytest.raises(Stale):  # a refusal the stored record confirms stands
        await guards.mutate("u", refuse, current=first)
