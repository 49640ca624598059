"""Redis clients from a URL: standalone, TLS, a Unix socket, Sentinel or a Cluster.

``redis://[:pw@]host:port/db``, ``rediss://...`` (TLS; ``?ssl_ca_certs=FILE``),
``unix:///path?db=0``, ``redis+sentinel://[:pw@]host:port[,host:port]/SERVICE[/db]``,
``redis+cluster://[:pw@]host:port[,host:port]`` (``rediss+cluster://`` for TLS).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

RedisClient = aioredis.Redis | RedisCluster
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


def connect(url: str, *, pool_size: int, command_timeout: float) -> RedisClient:
    # No silent retries: a script re-sent after a lost reply could apply twice or report a
    # conflict for its own write. The caller sees StoreError and decides.
    options: dict[str, Any] = {
        "socket_timeout": command_timeout,
        "socket_connect_timeout": command_timeout,
        "socket_keepalive": True,
        "health_check_interval": 15,
        "retry": Retry(NoBackoff(), 0),
    }
    scheme = url.split("://", 1)[0]
    if scheme == "redis+sentinel":
        return _sentinel(url, options)
    if scheme in CLUSTER_SCHEMES:
        return _cluster(url, pool_size, options)
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=pool_size, timeout=command_timeout, **options
    )
    return aioredis.Redis.from_pool(pool)  # closing the client closes the pool


def _hosts(netloc: str) -> list[tuple[str, int]]:
    hosts = [h.rsplit(":", 1) for h in netloc.rsplit("@", 1)[-1].split(",")]
    return [(host, int(port)) for host, port in hosts]


def _sentinel(url: str, options: dict[str, Any]) -> aioredis.Redis:
    parts = urlsplit(url)
    password = unquote(parts.password) if parts.password else None
    service, _, db = parts.path.strip("/").partition("/")
    sentinel = Sentinel(_hosts(parts.netloc), password=password, **options)  # type: ignore[no-untyped-call]
    client: aioredis.Redis = sentinel.master_for(service, db=int(db or 0), password=password)
    return client


def _cluster(url: str, pool_size: int, options: dict[str, Any]) -> RedisCluster:
    """Every pushd key carries one {hash tag}: each script's keys live on one shard."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in _hosts(parts.netloc)],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ssl=parts.scheme == "rediss+cluster",
        ssl_ca_certs=query.get("ssl_ca_certs"),
        ssl_certfile=query.get("ssl_certfile"),
        ssl_keyfile=query.get("ssl_keyfile"),
        max_connections=pool_size + 1,  # the engine queues callers beyond pool_size; +1: pub/sub
        **options,
    )
