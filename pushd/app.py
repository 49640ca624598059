"""The aiohttp application: resources opened and closed in ``cleanup_ctx``."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping

from aiohttp import web

from mfa_core.entropy import RandomBytes
from mfa_core.push_replies import Transport
from pushd.appkeys import SERVICES, SHUTDOWN, Shutdown
from pushd.delivery.base import PushTransport
from pushd.delivery.dispatcher import Dispatcher, RetryPolicy
from pushd.delivery.factory import build_transports
from pushd.keys import Vault, load_master_key, new_hash_key
from pushd.messaging import Mailer, SmsSender, Templates, build_mailer, build_sms
from pushd.metrics import Metrics
from pushd.middleware import bearer_auth, count_requests, errors
from pushd.routes import add_routes
from pushd.services.bundle import Services
from pushd.services.context import Context
from pushd.settings import Settings
from pushd.store.engine import AlreadyExists
from pushd.store.records import SealedValue
from pushd.store.redis_bus import RedisBus
from pushd.store.redis_engine import RedisEngine
from pushd.store.sqlite import SQLiteEngine
from pushd.store.tables import Store
from pushd.waiters import DecisionBus, LocalBus, WaiterHub

MAX_REQUEST_BYTES = 1024 * 1024
STORE_FILE = "pushd.db"


def make_app(
    settings: Settings,
    *,
    store: Store | None = None,
    transports: Mapping[Transport, PushTransport] | None = None,
    clock: Callable[[], float] = time.time,
    rng: RandomBytes = secrets.token_bytes,
    bus: DecisionBus | None = None,
    metrics: Metrics | None = None,
) -> web.Application:
    """Build pushd. ``store`` defaults to the embedded SQLite store in ``settings.data_dir``."""
    app = web.Application(
        middlewares=[count_requests, errors, bearer_auth], client_max_size=MAX_REQUEST_BYTES
    )
    add_routes(app)
    shutdown = app[SHUTDOWN] = Shutdown()

    async def resources(app: web.Application) -> AsyncIterator[None]:
        opened = store or await open_store(settings, clock)
        app_metrics = metrics or Metrics()
        ctx = await build_context(
            settings,
            opened,
            transports=transports if transports is not None else build_transports(settings),
            clock=clock,
            rng=rng,
            bus=bus or default_bus(opened, app_metrics),
            metrics=app_metrics,
        )
        ctx.hub.observe(app_metrics.waiters.set)
        if isinstance(ctx.bus, LocalBus):  # one process: nothing can cut it off
            app_metrics.bus_up.set(1)
        services = Services.build(ctx)
        app[SERVICES] = services
        sweeper = asyncio.create_task(services.sweeper.run(), name="pushd-expiry")
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await services.registrations.close()
            await ctx.dispatcher.close(grace=shutdown.grace(default=5.0))
            await ctx.mailer.close()
            await ctx.sms.close()
            await ctx.bus.close()
            await opened.close()

    app.cleanup_ctx.append(resources)
    return app


async def open_store(settings: Settings, clock: Callable[[], float] = time.time) -> Store:
    """Redis when ``settings.redis_url`` is set, else the embedded store in ``data_dir``."""
    if settings.redis_url:
        return Store(
            await RedisEngine.open(
                settings.redis_url,
                prefix=settings.redis_prefix,
                pool_size=settings.redis_pool_size,
                command_timeout=settings.redis_timeout,
                clock=clock,
            )
        )
    return Store(await SQLiteEngine.open(settings.data_dir / STORE_FILE, clock=clock))


def default_bus(store: Store, metrics: Metrics | None = None) -> DecisionBus:
    """Decisions reach every instance sharing a Redis store; one process needs no more."""
    engine = store.engine
    if isinstance(engine, RedisEngine):
        return RedisBus(
            engine.client, engine.keys.decisions, metrics=metrics, publish=engine.publish
        )
    return LocalBus()


async def build_context(
    settings: Settings,
    store: Store,
    *,
    transports: Mapping[Transport, PushTransport] | None = None,
    clock: Callable[[], float] = time.time,
    rng: RandomBytes = secrets.token_bytes,
    bus: DecisionBus | None = None,
    metrics: Metrics | None = None,
    mailer: Mailer | None = None,
    sms: SmsSender | None = None,
) -> Context:
    """Everything the services need; the CLI builds one too (without transports)."""
    vault = open_vault(settings)
    hub = WaiterHub()
    decision_bus = bus or default_bus(store, metrics)
    await decision_bus.start(hub)
    app_metrics = metrics or Metrics()
    return Context(
        settings=settings,
        store=store,
        vault=vault,
        hash_key=await hash_key(store, vault),
        clock=clock,
        rng=rng,
        hub=hub,
        bus=decision_bus,
        dispatcher=Dispatcher(
            transports or {},
            app_metrics,
            policy=RetryPolicy(
                attempts=settings.push_retry_attempts,
                base=settings.push_retry_base,
                cap=settings.push_retry_cap,
                send_timeout=settings.push_send_timeout,
            ),
            clock=clock,
        ),
        metrics=app_metrics,
        mailer=mailer or build_mailer(settings),
        sms=sms or build_sms(settings),
        templates=Templates(settings),
    )


def open_vault(settings: Settings) -> Vault:
    """The master key seals; ``PUSHD_OTHER_MASTER_KEYS`` only open (a rotation under way)."""
    current = load_master_key(settings.master_key, settings.data_dir)
    return Vault([current, *(bytes.fromhex(k) for k in settings.other_keys)])


async def hash_key(store: Store, vault: Vault) -> bytes:
    """The code-hashing key: created once, kept sealed in the store."""
    existing = await store.meta.get("hash_key")
    if existing is None:
        with contextlib.suppress(AlreadyExists):  # another instance created it first
            await store.meta.insert("hash_key", SealedValue(sealed=vault.seal(new_hash_key())))
        existing = await store.meta.get("hash_key")
    if existing is None:
        raise RuntimeError("the hash key could not be stored")
    return vault.open(existing.record.sealed)
