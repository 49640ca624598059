"""Health, readiness, metrics and the API description."""

from __future__ import annotations

import functools
import json

from aiohttp import web

from pushd.appkeys import SERVICES
from pushd.openapi import openapi_spec
from pushd.store.engine import StoreError


async def healthz(_request: web.Request) -> web.Response:
    """The process is up and serving (liveness)."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The store answers and decisions arrive (readiness): send traffic here."""
    ctx = request.app[SERVICES].ctx
    if ctx.hub.draining:  # stopping: send new traffic elsewhere
        return web.json_response({"status": "draining"}, status=503)
    try:
        await ctx.store.engine.ping()
        store = "up"
    except StoreError:
        store = "down"
    bus = "up" if ctx.bus.ready else "down"
    if store == "up" and bus == "up":
        return web.json_response({"status": "ok", "store": store, "bus": bus})
    return web.json_response({"status": "unavailable", "store": store, "bus": bus}, status=503)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[SERVICES].ctx.metrics.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})


@functools.cache
def _spec_bytes() -> bytes:
    return json.dumps(openapi_spec(), indent=1).encode("utf-8")


async def openapi(_request: web.Request) -> web.Response:
    return web.Response(body=_spec_bytes(), content_type="application/json")
