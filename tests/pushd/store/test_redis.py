"""What only the Redis store does: native expiry, key layout, start-up checks, the bus."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import time
from pathlib import Path
from typing import Any

import msgpack
import pytest
import redis.asyncio as aioredis

from pushd.metrics import Metrics
from pushd.store.engine import AlreadyExists, Stored, StoreError
from pushd.store.redis_bus import RedisBus
from pushd.store.redis_connect import connect
from pushd.store.redis_engine import RedisEngine
from pushd.waiters import RESYNC, Change, WaiterHub
from tests.support.harness import free_port
from tests.support.redis import REDIS_URL, RedisClusterNodes, RedisServer, drop_keys, redis_engine


async def test_redis_collects_dead_records_and_their_lookups() -> None:
    async with redis_engine() as engine:
        soon = time.time() + 0.3
        await engine.insert("c", "k", b"x", expires_at=soon, lookups=[("l", "v")])
        record, lookup = engine.keys.record("c", "k"), engine.keys.lookup("l", "v")
        assert 0 < await engine.client.pttl(record) <= 300
        assert 0 < await engine.client.pttl(lookup) <= 300
        await asyncio.sleep(0.45)
        assert await engine.client.exists(record, lookup) == 0


async def test_records_without_expiry_persist_and_keys_stay_under_the_prefix() -> None:
    async with redis_engine() as engine:
        await engine.insert("u", "1", b"a", expires_at=time.time() + 60, lookups=[("n", "a")])
        await engine.update("u", "1", b"b", version=1)  # no expiry any more
        assert await engine.client.pttl(engine.keys.record("u", "1")) == -1
        assert await engine.client.pttl(engine.keys.lookup("n", "a")) == -1
        await engine.append("audit", at=1.0, key="1", data=b"e")
        names = [name.decode() async for name in engine.client.scan_iter(match="*pushdtest*")]
        mine = [n for n in names if n.startswith(engine.keys.prefix)]
        assert len(mine) == 5  # record, lookup, two event sets, the event sequence
        assert all("{" in n and n.index("}") < n.index(":") for n in mine)  # one hash tag


async def test_a_record_is_stored_as_versioned_msgpack_fields() -> None:
    async with redis_engine() as engine:
        payload = msgpack.packb({"state": "pending"})
        await engine.insert("challenge", "c1", payload)
        fields = await engine.client.hgetall(engine.keys.record("challenge", "c1"))
        assert fields[b"v"] == b"1"
        assert msgpack.unpackb(fields[b"d"]) == {"state": "pending"}


async def test_durability_check_warns_about_risky_settings(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        engine = await RedisEngine.open(server.url, prefix="{t}:")
        try:
            assert await engine.check_durability() == []
            await engine.client.config_set("appendonly", "no")
            await engine.client.config_set("maxmemory-policy", "allkeys-lru")
            warnings = await engine.check_durability()
            assert any("appendonly" in w for w in warnings)
            assert any("noeviction" in w for w in warnings)
        finally:
            await engine.close()
    finally:
        server.stop()


async def test_an_unreachable_redis_is_a_store_error(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")  # a free port with nobody on it
    with pytest.raises(StoreError):
        await RedisEngine.open(server.url, prefix="{t}:", command_timeout=1.0)


def test_sentinel_urls_name_the_service_and_database() -> None:
    client = connect(
        "redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26380/mymaster/2",
        pool_size=4,
        command_timeout=1.0,
    )
    assert isinstance(client, aioredis.Redis)
    pool: Any = client.connection_pool
    assert pool.service_name == "mymaster"
    assert pool.connection_kwargs["db"] == 2
    assert pool.connection_kwargs["password"] == "s3cret"
    sentinels = pool.sentinel_manager.sentinels
    hosts = [s.connection_pool.connection_kwargs for s in sentinels]
    assert [(h["host"], h["port"]) for h in hosts] == [("10.0.0.1", 26379), ("10.0.0.2", 26380)]


# --- the decision bus ---------------------------------------------------------------------


async def two_buses(prefix: str) -> tuple[list[aioredis.Redis], list[RedisBus], list[WaiterHub]]:
    clients = [aioredis.Redis.from_url(REDIS_URL) for _ in range(2)]
    buses = [RedisBus(c, f"{prefix}decisions", ping_every=0.2) for c in clients]
    hubs = [WaiterHub(), WaiterHub()]
    for bus, hub in zip(buses, hubs, strict=True):
        await bus.start(hub)
    return clients, buses, hubs


async def test_a_change_published_on_one_instance_wakes_waiters_on_every_instance() -> None:
    prefix = "{pushdtest-bus}:"
    clients, buses, hubs = await two_buses(prefix)
    try:
        with hubs[0].watch("c1") as here, hubs[1].watch("c1") as there:
            await buses[0].publish(Change("c1", "approved"))
            assert await here.next(2.0) == Change("c1", "approved")
            assert await there.next(2.0) == Change("c1", "approved")
            assert await here.next(0.2) is None  # our own message is not delivered twice
    finally:
        for bus in buses:
            await bus.close()
        for client in clients:
            await client.aclose()
        await drop_keys(prefix)


async def test_malformed_messages_are_ignored() -> None:
    prefix = "{pushdtest-bus2}:"
    clients, buses, hubs = await two_buses(prefix)
    try:
        with hubs[1].watch("c1") as waiter:
            await clients[0].publish(f"{prefix}decisions", b"\xc1 not msgpack")
            await clients[0].publish(f"{prefix}decisions", msgpack.packb([1, 2]))
            await buses[0].publish(Change("c1", "denied", "user"))
            assert await waiter.next(2.0) == Change("c1", "denied", "user")
    finally:
        for bus in buses:
            await bus.close()
        for client in clients:
            await client.aclose()


def is_ready(bus: RedisBus) -> bool:
    return bus.ready  # a call, so the type checker does not pin the value between reads


async def test_after_losing_redis_the_bus_resubscribes_and_waiters_reread(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis")
    server.start()
    metrics = Metrics()
    client = aioredis.Redis.from_url(server.url)
    bus = RedisBus(client, "{t}:decisions", metrics=metrics, ping_every=0.2, reconnect_cap=0.2)
    hub = WaiterHub()
    try:
        await bus.start(hub)
        assert is_ready(bus)
        with hub.watch("c1") as waiter:
            server.kill()
            for _ in range(100):
                if not is_ready(bus):
                    break
                await asyncio.sleep(0.05)
            assert not is_ready(bus)
            server.start()
            change = await waiter.next(10.0)
            assert change == Change("c1", RESYNC)  # re-read: a decision may have been missed
            assert is_ready(bus)
        text = metrics.render().decode()
        assert 'pushd_bus_events_total{event="reconnected"} 1.0' in text
        assert "pushd_bus_up 1.0" in text
    finally:
        await bus.close()
        await client.aclose()
        server.stop()


async def test_a_bus_that_cannot_subscribe_refuses_to_start(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")  # nobody listening
    client = aioredis.Redis.from_url(server.url, socket_connect_timeout=0.2)
    bus = RedisBus(client, "{t}:decisions")
    try:
        with pytest.raises(StoreError):
            await bus.start(WaiterHub(), within=0.5)
        assert not bus.ready
    finally:
        await client.aclose()


# --- TLS and Sentinel, live ---------------------------------------------------------------


def write_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = dt.datetime.now(dt.UTC)
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = (
        x509.CertificateBuilder().subject_name(name("test CA")).issuer_name(name("test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    server = (
        x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


async def test_rediss_urls_speak_tls_and_verify_the_server(tmp_path: Path) -> None:
    ca, cert, key = write_tls_files(tmp_path / "tls")
    tls_port = free_port()
    server = RedisServer(
        tmp_path / "redis",
        extra=["--tls-port", str(tls_port), "--tls-cert-file", str(cert),
               "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca),
               "--tls-auth-clients", "no"],
    )  # fmt: skip
    server.start()
    try:
        url = f"rediss://127.0.0.1:{tls_port}/0?ssl_ca_certs={ca}"
        engine = await RedisEngine.open(url, prefix="{t}:")
        try:
            await engine.insert("t", "k", b"over tls")
            stored = await engine.get("t", "k")
            assert stored is not None
            assert stored.data == b"over tls"
        finally:
            await engine.close()
        with pytest.raises(StoreError):  # a server the CA did not sign is refused
            await RedisEngine.open(
                f"rediss://127.0.0.1:{tls_port}/0", prefix="{t}:", command_timeout=2.0
            )
    finally:
        server.stop()


async def test_sentinel_urls_find_the_master(tmp_path: Path) -> None:
    master = RedisServer(tmp_path / "master")
    master.start()
    sentinel = RedisServer(tmp_path / "sentinel", sentinel=master.port)
    sentinel.start()
    try:
        url = f"redis+sentinel://127.0.0.1:{sentinel.port}/pushd/0"
        engine = await RedisEngine.open(url, prefix="{t}:")
        try:
            await engine.insert("t", "k", b"via sentinel")
            direct = aioredis.Redis.from_url(master.url)
            try:
                assert await direct.exists(engine.keys.record("t", "k")) == 1
            finally:
                await direct.aclose()
        finally:
            await engine.close()
    finally:
        sentinel.stop()
        master.stop()


async def test_decisions_cross_instances_on_a_cluster(redis_cluster: RedisClusterNodes) -> None:
    clients = [connect(redis_cluster.url, pool_size=4, command_timeout=5.0) for _ in range(2)]
    buses = [RedisBus(c, "{pushdtest-cluster}:decisions", ping_every=0.2) for c in clients]
    hubs = [WaiterHub(), WaiterHub()]
    try:
        for bus, hub in zip(buses, hubs, strict=True):
            await bus.start(hub)
        with hubs[1].watch("c1") as there:
            await buses[0].publish(Change("c1", "approved"))
            assert await there.next(2.0) == Change("c1", "approved")
    finally:
        for bus in buses:
            await bus.close()
        for client in clients:
            await client.aclose()


async def test_commands_issued_together_share_one_connection_and_keep_their_own_results() -> None:
    async with redis_engine() as engine:
        await engine.insert("t", "a", b"a")
        results = await asyncio.gather(
            engine.get("t", "a"),
            engine.insert("t", "a", b"again"),  # refused: only this one fails
            engine.update("t", "a", b"a2", version=1),
            engine.get("t", "a"),  # issued after the update: sees it
            engine.find("none", "x"),
            return_exceptions=True,
        )
        first, refused, version, second, missing = results
        assert first == Stored(b"a", 1)
        assert isinstance(refused, AlreadyExists)
        assert (version, second, missing) == (2, Stored(b"a2", 2), None)
        client: Any = engine.client
        opened = sum(count for count, _ in client.connection_pool.get_connection_count())
        assert opened == 1  # five commands, one pipeline, one connection


async def test_more_commands_than_one_pipeline_holds_all_get_their_answers() -> None:
    async with redis_engine() as engine:
        await asyncio.gather(*(engine.insert("t", str(i), str(i).encode()) for i in range(300)))
        found = await asyncio.gather(*(engine.get("t", str(i)) for i in range(300)))
        assert [stored.data if stored else None for stored in found] == [
            str(i).encode() for i in range(300)
        ]


async def test_scripts_redis_forgot_are_loaded_again_in_a_pipeline(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        engine = await RedisEngine.open(server.url, prefix="{t}:")
        try:
            await engine.insert("t", "a", b"a")
            await engine.client.script_flush()  # as after a restart or a failover
            inserted, updated = await asyncio.gather(
                engine.insert("t", "b", b"b"), engine.update("t", "a", b"a2", version=1)
            )
            assert (inserted, updated) == (1, 2)
            assert await engine.find_record("x", "y") is None
        finally:
            await engine.close()
    finally:
        server.stop()
