"""Decisions across instances: one Redis pub/sub subscription per pushd process.

Why pub/sub: the decision is already durable in its record, so the bus only has to
wake waiters now, and it costs one subscription per instance, not one per waiter.
Keyspace notifications need server configuration and carry no payload; a stream
would keep a history nobody reads. Pub/sub is at-most-once, so whenever the
subscription may have missed messages (a reconnect) every local waiter re-reads its
record instead (``WaiterHub.resync``): no decision is ever lost, only re-read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from pushd.metrics import Metrics
from pushd.store.engine import StoreError
from pushd.store.redis_connect import RedisClient
from pushd.waiters import Change, WaiterHub

log = logging.getLogger("pushd.bus")
PUBLISH_RETRY_DELAYS = (0.05, 0.25, 1.0)


class RedisBus:
    def __init__(
        self,
        client: RedisClient,
        channel: str,
        *,
        metrics: Metrics | None = None,
        ping_every: float = 2.0,
        reconnect_cap: float = 2.0,
        publish: Callable[[str, bytes], Awaitable[object]] | None = None,
    ) -> None:
        """``publish``: how to send (the store's, which shares its pipelines); else the client."""
        self._client = client
        self._publish = publish or client.publish
        self._channel = channel
        self._metrics = metrics or Metrics()
        self._ping_every = ping_every
        self._reconnect_cap = reconnect_cap
        self._instance = secrets.token_bytes(8)  # to skip our own messages
        self._hub: WaiterHub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._retries: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def ready(self) -> bool:
        return self._subscribed.is_set()

    async def start(self, hub: WaiterHub, *, within: float = 5.0) -> None:
        """Subscribe before serving, so no waiter can miss a decision from the start."""
        self._hub = hub
        self._listener = asyncio.create_task(self._listen(), name="pushd-decision-bus")
        try:
            async with asyncio.timeout(within):
                await self._subscribed.wait()
        except TimeoutError:
            await self.close()
            raise StoreError("redis: could not subscribe to decisions") from None

    async def publish(self, change: Change) -> None:
        """Wake local waiters now, then every other instance's."""
        if self._hub is not None:
            self._hub.notify(change)
        payload = msgpack.packb([self._instance, change.key, change.state, change.reason])
        if not await self._send(payload):
            task = asyncio.create_task(self._send_later(payload))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)

    async def close(self) -> None:
        """Stop listening. The listener is asked, not cancelled: a cancellation that lands
        inside redis-py's read timeout can be swallowed and leave the task hanging."""
        self._closing = True
        for task in self._retries:
            task.cancel()
        if self._listener is not None:
            # A message of our own (which we skip) wakes the listener at once.
            await self._send(msgpack.packb([self._instance, "", "", None]))
            done, _ = await asyncio.wait({self._listener}, timeout=self._ping_every + 1.0)
            if not done:
                self._listener.cancel()
                await asyncio.wait({self._listener}, timeout=1.0)
        self._listener = None
        self._hub = None

    # --- sending ----------------------------------------------------------------------

    async def _send(self, payload: bytes) -> bool:
        try:
            await self._publish(self._channel, payload)
        except (RedisError, OSError) as e:
            self._metrics.bus_events.labels("publish_failed").inc()
            log.warning("could not publish a decision: %s", e)
            return False
        return True

    async def _send_later(self, payload: bytes) -> None:
        """Other instances' waiters would otherwise only learn at their next poll."""
        for delay in PUBLISH_RETRY_DELAYS:
            await asyncio.sleep(delay)
            if await self._send(payload):
                return

    # --- receiving --------------------------------------------------------------------

    async def _listen(self) -> None:
        delay, connected_before = 0.05, False
        while not self._closing:
            if isinstance(self._client, RedisCluster):  # learn the slots before subscribing
                with contextlib.suppress(RedisError, OSError):
                    await self._client.initialize()
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._up(up=True)
                if connected_before:
                    self._metrics.bus_events.labels("reconnected").inc()
                    # Idle pooled connections died with the old link: drop them now rather
                    # than failing the next requests one by one.
                    await _drop_idle_connections(self._client)
                    woken = self._hub.resync() if self._hub else 0
                    log.info("decision bus reconnected; %d waiters re-read", woken)
                connected_before, delay = True, 0.05
                await self._receive(pubsub)
            except (RedisError, OSError) as e:
                if self.ready:
                    log.warning("decision bus lost its subscription: %s", e)
            except Exception:  # never let the listener die: waiters depend on it
                log.exception("decision bus failed; resubscribing")
            finally:
                self._up(up=False)
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            if not self._closing:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._reconnect_cap)

    async def _receive(self, pubsub: Any) -> None:
        """Deliver messages; a silent connection (no answer to pings) counts as lost."""
        loop = asyncio.get_running_loop()
        heard = loop.time()
        while not self._closing:
            message = await pubsub.get_message(timeout=self._ping_every)
            if message is None:
                if loop.time() - heard > 3 * self._ping_every:
                    raise OSError("the subscription stopped answering")
                await pubsub.ping()
                continue
            heard = loop.time()
            if message.get("type") == "message":
                self._deliver(message["data"])

    def _deliver(self, payload: bytes) -> None:
        try:
            instance, key, state, reason = msgpack.unpackb(payload, raw=False)
        except (ValueError, TypeError, msgpack.UnpackException):
            log.warning("ignored a malformed message on the decision channel")
            return
        if instance == self._instance or self._hub is None:
            return
        self._metrics.bus_events.labels("received").inc()
        self._hub.notify(Change(str(key), str(state), None if reason is None else str(reason)))

    def _up(self, *, up: bool) -> None:
        if up:
            self._subscribed.set()
        else:
            self._subscribed.clear()
        self._metrics.bus_up.set(1 if up else 0)


async def _drop_idle_connections(client: RedisClient) -> None:
    pool = getattr(client, "connection_pool", None)  # a Cluster client re-learns its nodes
    if pool is not None:
        await pool.disconnect(inuse_connections=False)
