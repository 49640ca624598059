"""For the pages' own fetch calls (the live waits, WebAuthn): guards answer in JSON."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from pushd.appkeys import SERVICES
from pushd.errors import ApiError, invalid_request
from pushd.web.session import Session

POLL_SECONDS = 25.0


async def for_fetch(
    guard: Callable[[web.Request], Awaitable[Session]], request: web.Request
) -> Session:
    """A guard for JSON endpoints: a redirect becomes ``{"error": {..., "next"}}``."""
    try:
        return await guard(request)
    except web.HTTPSeeOther as moved:
        raise ApiError(
            409, "moved", "this page is out of date", details={"next": moved.location}
        ) from None


def wait_param(request: web.Request) -> float:
    try:
        wait = float(request.query.get("wait", "0"))
    except ValueError:
        raise invalid_request("wait must be a number of seconds") from None
    limit = min(POLL_SECONDS, request.app[SERVICES].ctx.settings.max_wait)
    return max(0.0, min(wait, limit)) if math.isfinite(wait) else 0.0


def credential(body: Mapping[str, object]) -> Mapping[str, object]:
    value = body.get("credential")
    if not isinstance(value, dict):
        raise invalid_request("the browser's answer is missing")
    return value
