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
    """The store answers (readiness): a load balancer should send traffic."""
    try:
        await request.app[SERVICES].ctx.store.engine.ping()
    except StoreError:
        return web.json_response({"status": "unavailable", "store": "down"}, status=503)
    return web.json_response({"status": "ok", "store": "up"})


async def metrics(request: web.Request) -> web.Response:
    body = request.app[SERVICES].ctx.metrics.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})


@functools.cache
def _spec_bytes() -> bytes:
    return json.dumps(openapi_spec(), indent=1).encode("utf-8")


async def openapi(_request: web.Request) -> web.Response:
    return web.Response(body=_spec_bytes(), content_type="application/json")
