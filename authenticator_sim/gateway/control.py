"""The control API (plain HTTP, JSON) for authsim processes and scripts.

``GET /inbox/{token}?wait=N`` and ``POST /inbox?wait=N`` long-poll for notifications;
``POST``/``DELETE /faults`` script failures; ``GET /stats``, ``/settings``, ``/healthz``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeGuard

from aiohttp import web

from authenticator_sim.gateway.faults import Faults
from authenticator_sim.gateway.inbox import Delivered, Inbox, Platform

MAX_WAIT = 60.0


class ControlApi:
    def __init__(
        self,
        *,
        inbox: Inbox,
        faults: Faults,
        stats: Callable[[], dict[str, Any]],
        settings: Callable[[], dict[str, str]],
    ) -> None:
        self._inbox = inbox
        self._faults = faults
        self._stats = stats
        self._settings = settings

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/inbox/{token}", self.inbox_one)
        app.router.add_post("/inbox", self.inbox_any)
        app.router.add_get("/faults", self.list_faults)
        app.router.add_post("/faults", self.add_fault)
        app.router.add_delete("/faults", self.clear_faults)
        app.router.add_get("/stats", self.stats)
        app.router.add_get("/settings", self.settings)
        app.router.add_get("/healthz", self.healthz)
        return app

    async def inbox_one(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        return _notifications(await self._collect([token], _wait(request)))

    async def inbox_any(self, request: web.Request) -> web.Response:
        body = await _body(request)
        tokens = body.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
            raise _bad_request("tokens must be a list of strings")
        return _notifications(await self._collect(tokens, _wait(request)))

    async def _collect(self, tokens: list[str], wait: float) -> list[Delivered]:
        """Everything queued for ``tokens``; if nothing is, the first to arrive (and any after)."""
        found = self._inbox.take_any(tokens)
        if found or wait <= 0:
            return found
        first = await self._inbox.next_any(tokens, wait)
        return [] if first is None else [first, *self._inbox.take_any(tokens)]

    async def list_faults(self, _: web.Request) -> web.Response:
        return web.json_response({"faults": [fault.to_json() for fault in self._faults.active()]})

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await _body(request)
        platform = body.get("platform")
        token, status, reason = body.get("token"), body.get("status"), body.get("reason", "")
        count, stall = body.get("count"), body.get("stall", 0)
        if platform not in ("apns", "fcm", None):
            raise _bad_request("platform must be apns, fcm or null")
        if not (token is None or isinstance(token, str)) or not isinstance(reason, str):
            raise _bad_request("token and reason must be strings")
        if not _is_int(status) or not (count is None or _is_int(count)):
            raise _bad_request("status and count must be integers")
        if not isinstance(stall, int | float) or isinstance(stall, bool):
            raise _bad_request("stall must be a number of seconds")
        typed_platform: Platform | None = platform
        try:
            fault = self._faults.add(
                platform=typed_platform,
                token=token,
                status=status,
                reason=reason,
                count=count,
                stall=float(stall),
            )
        except ValueError as error:
            raise _bad_request(str(error)) from error
        return web.json_response({"id": fault.id}, status=201)

    async def clear_faults(self, _: web.Request) -> web.Response:
        return web.json_response({"cleared": self._faults.clear()})

    async def stats(self, _: web.Request) -> web.Response:
        return web.json_response(self._stats())

    async def settings(self, _: web.Request) -> web.Response:
        return web.json_response(self._settings())

    async def healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})


def _notifications(found: list[Delivered]) -> web.Response:
    return web.json_response({"notifications": [item.to_json() for item in found]})


def _wait(request: web.Request) -> float:
    try:
        wait = float(request.query.get("wait", "0"))
    except ValueError:
        raise _bad_request("wait must be a number of seconds") from None
    if not 0 <= wait <= MAX_WAIT:
        raise _bad_request(f"wait must be from 0 to {MAX_WAIT:g} seconds")
    return wait


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read())
    except ValueError:
        raise _bad_request("the body must be JSON") from None
    if not isinstance(body, dict):
        raise _bad_request("the body must be a JSON object")
    return body


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")
