"""The phone's endpoint: ``POST /push/device?_action=register|authenticate|refresh``.

``_action=pending`` is pushd's poll fallback (see mfa_core.push_poll), not the app's.

200 ``{}`` on success; on any failure 400 with the fixed body of the protocol,
whatever went wrong (the reason goes to metrics and the log, never to the phone).
"""

from __future__ import annotations

import logging

from aiohttp import web

from pushd.appkeys import SERVICES
from pushd.services.device import ACTIONS, DeviceRejected
from pushd.store.engine import StoreError
from pushd.wire import read_limited

log = logging.getLogger("pushd.device")
MAX_BODY_BYTES = 16 * 1024
BAD_REQUEST = {"code": 400, "reason": "Bad Request", "message": "Bad request."}


async def device_endpoint(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    action = request.query.get("_action", "")
    label = action if action in ACTIONS else "unknown"
    try:
        body = await _body(request)
        answer = await services.devices.handle(action, body)
    except DeviceRejected as rejected:
        services.ctx.metrics.device_rejects.labels(label, rejected.reason).inc()
        log.info("device reply rejected", extra={"action": label, "reason": rejected.reason})
        return web.json_response(BAD_REQUEST, status=400)
    except StoreError:
        services.ctx.metrics.device_rejects.labels(label, "store_unavailable").inc()
        log.exception("device reply failed: store unavailable", extra={"action": label})
        return web.json_response(BAD_REQUEST, status=400)
    services.ctx.metrics.device_replies.labels(label).inc()
    return web.json_response(answer)


async def _body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise DeviceRejected("too_large")
    body = await read_limited(request, MAX_BODY_BYTES)
    if len(body) > MAX_BODY_BYTES:
        raise DeviceRejected("too_large")
    return body
