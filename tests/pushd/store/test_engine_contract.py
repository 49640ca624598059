"""The RecordEngine contract, for every engine."""

from __future__ import annotations

import asyncio

import pytest

from pushd.store.engine import AlreadyExists, LookupTaken, RecordEngine, Stored, VersionConflict
from tests.pushd.store.conftest import FakeClock


async def test_insert_get_update_delete(engine: RecordEngine) -> None:
    assert await engine.get("t", "k") is None
    assert await engine.insert("t", "k", b"one") == 1
    stored = await engine.get("t", "k")
    assert stored is not None
    assert (stored.data, stored.version) == (b"one", 1)
    assert await engine.update("t", "k", b"two", version=1) == 2
    with pytest.raises(VersionConflict):
        await engine.update("t", "k", b"stale", version=1)
    stored = await engine.get("t", "k")
    assert stored is not None
    assert stored.data == b"two"
    assert not await engine.delete("t", "k", version=1)
    assert await engine.delete("t", "k", version=2)
    assert await engine.get("t", "k") is None
    assert not await engine.delete("t", "k")


async def test_insert_twice_and_update_missing(engine: RecordEngine) -> None:
    await engine.insert("t", "k", b"x")
    with pytest.raises(AlreadyExists):
        await engine.insert("t", "k", b"y")
    with pytest.raises(VersionConflict):
        await engine.update("t", "missing", b"y", version=1)
    assert await engine.insert("other", "k", b"z") == 1  # tables are separate


async def test_unique_lookups(engine: RecordEngine) -> None:
    await engine.insert("user", "1", b"a", lookups=[("username", "alice"), ("email", "a@x")])
    assert await engine.find("username", "alice") == ("user", "1")
    with pytest.raises(LookupTaken) as taken:
        await engine.insert("user", "2", b"b", lookups=[("username", "alice")])
    assert taken.value.name == "username"
    assert await engine.get("user", "2") is None  # nothing half-written
    await engine.update("user", "1", b"a2", version=1, lookups=[("username", "alicia")])
    assert await engine.find("username", "alice") is None
    assert await engine.find("email", "a@x") is None
    await engine.insert("user", "2", b"b", lookups=[("username", "alice")])
    await engine.update("user", "2", b"b2", version=1)  # lookups=None keeps them
    assert await engine.find("username", "alice") == ("user", "2")
    await engine.delete("user", "2")
    assert await engine.find("username", "alice") is None


async def test_find_record_reads_the_owner_with_its_lookup(
    engine: RecordEngine, clock: FakeClock
) -> None:
    await engine.insert("user", "1", b"a", lookups=[("username", "alice")])
    await engine.update("user", "1", b"a2", version=1)  # same lookups: kept as they are
    assert await engine.find_record("username", "alice") == ("user", "1", Stored(b"a2", 2))
    assert await engine.find_record("username", "bob") is None
    await engine.insert("c", "k", b"x", expires_at=clock.now + 10, lookups=[("l", "v")])
    assert await engine.find_record("l", "v") == ("c", "k", Stored(b"x", 1))
    clock.now += 10
    assert await engine.find_record("l", "v") is None  # dead by pushd's clock
    await engine.delete("user", "1")
    assert await engine.find_record("username", "alice") is None


async def test_get_many_reads_each_key_or_none(engine: RecordEngine, clock: FakeClock) -> None:
    await engine.insert("t", "a", b"a")
    await engine.insert("t", "b", b"b", expires_at=clock.now + 10)
    assert await engine.get_many("t", ["a", "missing", "b"]) == [
        Stored(b"a", 1),
        None,
        Stored(b"b", 1),
    ]
    clock.now += 10
    assert await engine.get_many("t", ["b", "a"]) == [None, Stored(b"a", 1)]
    assert await engine.get_many("t", []) == []


async def test_a_failed_update_changes_nothing(engine: RecordEngine) -> None:
    await engine.insert("user", "1", b"a", lookups=[("username", "alice")])
    await engine.insert("user", "2", b"b", lookups=[("username", "bob")])
    with pytest.raises(LookupTaken):
        await engine.update("user", "2", b"b2", version=1, lookups=[("username", "alice")])
    stored = await engine.get("user", "2")
    assert stored is not None
    assert (stored.data, stored.version) == (b"b", 1)
    assert await engine.find("username", "bob") == ("user", "2")


async def test_expiry(engine: RecordEngine, clock: FakeClock) -> None:
    await engine.insert("c", "k", b"x", expires_at=clock.now + 20, lookups=[("l", "v")])
    assert await engine.get("c", "k") is not None
    assert await engine.find("l", "v") == ("c", "k")
    clock.now += 20
    assert await engine.get("c", "k") is None
    assert await engine.find("l", "v") is None
    assert [key for key, _ in await engine.scan("c")] == []
    with pytest.raises(VersionConflict):
        await engine.update("c", "k", b"y", version=1)
    assert await engine.insert("c", "k", b"fresh", lookups=[("l", "v")]) == 1  # the key is free
    assert await engine.find("l", "v") == ("c", "k")


async def test_purge(engine: RecordEngine, clock: FakeClock) -> None:
    await engine.insert("c", "old", b"x", expires_at=clock.now + 10, lookups=[("l", "old")])
    await engine.insert("c", "new", b"x", expires_at=clock.now + 100)
    clock.now += 15
    await engine.purge_expired()
    assert [key for key, _ in await engine.scan("c")] == ["new"]


async def test_due(engine: RecordEngine, clock: FakeClock) -> None:
    await engine.insert("c", "late", b"x", due_at=clock.now + 20)
    await engine.insert("c", "soon", b"x", due_at=clock.now + 10)
    await engine.insert("c", "never", b"x")
    assert await engine.due("c", clock.now, 10) == []
    assert list(await engine.due("c", clock.now + 30, 10)) == ["soon", "late"]
    assert list(await engine.due("c", clock.now + 30, 1)) == ["soon"]
    await engine.update("c", "soon", b"done", version=1, due_at=None)
    assert list(await engine.due("c", clock.now + 30, 10)) == ["late"]


async def test_scan(engine: RecordEngine) -> None:
    for key in ("b", "a", "c"):
        await engine.insert("s", key, key.encode())
    assert [(k, s.data) for k, s in await engine.scan("s")] == [
        ("a", b"a"),
        ("b", b"b"),
        ("c", b"c"),
    ]


async def test_compare_and_set_lets_exactly_one_writer_win(engine: RecordEngine) -> None:
    await engine.insert("t", "k", b"0")

    async def bump(n: int) -> bool:
        try:
            await engine.update("t", "k", str(n).encode(), version=1)
        except VersionConflict:
            return False
        return True

    results = await asyncio.gather(*(bump(n) for n in range(50)))
    assert results.count(True) == 1


async def test_ping(engine: RecordEngine) -> None:
    await engine.ping()


async def test_append_only_streams(engine: RecordEngine) -> None:
    for at, key in ((30.0, "u1"), (10.0, "u2"), (20.0, "u1"), (20.0, "u1")):
        await engine.append("audit", at=at, key=key, data=f"{key}@{at}".encode())
    await engine.append("other", at=15.0, key="u1", data=b"x")
    everything = await engine.read("audit", key=None, since=0, until=100, limit=10)
    assert [(at, key) for at, key, _ in everything] == [
        (10.0, "u2"), (20.0, "u1"), (20.0, "u1"), (30.0, "u1"),
    ]  # fmt: skip
    mine = await engine.read("audit", key="u1", since=15, until=30, limit=10)
    assert [data for _, _, data in mine] == [b"u1@20.0", b"u1@20.0"]
    assert len(await engine.read("audit", key=None, since=0, until=100, limit=2)) == 2


async def test_update_moves_expiry_and_keeps_lookups_alive(
    engine: RecordEngine, clock: FakeClock
) -> None:
    await engine.insert("c", "k", b"x", expires_at=clock.now + 20, lookups=[("l", "v")])
    await engine.update("c", "k", b"y", version=1, expires_at=clock.now + 100)
    clock.now += 30
    stored = await engine.get("c", "k")
    assert stored is not None
    assert stored.data == b"y"
    assert await engine.find("l", "v") == ("c", "k")
    await engine.update("c", "k", b"z", version=2)  # no expiry: kept for good
    clock.now += 10
    assert await engine.find("l", "v") == ("c", "k")


async def test_a_lookup_of_an_expired_owner_is_free(engine: RecordEngine, clock: FakeClock) -> None:
    await engine.insert("c", "old", b"x", expires_at=clock.now + 10, lookups=[("l", "v")])
    clock.now += 15
    await engine.insert("c", "new", b"x", lookups=[("l", "v")])
    assert await engine.find("l", "v") == ("c", "new")


async def test_trim_events_drops_only_the_old(engine: RecordEngine) -> None:
    for at, key in ((10.0, "u1"), (20.0, "u2"), (30.0, "u1")):
        await engine.append("audit", at=at, key=key, data=b"e")
    await engine.append("other", at=5.0, key="u1", data=b"kept")
    assert await engine.trim_events("audit", 20.0) == 1
    left = await engine.read("audit", key=None, since=0, until=100, limit=10)
    assert [(at, key) for at, key, _ in left] == [(20.0, "u2"), (30.0, "u1")]
    mine = await engine.read("audit", key="u1", since=0, until=100, limit=10)
    assert [at for at, _, _ in mine] == [30.0]
    assert len(await engine.read("other", key=None, since=0, until=100, limit=10)) == 1
    assert await engine.trim_events("audit", 20.0) == 0


async def test_binary_and_unicode_survive(engine: RecordEngine) -> None:
    blob = bytes(range(256)) * 4
    await engine.insert("t", "ключ:1", blob, lookups=[("email", "ünï@example.org")])
    stored = await engine.get("t", "ключ:1")
    assert stored is not None
    assert stored.data == blob
    assert await engine.find("email", "ünï@example.org") == ("t", "ключ:1")
    assert [key for key, _ in await engine.scan("t")] == ["ключ:1"]
